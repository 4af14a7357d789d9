//! The built-in `std` agent: the standard library's capabilities, in process.

use super::{Attempt, Instance, Task, TaskError};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

/// The `std` agent. Not limited in concurrency, except that `std.shell` and `std.exec` run at
/// most as many commands at once as there are CPUs.
pub struct StdAgent {
    shell: Arc<Semaphore>,
    /// Where `std.read_file` and `std.write_file` may reach; none under `--simulate`, which
    /// touches no file.
    files: Option<Arc<Files>>,
}

impl Default for StdAgent {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        StdAgent {
            shell: Arc::new(Semaphore::new(cpus)),
            files: None,
        }
    }
}

impl StdAgent {
    /// A `std` agent whose file capabilities reach only the files under `files`.
    pub fn with_files(files: Arc<Files>) -> StdAgent {
        StdAgent {
            files: Some(files),
            ..StdAgent::default()
        }
    }
}

/// The directory a `std` agent's files are confined to. Paths are resolved to real paths,
/// every link followed, before they are compared with it, so that neither `..` nor a
/// symbolic link leads out of it; the file is then opened beneath the root by the kernel
/// (`openat2` with `RESOLVE_BENEATH`), so that a directory swapped for a link after the
/// check leads nowhere outside either.
#[derive(Debug)]
pub struct Files {
    /// The run's directory: where `hivec run` started, against which relative paths resolve.
    dir: PathBuf,
    /// The root, as a real path.
    root: PathBuf,
    /// The root, opened: every file is opened beneath it.
    root_fd: OwnedFd,
    /// Whether the root is the agent's own `files` rather than the run's directory.
    granted: bool,
}

impl Files {
    /// The root `files` (none: the run's directory), relative to the run's directory; it
    /// must exist.
    pub fn new(files: Option<&str>) -> Result<Files, String> {
        let dir =
            std::env::current_dir().map_err(|e| format!("cannot tell the run's directory: {e}"))?;
        let given = dir.join(files.unwrap_or(""));
        let root = std::fs::canonicalize(&given)
            .map_err(|e| format!("files: {}: {e}", given.display()))?;
        if !root.is_dir() {
            return Err(format!("files: {} is not a directory", root.display()));
        }
        let root_fd = rustix::fs::open(
            &root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("files: {}: {e}", root.display()))?;
        Ok(Files {
            dir,
            root,
            root_fd,
            granted: files.is_some(),
        })
    }

    /// Opens `real` (a path [`Files::resolve`] gave) with `flags`, beneath the root: a link
    /// or `..` met on the way that would lead out of it is refused by the kernel.
    fn open(&self, real: &Path, flags: OFlags) -> std::io::Result<std::fs::File> {
        let relative = real.strip_prefix(&self.root).unwrap_or(real);
        let relative = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let fd = rustix::fs::openat2(
            &self.root_fd,
            relative,
            flags | OFlags::CLOEXEC,
            // `openat2` takes a mode only with a file to create.
            if flags.contains(OFlags::CREATE) {
                Mode::from_raw_mode(0o666)
            } else {
                Mode::empty()
            },
            ResolveFlags::BENEATH,
        )?;
        Ok(std::fs::File::from(fd))
    }

    /// Creates the directories of `real` that do not exist, each in its parent opened
    /// beneath the root.
    fn create_dirs(&self, real: &Path) -> std::io::Result<()> {
        let relative = real.strip_prefix(&self.root).unwrap_or(real);
        let mut parent = self.root.clone();
        for name in relative.components() {
            let dir = self.open(&parent, OFlags::PATH | OFlags::DIRECTORY)?;
            match rustix::fs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            parent.push(name);
        }
        Ok(())
    }

    /// Reads `real` as text, beneath the root.
    fn read(&self, real: &Path) -> std::io::Result<String> {
        let mut text = String::new();
        self.open(real, OFlags::RDONLY)?.read_to_string(&mut text)?;
        Ok(text)
    }

    /// Writes `content` to `real` (replacing it), creating the directories it needs, beneath
    /// the root.
    fn write(&self, real: &Path, content: &str) -> std::io::Result<()> {
        if let Some(dir) = real.parent() {
            self.create_dirs(dir)?;
        }
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC;
        self.open(real, flags)?.write_all(content.as_bytes())
    }

    /// The real path of `path` for capability `cap`, if it is inside the root. Components
    /// that exist are resolved by the file system (links included); those that do not yet
    /// exist (a file or directories `std.write_file` creates) are taken as written.
    fn resolve(&self, cap: &str, path: &str) -> Result<PathBuf, TaskError> {
        let fail = |why: String| TaskError::fatal(format!("{cap}: {path}: {why}"));
        let mut real = PathBuf::new();
        for c in self.dir.join(path).components() {
            match c {
                Component::Prefix(_) | Component::RootDir => real.push(c.as_os_str()),
                Component::CurDir => {}
                Component::ParentDir => {
                    real.pop();
                }
                Component::Normal(name) => {
                    real.push(name);
                    // Every component is looked at, also after one that does not exist:
                    // `new/../link` reaches `link` again.
                    if std::fs::symlink_metadata(&real).is_ok() {
                        real = std::fs::canonicalize(&real).map_err(|e| {
                            fail(format!("{} cannot be resolved: {e}", real.display()))
                        })?;
                    }
                }
            }
        }
        if real.starts_with(&self.root) {
            return Ok(real);
        }
        let (which, grant) = if self.granted {
            (
                "the agent's `files`",
                "widen the agent's `files`".to_string(),
            )
        } else {
            (
                "the run's directory",
                format!(
                    "declare an agent with `builtin: \"std\"` and `files: \"DIR\"` and route `{cap}` to it"
                ),
            )
        };
        Err(fail(format!(
            "resolves to {}, outside {} ({which}), the only directory this agent's files may be in; to reach it, {grant}",
            real.display(),
            self.root.display()
        )))
    }
}

/// The outcome of a file capability's blocking work, as the task's.
fn file_result<T>(
    cap: &str,
    path: &str,
    done: Result<std::io::Result<T>, tokio::task::JoinError>,
) -> Result<T, TaskError> {
    match done {
        Ok(Ok(value)) => Ok(value),
        // The kernel refused a link or `..` that changed after the path was checked.
        Ok(Err(e)) if e.raw_os_error() == Some(libc::EXDEV) => Err(TaskError::fatal(format!(
            "{cap}: {path}: a link on the way leads out of the directory its files may be in (it changed after the path was checked)"
        ))),
        Ok(Err(e)) => Err(TaskError::fatal(format!("{cap}: {path}: {e}"))),
        Err(e) => Err(TaskError::fatal(format!("{cap}: {path}: {e}"))),
    }
}

fn arg<'a>(task: &'a Task, name: &str) -> Result<&'a Value, TaskError> {
    task.input
        .get(name)
        .ok_or_else(|| TaskError::fatal(format!("{}: missing argument `{name}`", task.capability)))
}

fn str_arg<'a>(task: &'a Task, name: &str) -> Result<&'a str, TaskError> {
    arg(task, name)?.as_str().ok_or_else(|| {
        TaskError::fatal(format!(
            "{}: argument `{name}` is not a string",
            task.capability
        ))
    })
}

impl StdAgent {
    /// The capabilities that finish without waiting: `std.echo`, `std.log`, `std.fail`.
    fn now(task: &Task) -> Option<Result<Value, TaskError>> {
        let result = match task.capability.as_str() {
            "std.echo" => arg(task, "value").cloned(),
            "std.log" => str_arg(task, "message").map(|m| {
                tracing::info!(target: "hive::std", "{m}");
                Value::Bool(true)
            }),
            "std.fail" => str_arg(task, "message").and_then(|message| {
                let retryable = arg(task, "retryable")?.as_bool().unwrap_or(true);
                Err(TaskError {
                    message: message.to_string(),
                    retryable,
                    lost: false,
                    checkpoint: None,
                })
            }),
            _ => return None,
        };
        Some(result)
    }

    /// Runs one standard-library capability. `std.echo` and `std.log` finish at once; the
    /// others wait on time, files or processes.
    async fn run(
        shell: Arc<Semaphore>,
        files: Option<Arc<Files>>,
        task: Task,
    ) -> Result<Value, TaskError> {
        if let Some(result) = StdAgent::now(&task) {
            return result;
        }
        match task.capability.as_str() {
            "std.sleep" => {
                let ms = arg(&task, "duration")?.as_u64().ok_or_else(|| {
                    TaskError::fatal("std.sleep: `duration` is not a non-negative duration")
                })?;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(Value::Bool(true))
            }
            "std.read_file" => {
                let path = str_arg(&task, "path")?.to_string();
                let files = root(&files, &task)?.clone();
                let real = files.resolve("std.read_file", &path)?;
                let read = tokio::task::spawn_blocking(move || files.read(&real)).await;
                file_result("std.read_file", &path, read).map(Value::String)
            }
            "std.write_file" => {
                let path = str_arg(&task, "path")?.to_string();
                let content = str_arg(&task, "content")?.to_string();
                let files = root(&files, &task)?.clone();
                let real = files.resolve("std.write_file", &path)?;
                let written =
                    tokio::task::spawn_blocking(move || files.write(&real, &content)).await;
                file_result("std.write_file", &path, written).map(|()| Value::Bool(true))
            }
            "std.shell" => {
                let command = str_arg(&task, "command")?.to_string();
                let stdin = str_arg(&task, "stdin").unwrap_or("").to_string();
                let _permit = shell
                    .acquire_owned()
                    .await
                    .map_err(|_| TaskError::fatal("std.shell: shutting down"))?;
                let mut sh = tokio::process::Command::new("sh");
                sh.arg("-c").arg(&command);
                command_run("std.shell", "sh", sh, &stdin).await
            }
            "std.exec" => {
                let argv = argv(&task)?;
                let stdin = str_arg(&task, "stdin").unwrap_or("").to_string();
                let Some((program, args)) = argv.split_first() else {
                    return Err(TaskError::fatal(
                        "std.exec: `argv` is empty; its first element is the program to run",
                    ));
                };
                let _permit = shell
                    .acquire_owned()
                    .await
                    .map_err(|_| TaskError::fatal("std.exec: shutting down"))?;
                let mut cmd = tokio::process::Command::new(program);
                cmd.args(args);
                command_run("std.exec", program, cmd, &stdin).await
            }
            other => Err(TaskError::fatal(format!(
                "the std agent has no capability `{other}`"
            ))),
        }
    }
}

/// The file root of the agent, for `task`.
fn root<'f>(files: &'f Option<Arc<Files>>, task: &Task) -> Result<&'f Arc<Files>, TaskError> {
    files.as_ref().ok_or_else(|| {
        TaskError::fatal(format!(
            "{}: this std agent has no directory for files",
            task.capability
        ))
    })
}

/// `std.exec`'s `argv`: a list of strings.
fn argv(task: &Task) -> Result<Vec<String>, TaskError> {
    let bad = || TaskError::fatal("std.exec: `argv` is not a list of strings");
    arg(task, "argv")?
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
        .collect()
}

/// Runs `cmd` (`program`, for messages) with `stdin` written to it; a non-zero exit code is
/// a result, not a failure, and so is a program that is not found (code 127) or may not be
/// run (126), as `sh` reports them. The child is killed if the task is cancelled.
async fn command_run(
    cap: &str,
    program: &str,
    mut cmd: tokio::process::Command,
    stdin: &str,
) -> Result<Value, TaskError> {
    let child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            let code = match e.kind() {
                std::io::ErrorKind::NotFound => 127,
                std::io::ErrorKind::PermissionDenied => 126,
                _ => {
                    return Err(TaskError::fatal(format!(
                        "{cap}: cannot start `{program}`: {e}"
                    )));
                }
            };
            return Ok(json!({
                "code": code,
                "stdout": "",
                "stderr": format!("{cap}: cannot start `{program}`: {e}\n"),
            }));
        }
    };
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read its input closes the pipe: not an error.
        let _ = input.write_all(stdin.as_bytes()).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| TaskError::retryable(format!("{cap}: {e}")))?;
    Ok(json!({
        "code": out.status.code().unwrap_or(-1),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
    }))
}

impl Instance for StdAgent {
    fn execute(&self, task: Task) -> Attempt {
        Box::pin(StdAgent::run(self.shell.clone(), self.files.clone(), task))
    }

    fn immediate(&self, task: &Task) -> Option<Result<Value, TaskError>> {
        StdAgent::now(task)
    }
}

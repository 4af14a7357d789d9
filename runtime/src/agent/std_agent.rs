//! The built-in `std` agent: the standard library's capabilities, in process.

use super::{Attempt, Instance, Task, TaskError};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

/// The `std` agent. Not limited in concurrency, except that `std.shell` runs at most as many
/// commands at once as there are CPUs.
pub struct StdAgent {
    shell: Arc<Semaphore>,
}

impl Default for StdAgent {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        StdAgent {
            shell: Arc::new(Semaphore::new(cpus)),
        }
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
    async fn run(shell: Arc<Semaphore>, task: Task) -> Result<Value, TaskError> {
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
                let path = str_arg(&task, "path")?;
                tokio::fs::read_to_string(path)
                    .await
                    .map(Value::String)
                    .map_err(|e| TaskError::fatal(format!("std.read_file: {path}: {e}")))
            }
            "std.write_file" => {
                let path = str_arg(&task, "path")?;
                let content = str_arg(&task, "content")?;
                if let Some(dir) = std::path::Path::new(path).parent()
                    && !dir.as_os_str().is_empty()
                {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| TaskError::fatal(format!("std.write_file: {path}: {e}")))?;
                }
                tokio::fs::write(path, content)
                    .await
                    .map(|()| Value::Bool(true))
                    .map_err(|e| TaskError::fatal(format!("std.write_file: {path}: {e}")))
            }
            "std.shell" => {
                let command = str_arg(&task, "command")?.to_string();
                let stdin = str_arg(&task, "stdin").unwrap_or("").to_string();
                let _permit = shell
                    .acquire_owned()
                    .await
                    .map_err(|_| TaskError::fatal("std.shell: shutting down"))?;
                shell_run(&command, &stdin).await
            }
            other => Err(TaskError::fatal(format!(
                "the std agent has no capability `{other}`"
            ))),
        }
    }
}

/// `sh -c command`, with `stdin` written to it; a non-zero exit code is a result, not a
/// failure. The child is killed if the task is cancelled.
async fn shell_run(command: &str, stdin: &str) -> Result<Value, TaskError> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| TaskError::fatal(format!("std.shell: cannot start `sh`: {e}")))?;
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read its input closes the pipe: not an error.
        let _ = input.write_all(stdin.as_bytes()).await;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| TaskError::retryable(format!("std.shell: {e}")))?;
    Ok(json!({
        "code": out.status.code().unwrap_or(-1),
        "stdout": String::from_utf8_lossy(&out.stdout),
        "stderr": String::from_utf8_lossy(&out.stderr),
    }))
}

impl Instance for StdAgent {
    fn execute(&self, task: Task) -> Attempt {
        Box::pin(StdAgent::run(self.shell.clone(), task))
    }

    fn immediate(&self, task: &Task) -> Option<Result<Value, TaskError>> {
        StdAgent::now(task)
    }
}

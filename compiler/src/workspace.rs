//! Loading a workspace: the one place the compiler reads files. Reads the named files and,
//! transitively, what they import; resolves import paths against the project root; records
//! the result as database inputs.

use crate::codes::Code;
use crate::db::{Database, ImportTarget, Loc, SourceFile, Workspace};
use crate::diagnostic::Diagnostic;
use crate::queries::parse;
use crate::syntax::ast::ItemKind;
use crate::syntax::{Span, limits};
use rayon::prelude::*;
use salsa::Setter;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing at that path.
    NotFound,
    /// Larger than [`limits::MAX_FILE_BYTES`]; the size.
    TooLarge(u64),
    /// Not a regular file (a directory, a FIFO, a device, a socket); what it is.
    NotRegular(&'static str),
    /// Any other failure, described.
    Other(String),
}

/// Where files come from: the disk, or an editor's unsaved buffers.
pub trait FileSource {
    /// The file's bytes, or why they could not be read.
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError>;
    /// The `.hive` files under a directory, sorted.
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// `path` with every symbolic link resolved, when it can be (for the root check of
    /// imports); `None` when the source has no links or the path cannot be resolved.
    fn real_path(&self, _path: &Path) -> Option<PathBuf> {
        None
    }
}

/// The real file system.
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        use std::io::Read;
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Other(e.to_string()),
        };
        // What the path is, before opening it: opening a FIFO waits for a writer, and a
        // device such as /dev/zero never ends.
        regular(&std::fs::metadata(path).map_err(io)?)?;
        let file = open_nonblocking(path).map_err(io)?;
        // The path may have been replaced since: what was opened is what counts.
        let meta = file.metadata().map_err(io)?;
        regular(&meta)?;
        // A file may grow while it is read: read at most one byte past the limit.
        let limit = limits::MAX_FILE_BYTES as u64;
        let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(ReadError::TooLarge(meta.len().max(bytes.len() as u64)));
        }
        Ok(bytes)
    }

    /// Symbolic links inside `dir` are not followed, to files or to directories: a walk of a
    /// directory stays in it (a path named on the command line is read wherever it leads).
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
                let entry = entry.map_err(|e| e.to_string())?;
                // The entry's own type: a link is a link, whatever it points at.
                let kind = entry.file_type().map_err(|e| e.to_string())?;
                let path = entry.path();
                if kind.is_symlink() {
                    continue;
                }
                if kind.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "hive") {
                    // Other kinds than regular files are listed, for `read` to refuse by name.
                    out.push(path);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        if let Ok(real) = std::fs::canonicalize(path) {
            return Some(real);
        }
        // A file not written yet (an editor's new buffer): its directory's real path.
        let parent = std::fs::canonicalize(path.parent()?).ok()?;
        Some(parent.join(path.file_name()?))
    }
}

/// Refuses anything but a regular file, saying what it is.
fn regular(meta: &std::fs::Metadata) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Err(ReadError::NotRegular("a FIFO"));
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Err(ReadError::NotRegular("a device"));
        }
        if kind.is_socket() {
            return Err(ReadError::NotRegular("a socket"));
        }
    }
    if kind.is_dir() {
        return Err(ReadError::NotRegular("a directory"));
    }
    Err(ReadError::NotRegular("another kind of file"))
}

/// Opens `path` for reading without waiting, should it have become a FIFO after it was looked
/// at (reads of a regular file are not affected).
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// A loaded workspace.
pub struct Loaded {
    /// The database holding every file.
    pub db: Database,
    /// The workspace input.
    pub workspace: Workspace,
    /// The files named on the command line (directories expanded), in order.
    pub roots: Vec<SourceFile>,
    /// Files that could not be loaded at all (unreadable, not UTF-8, too large).
    pub errors: Vec<Diagnostic<Loc>>,
}

/// The standard library's text.
pub const STD_SOURCE: &str = include_str!("../../stdlib/std.hive");

/// Loads `paths` (files or directories). Imports resolve relative to the importing file and
/// may not leave `root` (by default the directory of each named file, or the named directory).
pub fn load(source: &dyn FileSource, paths: &[PathBuf], root: Option<&Path>) -> Loaded {
    load_into(Database::default(), source, paths, root)
}

/// [`load`] into a database set up by the caller (an editor's, which reuses pieces of files
/// between parses from the first parse on).
pub fn load_into(
    mut db: Database,
    source: &dyn FileSource,
    paths: &[PathBuf],
    root: Option<&Path>,
) -> Loaded {
    let std_file = SourceFile::new(
        &db,
        PathBuf::from("<std>/std.hive"),
        STD_SOURCE.to_string(),
        Vec::new(),
        true,
    );
    let mut files: BTreeMap<PathBuf, (SourceFile, PathBuf)> = BTreeMap::new(); // path -> (file, root)
    let mut roots = Vec::new();
    let mut errors = Vec::new();
    let mut queue: Vec<SourceFile> = Vec::new();
    for p in paths {
        let (targets, default_root) = if source.is_dir(p) {
            match source.list(p) {
                Ok(list) => (list, p.clone()),
                Err(e) => {
                    errors.push(load_error(
                        &db,
                        p,
                        Code::UnreadableFile,
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            }
        } else {
            (
                vec![p.clone()],
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
            )
        };
        let file_root = normalize(root.map_or(&default_root, |r| r));
        for t in targets {
            let key = normalize(&t);
            if let Some((f, _)) = files.get(&key) {
                roots.push(*f);
                continue;
            }
            match read_text(source, &t) {
                Ok(text) => {
                    let f = SourceFile::new(&db, t.clone(), text, Vec::new(), false);
                    files.insert(key, (f, file_root.clone()));
                    roots.push(f);
                    queue.push(f);
                }
                Err((Code::ImportNotFound, message)) => {
                    errors.push(load_error(&db, &t, Code::UnreadableFile, message))
                }
                Err((code, message)) => errors.push(load_error(&db, &t, code, message)),
            }
        }
    }
    // Parsing is most of the cost of loading: the named files are parsed side by side first,
    // each worker on its own handle (all dropped before the inputs below are set).
    queue.par_iter().for_each_with(db.clone(), |db, f| {
        parse(db, *f);
    });
    // Resolve imports breadth-first, loading new files as they are found.
    while let Some(f) = queue.pop() {
        let path = f.path(&db).clone();
        let file_root = files
            .get(&normalize(&path))
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let wanted: Vec<String> = parse(&db, f)
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Import(import) => Some(import.path.clone()),
                _ => None,
            })
            .collect();
        let real_root = source.real_path(if file_root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &file_root
        });
        let mut targets = Vec::new();
        for w in wanted {
            let resolved = normalize(&dir.join(&w));
            if !absolute(&resolved).starts_with(absolute(&file_root)) {
                targets.push(ImportTarget::EscapesRoot(resolved, None));
                continue;
            }
            // The path stays inside the root as written; through a symbolic link (to the file
            // or to a directory on its way) it may still lead out.
            if let (Some(root), Some(real)) = (&real_root, source.real_path(&resolved))
                && !real.starts_with(root)
            {
                targets.push(ImportTarget::EscapesRoot(resolved, Some(real)));
                continue;
            }
            if let Some((g, _)) = files.get(&resolved) {
                targets.push(ImportTarget::File(*g));
                continue;
            }
            match read_text(source, &resolved) {
                Ok(text) => {
                    let g = SourceFile::new(&db, resolved.clone(), text, Vec::new(), false);
                    files.insert(resolved, (g, file_root.clone()));
                    queue.push(g);
                    targets.push(ImportTarget::File(g));
                }
                Err((Code::ImportNotFound, _)) => targets.push(ImportTarget::NotFound(resolved)),
                Err((Code::NotRegularFile, m)) => {
                    targets.push(ImportTarget::NotRegular(resolved, m))
                }
                Err((_, m)) => targets.push(ImportTarget::Unreadable(resolved, m)),
            }
        }
        targets.push(ImportTarget::File(std_file));
        f.set_imports(&mut db).to(targets);
    }
    let mut all: Vec<SourceFile> = files.values().map(|(f, _)| *f).collect();
    all.push(std_file);
    let workspace = Workspace::new(&db, all);
    Loaded {
        db,
        workspace,
        roots,
        errors,
    }
}

fn read_text(source: &dyn FileSource, path: &Path) -> Result<String, (Code, String)> {
    let bytes = source.read(path).map_err(|e| match e {
        ReadError::NotFound => (Code::ImportNotFound, "no such file".to_string()),
        ReadError::TooLarge(n) => (
            Code::FileTooLarge,
            format!(
                "file is {n} bytes, above the limit of {} bytes",
                limits::MAX_FILE_BYTES
            ),
        ),
        ReadError::NotRegular(what) => (
            Code::NotRegularFile,
            format!("not a regular file ({what}); only regular files are read"),
        ),
        ReadError::Other(m) => (Code::UnreadableFile, m),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        (
            Code::NotUtf8,
            format!("file is not valid UTF-8 (first invalid byte at offset {at})"),
        )
    })
}

fn load_error(db: &Database, path: &Path, code: Code, message: String) -> Diagnostic<Loc> {
    let file = SourceFile::new(db, path.to_path_buf(), String::new(), Vec::new(), false);
    Diagnostic::new(
        code,
        Loc {
            file,
            item: None,
            span: Span::default(),
        },
        format!("{}: {message}", path.display()),
        "",
    )
}

/// The normalized absolute form of a path, for containment checks only (messages keep the
/// paths as the user wrote them).
fn absolute(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => normalize(&cwd.join(path)),
        Err(_) => normalize(path),
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (paths need not exist).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let at_parent = matches!(out.components().next_back(), Some(Component::ParentDir));
                if at_parent || !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

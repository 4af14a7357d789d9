//! The incremental database: every salsa entity (inputs, the interned pieces of files, the
//! accumulators of diagnostics and of uses) and the database itself; the queries over them
//! live with their phases.
//!
//! Invariant: queries never touch the file system or the terminal. Files and the targets of
//! their imports are inputs set by the driver ([`crate::workspace`]); problems are accumulated as
//! [`Diag`], never printed.

use crate::diagnostic::Diagnostic;
use crate::syntax::Span;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The database trait every query takes.
#[salsa::db]
pub trait Db: salsa::Database {
    /// Whether a re-parse takes unchanged pieces of a file from earlier parses (for editors,
    /// where a file is parsed again after every keystroke) instead of parsing all of it.
    fn reuses_pieces(&self) -> bool {
        false
    }
}

/// One `.hive` file.
#[salsa::input(debug)]
pub struct SourceFile {
    /// Where it was read from (for messages and import resolution).
    #[returns(ref)]
    pub path: PathBuf,
    /// Its text.
    #[returns(ref)]
    pub text: String,
    /// What each `import` item of the file refers to, in the order of those items; set by the
    /// driver after parsing, since finding files is I/O.
    #[returns(ref)]
    pub imports: Vec<ImportTarget>,
    /// Whether this is the built-in standard library (its items are never "unused").
    #[returns(copy)]
    pub is_std: bool,
}

/// The set of files checked together (the files named on the command line, what they
/// import, and the standard library).
#[salsa::input(debug)]
pub struct Workspace {
    /// Every loaded file.
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

/// Where an import led.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImportTarget {
    /// A loaded file.
    File(SourceFile),
    /// No file at the resolved path.
    NotFound(PathBuf),
    /// The path leaves the project root: as written, or (with the real path) through a
    /// symbolic link.
    EscapesRoot(PathBuf, Option<PathBuf>),
    /// The file exists but could not be read.
    Unreadable(PathBuf, String),
    /// Not a regular file (a FIFO, a device…), so not read; what it is.
    NotRegular(PathBuf, String),
}

/// A place in a file: either file-relative, or relative to an item so that it survives edits
/// elsewhere in the file (see [`crate::syntax::Span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    /// The file.
    pub file: SourceFile,
    /// The item the span is relative to; `None` for a file-relative span.
    pub item: Option<u32>,
    /// The range.
    pub span: Span,
}

impl Loc {
    /// A span inside item `item` of `file`.
    pub fn item(file: SourceFile, item: u32, span: Span) -> Loc {
        Loc {
            file,
            item: Some(item),
            span,
        }
    }

    /// The file-relative range.
    pub fn absolute(self, db: &dyn Db) -> Span {
        match self.item {
            None => self.span,
            Some(i) => {
                let parsed = crate::queries::parse(db, self.file);
                let base = parsed.offsets.get(i as usize).copied().unwrap_or(0);
                self.span.shift(base)
            }
        }
    }
}

/// A diagnostic as accumulated by the queries.
#[salsa::accumulator]
#[derive(Clone, Debug)]
pub struct Diag(pub Diagnostic<Loc>);

/// A reference from one item to another, accumulated wherever a name resolves (read by the
/// unused-item check).
#[salsa::accumulator]
#[derive(Clone, Copy, Debug)]
pub struct Used(pub crate::check::scope::ItemRef);

/// The text of a piece of a file, interned so that an unchanged piece is found again.
#[salsa::interned]
pub struct Piece<'db> {
    /// The text.
    #[returns(ref)]
    pub text: String,
}

/// Emits a diagnostic from inside a query.
pub fn report(db: &dyn Db, d: Diagnostic<Loc>) {
    use salsa::Accumulator;
    Diag(d).accumulate(db);
}

/// The database. Cloning gives a handle for another thread (rayon workers).
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
    log: Option<Arc<Mutex<Vec<String>>>>,
    reuse: bool,
}

impl Database {
    /// A database that records the name and key of every query it executes, for tests of
    /// incrementality.
    pub fn with_execution_log() -> Self {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let storage = salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
            if let salsa::EventKind::WillExecute { database_key } = event.kind
                && let Ok(mut log) = sink.lock()
            {
                log.push(format!("{database_key:?}"));
            }
        })));
        Database {
            storage,
            log: Some(log),
            reuse: false,
        }
    }

    /// Makes re-parses reuse unchanged pieces of a file (see [`Db::reuses_pieces`]).
    pub fn reuse_pieces(&mut self) {
        self.reuse = true;
    }

    /// The queries executed since the last call (empty without an execution log).
    pub fn take_executed(&self) -> Vec<String> {
        self.log
            .as_ref()
            .and_then(|l| l.lock().ok().map(|mut l| std::mem::take(&mut *l)))
            .unwrap_or_default()
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn reuses_pieces(&self) -> bool {
        self.reuse
    }
}

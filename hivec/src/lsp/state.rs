//! The server's state: open documents over the compiler database, loading and re-checking.

use super::convert::{Lines, uri_of};
use hive_compiler::db::{Database, Loc, SourceFile, Workspace};
use hive_compiler::diagnostic::{Diagnostic, Severity};
use hive_compiler::ide::fixes::did_you_mean_fix;
use hive_compiler::queries::{parse, workspace_diagnostics};
use hive_compiler::syntax::ast::ItemKind;
use hive_compiler::workspace::{Disk, FileSource, ReadError, load_into, normalize};
use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};
use salsa::Setter;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// An open document.
pub struct Doc {
    /// As the editor names it.
    pub uri: Uri,
    /// The editor's text (which may differ from the disk).
    pub text: String,
}

/// Open documents and the database they are checked in.
pub struct State {
    /// The database; replaced when the set of files changes.
    pub db: Database,
    /// Every loaded file: open documents, what they import, the standard library.
    pub ws: Workspace,
    /// Loaded files by normalized path.
    pub files: HashMap<PathBuf, SourceFile>,
    /// Open documents by normalized path.
    pub docs: BTreeMap<PathBuf, Doc>,
    /// Problems found while loading (unreadable imports…), by file.
    load_errors: Vec<Diagnostic<Loc>>,
    /// A copy of a file, edited for member completion.
    scratch: Option<SourceFile>,
    /// Where the standard library was written for editors to show (see [`State::std_path`]).
    std_copy: std::cell::OnceCell<Option<PathBuf>>,
}

/// Files as the editor has them: open documents first, then the disk.
struct Overlay<'a>(&'a BTreeMap<PathBuf, Doc>);

impl FileSource for Overlay<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        match self.0.get(&normalize(path)) {
            Some(doc) => Ok(doc.text.clone().into_bytes()),
            None => Disk.read(path),
        }
    }
    fn list(&self, dir: &Path) -> Result<Vec<PathBuf>, String> {
        Disk.list(dir)
    }
    fn is_dir(&self, path: &Path) -> bool {
        Disk.is_dir(path)
    }
    fn real_path(&self, path: &Path) -> Option<PathBuf> {
        Disk.real_path(path)
    }
}

impl State {
    /// No documents yet.
    pub fn new() -> Self {
        Self::loaded(BTreeMap::new())
    }

    /// `docs` and what they import, loaded into a fresh database.
    fn loaded(docs: BTreeMap<PathBuf, Doc>) -> Self {
        let paths: Vec<PathBuf> = docs.keys().cloned().collect();
        let mut db = Database::default();
        db.reuse_pieces();
        let loaded = load_into(db, &Overlay(&docs), &paths, None);
        let files = loaded
            .workspace
            .files(&loaded.db)
            .iter()
            .map(|f| (normalize(f.path(&loaded.db)), *f))
            .collect();
        State {
            db: loaded.db,
            ws: loaded.workspace,
            files,
            docs,
            load_errors: loaded.errors,
            scratch: None,
            std_copy: std::cell::OnceCell::new(),
        }
    }

    /// Reloads after the set of files changed.
    fn reload(&mut self) {
        *self = Self::loaded(std::mem::take(&mut self.docs));
    }

    /// The standard library is built in and has no file, so a definition in it points at a
    /// read-only copy written once per version under the temporary directory. `None` if it
    /// cannot be written; definitions there then go nowhere.
    fn std_path(&self) -> Option<&Path> {
        self.std_copy
            .get_or_init(|| {
                let dir = std::env::temp_dir().join(format!("hive-{}", env!("CARGO_PKG_VERSION")));
                let path = dir.join("std.hive");
                let text = hive_compiler::workspace::STD_SOURCE;
                if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                    std::fs::create_dir_all(&dir).ok()?;
                    let _ = std::fs::remove_file(&path);
                    std::fs::write(&path, text).ok()?;
                    let mut perms = std::fs::metadata(&path).ok()?.permissions();
                    perms.set_readonly(true);
                    let _ = std::fs::set_permissions(&path, perms);
                }
                Some(normalize(&path))
            })
            .as_deref()
    }

    /// The standard library's file in the database.
    fn std_file(&self) -> Option<SourceFile> {
        self.files.values().copied().find(|f| f.is_std(&self.db))
    }

    /// Whether `key` (normalized) is the copy of the standard library.
    fn is_std_copy(&self, key: &Path) -> bool {
        self.std_copy.get().and_then(Option::as_deref) == Some(key)
    }

    /// Opens a document (or replaces its text).
    pub fn open(&mut self, path: PathBuf, uri: Uri, text: String) {
        let key = normalize(&path);
        if self.is_std_copy(&key) {
            // Shown by a definition: answered from the built-in file, never checked as a
            // document of its own (its names would clash with the real standard library).
            return;
        }
        self.docs.insert(key.clone(), Doc { uri, text });
        self.sync(&key);
    }

    /// Edits an open document's text in place; false if it is not open.
    pub fn change(&mut self, path: &Path, edit: impl FnOnce(&mut String)) -> bool {
        let key = normalize(path);
        let Some(doc) = self.docs.get_mut(&key) else {
            return false;
        };
        edit(&mut doc.text);
        self.sync(&key);
        true
    }

    /// Gives the database a document's text. Re-checking is incremental unless the
    /// document's imports changed or it was not loaded yet.
    fn sync(&mut self, key: &Path) {
        let (Some(doc), Some(file)) = (self.docs.get(key), self.files.get(key).copied()) else {
            return self.reload();
        };
        if file.text(&self.db) == &doc.text {
            return;
        }
        let imports_before = import_paths(&self.db, file);
        file.set_text(&mut self.db).to(doc.text.clone());
        if imports_before != import_paths(&self.db, file) {
            self.reload();
        }
    }

    /// Closes a document.
    pub fn close(&mut self, path: &Path) {
        if self.docs.remove(&normalize(path)).is_some() {
            self.reload();
        }
    }

    /// The loaded file of an open document, with its text.
    pub fn file(&self, path: &Path) -> Option<(SourceFile, &str)> {
        let key = normalize(path);
        if self.is_std_copy(&key) {
            let std = self.std_file()?;
            return Some((std, std.text(&self.db).as_str()));
        }
        let doc = self.docs.get(&key)?;
        Some((*self.files.get(&key)?, doc.text.as_str()))
    }

    /// A scratch copy of `file` holding `text`, checked like it but never published.
    pub fn scratch(&mut self, file: SourceFile, text: String) -> SourceFile {
        let path = file.path(&self.db).clone();
        let imports = file.imports(&self.db).clone();
        match self.scratch {
            Some(s) => {
                s.set_path(&mut self.db).to(path);
                s.set_imports(&mut self.db).to(imports);
                s.set_text(&mut self.db).to(text);
                s
            }
            None => {
                let s = SourceFile::new(&self.db, path, text, imports, false);
                self.scratch = Some(s);
                s
            }
        }
    }

    /// The diagnostics of every open document, as the protocol has them.
    pub fn diagnostics(&self) -> Vec<(Uri, Vec<lsp_types::Diagnostic>)> {
        let mut by_file: BTreeMap<PathBuf, Vec<lsp_types::Diagnostic>> =
            self.docs.keys().map(|p| (p.clone(), Vec::new())).collect();
        let all = self
            .load_errors
            .iter()
            .cloned()
            .chain(workspace_diagnostics(&self.db, self.ws));
        let mut lines: HashMap<SourceFile, Lines> = HashMap::new();
        for d in all {
            let key = normalize(d.at.file.path(&self.db));
            let Some(list) = by_file.get_mut(&key) else {
                continue;
            };
            list.push(self.convert(&d, &mut lines));
        }
        by_file
            .into_iter()
            .filter_map(|(p, list)| Some((self.docs.get(&p)?.uri.clone(), list)))
            .collect()
    }

    /// The location of a span of a loaded file (in the standard library: of its copy).
    pub fn location<'a>(
        &'a self,
        file: SourceFile,
        span: hive_compiler::syntax::Span,
        lines: &mut HashMap<SourceFile, Lines<'a>>,
    ) -> Option<Location> {
        let uri = if file.is_std(&self.db) {
            uri_of(self.std_path()?)?
        } else {
            uri_of(file.path(&self.db))?
        };
        let lines = lines
            .entry(file)
            .or_insert_with(|| Lines::new(file.text(&self.db)));
        Some(Location::new(uri, lines.range(span.start, span.end)))
    }

    fn convert<'a>(
        &'a self,
        d: &Diagnostic<Loc>,
        lines: &mut HashMap<SourceFile, Lines<'a>>,
    ) -> lsp_types::Diagnostic {
        let span = d.at.absolute(&self.db);
        let range = self
            .location(d.at.file, span, lines)
            .map(|l| l.range)
            .unwrap_or_default();
        let mut related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter_map(|l| {
                let location = self.location(l.at.file, l.at.absolute(&self.db), lines)?;
                Some(DiagnosticRelatedInformation {
                    location,
                    message: l.message.clone(),
                })
            })
            .collect();
        let mut data = None;
        if let Some(help) = &d.help {
            if let Some(location) = self.location(d.at.file, span, lines) {
                related.push(DiagnosticRelatedInformation {
                    location,
                    message: format!("help: {help}"),
                });
            }
            let written =
                d.at.file
                    .text(&self.db)
                    .get(span.start as usize..span.end as usize)
                    .unwrap_or_default();
            data = did_you_mean_fix(written, help).map(|fix| serde_json::json!({ "fix": fix }));
        }
        // A fix of its own replaces its own range, which may be wider than the diagnostic's.
        if let Some(fix) = &d.fix
            && let Some(at) = self.location(fix.at.file, fix.at.absolute(&self.db), lines)
        {
            data = Some(serde_json::json!({ "fix": fix.replacement, "range": at.range }));
        }
        lsp_types::Diagnostic {
            range,
            severity: Some(match d.severity() {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
            }),
            code: Some(NumberOrString::String(d.code.code().to_string())),
            source: Some("hivec".into()),
            message: d.message.clone(),
            related_information: (!related.is_empty()).then_some(related),
            data,
            ..Default::default()
        }
    }
}

/// The paths a file's `import` items name, in order.
fn import_paths(db: &Database, file: SourceFile) -> Vec<String> {
    parse(db, file)
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Import(imp) => Some(imp.path.clone()),
            _ => None,
        })
        .collect()
}

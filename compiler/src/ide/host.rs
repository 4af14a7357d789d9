//! The analysis host an editor talks to: open documents over one database, their texts given
//! to it as they change, and a reload when the set of files changes. Re-checking after an
//! edit is incremental unless the edit changed the document's imports.

use crate::db::{Database, Loc, SourceFile, Workspace};
use crate::diagnostic::Diagnostic;
use crate::queries::parse;
use crate::syntax::ast::ItemKind;
use crate::workspace::{Disk, FileSource, ReadError, load_into, normalize};
use salsa::Setter;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Open documents and the database they are checked in.
pub struct Host {
    /// The database; replaced when the set of files changes.
    pub db: Database,
    /// Every loaded file: open documents, what they import, the standard library.
    pub ws: Workspace,
    /// Loaded files by normalized path.
    pub files: HashMap<PathBuf, SourceFile>,
    /// The editor's text of each open document (which may differ from the disk), by
    /// normalized path.
    docs: BTreeMap<PathBuf, String>,
    /// Problems found while loading (unreadable imports…).
    load_errors: Vec<Diagnostic<Loc>>,
    /// A copy of a file, edited for member completion.
    scratch: Option<SourceFile>,
}

/// Files as the editor has them: open documents first, then the disk.
struct Overlay<'a>(&'a BTreeMap<PathBuf, String>);

impl FileSource for Overlay<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        match self.0.get(&normalize(path)) {
            Some(text) => Ok(text.clone().into_bytes()),
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

impl Default for Host {
    fn default() -> Self {
        Self::loaded(BTreeMap::new())
    }
}

impl Host {
    /// `docs` and what they import, loaded into a fresh database.
    fn loaded(docs: BTreeMap<PathBuf, String>) -> Self {
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
        Host {
            db: loaded.db,
            ws: loaded.workspace,
            files,
            docs,
            load_errors: loaded.errors,
            scratch: None,
        }
    }

    /// Reloads after the set of files changed.
    fn reload(&mut self) {
        *self = Self::loaded(std::mem::take(&mut self.docs));
    }

    /// The standard library's file in the database.
    pub fn std_file(&self) -> Option<SourceFile> {
        self.files.values().copied().find(|f| f.is_std(&self.db))
    }

    /// Opens a document (or replaces its text).
    pub fn open(&mut self, path: &Path, text: String) {
        let key = normalize(path);
        self.docs.insert(key.clone(), text);
        self.sync(&key);
    }

    /// Edits an open document's text in place; false if it is not open.
    pub fn change(&mut self, path: &Path, edit: impl FnOnce(&mut String)) -> bool {
        let key = normalize(path);
        let Some(text) = self.docs.get_mut(&key) else {
            return false;
        };
        edit(text);
        self.sync(&key);
        true
    }

    /// Gives the database a document's text. Re-checking is incremental unless the
    /// document's imports changed or it was not loaded yet.
    fn sync(&mut self, key: &Path) {
        let (Some(text), Some(file)) = (self.docs.get(key), self.files.get(key).copied()) else {
            return self.reload();
        };
        if file.text(&self.db) == text {
            return;
        }
        let imports_before = import_paths(&self.db, file);
        file.set_text(&mut self.db).to(text.clone());
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
        let text = self.docs.get(&key)?;
        Some((*self.files.get(&key)?, text.as_str()))
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

    /// The diagnostics of every open document (an empty list for a clean one), by its
    /// normalized path; a diagnostic of a file that is not open is left out.
    pub fn diagnostics(&self) -> BTreeMap<PathBuf, Vec<Diagnostic<Loc>>> {
        let mut by_file: BTreeMap<PathBuf, Vec<Diagnostic<Loc>>> =
            self.docs.keys().map(|p| (p.clone(), Vec::new())).collect();
        let all = self
            .load_errors
            .iter()
            .cloned()
            .chain(crate::queries::workspace_diagnostics(&self.db, self.ws));
        for d in all {
            if let Some(list) = by_file.get_mut(&normalize(d.at.file.path(&self.db))) {
                list.push(d);
            }
        }
        by_file
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

//! The plan's sources: their paths relative to the root file, their hash, and positions.

use crate::check::graph::file_closure;
use crate::db::{Db, Loc, SourceFile};
use crate::syntax::lines::LineIndex;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::path::{Component, Path, PathBuf};

/// The closure's files, in order, with their paths relative to the root file's directory.
pub struct Sources {
    /// Files in closure order (the root first).
    pub files: Vec<SourceFile>,
    /// Plan path of each file.
    pub paths: FxHashMap<SourceFile, String>,
    /// Directory of the root file, as given.
    pub base: String,
    /// Where each line starts, per file.
    lines: FxHashMap<SourceFile, LineIndex>,
}

impl Sources {
    /// The sources of `root`'s closure.
    pub fn new(db: &dyn Db, root: SourceFile) -> Sources {
        let files = file_closure(db, root).clone();
        let base = root
            .path(db)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let paths = files
            .iter()
            .map(|f| {
                let p = f.path(db);
                let shown = if f.is_std(db) {
                    p.clone()
                } else {
                    relative(p, &base)
                };
                (*f, shown.to_string_lossy().replace('\\', "/"))
            })
            .collect();
        let lines = files
            .iter()
            .map(|f| (*f, LineIndex::new(f.text(db))))
            .collect();
        Sources {
            files,
            paths,
            base: base.to_string_lossy().replace('\\', "/"),
            lines,
        }
    }

    /// Paths in closure order.
    pub fn list(&self) -> Vec<String> {
        self.files.iter().map(|f| self.paths[f].clone()).collect()
    }

    /// SHA-256 over every file's plan path and text, in closure order.
    pub fn hash(&self, db: &dyn Db) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(self.paths[f].as_bytes());
            h.update([0]);
            h.update(f.text(db).as_bytes());
            h.update([0]);
        }
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    }

    /// A plan location: file index, 1-based line and column (in characters).
    pub fn loc(&self, db: &dyn Db, loc: Loc) -> hive_plan::Loc {
        self.at(db, loc.file, 0).loc(loc.absolute(db))
    }

    /// [`Sources::loc`] for many spans of item `item` of `file`: the file, its text and the
    /// item's offset are looked up once, not per step of a long workflow.
    pub fn in_item<'s>(&'s self, db: &'s dyn Db, file: SourceFile, item: u32) -> InItem<'s> {
        let base = Loc::item(file, item, crate::syntax::Span::default()).absolute(db);
        self.at(db, file, base.start)
    }

    fn at<'s>(&'s self, db: &'s dyn Db, file: SourceFile, base: u32) -> InItem<'s> {
        InItem {
            file: self.files.iter().position(|f| *f == file).unwrap_or(0) as u32,
            text: file.text(db),
            base,
            lines: self.lines.get(&file),
        }
    }
}

/// Plan locations inside one item (see [`Sources::in_item`]), or a file from `base` on.
pub struct InItem<'s> {
    file: u32,
    text: &'s str,
    base: u32,
    lines: Option<&'s LineIndex>,
}

impl InItem<'_> {
    /// The plan location of `span`, relative to the item.
    pub fn loc(&self, span: crate::syntax::Span) -> hive_plan::Loc {
        let start = span.start + self.base;
        let (line, column) = match self.lines {
            Some(lines) => lines.line_col(self.text, start),
            None => LineIndex::new(self.text).line_col(self.text, start),
        };
        hive_plan::Loc {
            file: self.file,
            line: line as u32,
            column: column as u32,
        }
    }
}

/// `path` relative to `base`, both taken as written (`..` where `path` is not below `base`).
fn relative(path: &Path, base: &Path) -> PathBuf {
    let path = crate::workspace::normalize(path);
    let base = crate::workspace::normalize(base);
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

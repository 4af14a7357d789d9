//! The one recipe every front end follows: load files (from disk, or through an editor's
//! overlay), check them, read every diagnostic. `hivec`'s commands,
//! the language server's [`Host`](crate::ide::host::Host) and the tests go through it, so
//! they report the same diagnostics in the same order.

use crate::db::{Database, Loc};
use crate::diagnostic::Diagnostic;
use crate::queries::{check_files, workspace_diagnostics};
use crate::workspace::{FileSource, Loaded, load_into};
use std::path::{Path, PathBuf};

impl Loaded {
    /// Checks every loaded file on every core; the results stay in the database, so reading
    /// the diagnostics afterwards re-runs nothing.
    pub fn check(&self) {
        check_files(&self.db, self.workspace.files(&self.db));
    }

    /// Every diagnostic: the files that could not be loaded first, then the workspace's (at
    /// most 100 a file, the last one saying how many were left out).
    pub fn diagnostics(&self) -> Vec<Diagnostic<Loc>> {
        let mut out = self.errors.clone();
        out.extend(workspace_diagnostics(&self.db, self.workspace));
        out
    }
}

/// Loads `paths` (directories expanded; imports confined to `root`, by default each file's
/// directory) from `source` into a fresh database and checks them side by side.
pub fn check(source: &dyn FileSource, paths: &[PathBuf], root: Option<&Path>) -> Loaded {
    let loaded = load_into(Database::default(), source, paths, root);
    loaded.check();
    loaded
}

//! Go to definition, find references and rename.

use super::Target;
use super::symbols::{Occurrence, Symbol, all_in, at, home};
use crate::db::{Db, SourceFile, Workspace};
use crate::syntax::Span;

/// Where the name at `offset` is declared.
pub fn definition(db: &dyn Db, file: SourceFile, offset: u32) -> Option<Target> {
    let occ = at(db, file, offset)?;
    declaration(db, &occ.symbol)
}

/// Where `symbol` is declared.
pub fn declaration(db: &dyn Db, symbol: &Symbol) -> Option<Target> {
    if let Symbol::File(f) = symbol {
        return Some(Target {
            file: *f,
            span: Span::new(0, 0),
        });
    }
    let home = home(symbol)?;
    all_in(db, home.file, symbol)
        .into_iter()
        .find(|o| o.decl)
        .map(|o| Target {
            file: home.file,
            span: o.span,
        })
}

/// Every place in the workspace that names what the name at `offset` denotes; the
/// declaration too when `with_declaration`.
pub fn references(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
    with_declaration: bool,
) -> Vec<Target> {
    let Some(occ) = at(db, file, offset) else {
        return Vec::new();
    };
    uses(db, ws, &occ.symbol)
        .into_iter()
        .filter(|(_, o)| with_declaration || !o.decl)
        .map(|(file, o)| Target { file, span: o.span })
        .collect()
}

fn uses(db: &dyn Db, ws: Workspace, symbol: &Symbol) -> Vec<(SourceFile, Occurrence)> {
    let files: Vec<SourceFile> = match symbol {
        // Locals are seen only in their own file.
        Symbol::Step(r, _) | Symbol::LoopVar(r, _) | Symbol::Message(r, _) => vec![r.file],
        _ => ws.files(db).clone(),
    };
    files
        .into_iter()
        .filter(|f| !f.is_std(db))
        .flat_map(|f| all_in(db, f, symbol).into_iter().map(move |o| (f, o)))
        .collect()
}

/// Why a rename cannot be done.
#[derive(Debug, PartialEq, Eq)]
pub enum RenameError {
    /// No name at the place asked.
    NoName,
    /// The name is declared in the standard library or names a file.
    NotRenamable,
    /// The new name is not an identifier, or is a keyword.
    BadName(String),
}

impl std::fmt::Display for RenameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenameError::NoName => f.write_str("there is no name here to rename"),
            RenameError::NotRenamable => {
                f.write_str("names of the standard library and import paths cannot be renamed")
            }
            RenameError::BadName(n) => write!(f, "`{n}` is not a name (or is a keyword)"),
        }
    }
}

/// The name at `offset` and its span, if it can be renamed.
pub fn prepare_rename(db: &dyn Db, file: SourceFile, offset: u32) -> Result<Target, RenameError> {
    let occ = at(db, file, offset).ok_or(RenameError::NoName)?;
    let renamable = match &occ.symbol {
        // `it` is the language's word for the message, not a name the file chose.
        Symbol::File(_) | Symbol::Message(..) => false,
        s => home(s).is_some_and(|h| !h.file.is_std(db)),
    };
    if !renamable {
        return Err(RenameError::NotRenamable);
    }
    Ok(Target {
        file,
        span: occ.span,
    })
}

/// Every span to replace with `new_name` to rename what the name at `offset` denotes.
pub fn rename(
    db: &dyn Db,
    ws: Workspace,
    file: SourceFile,
    offset: u32,
    new_name: &str,
) -> Result<Vec<Target>, RenameError> {
    prepare_rename(db, file, offset)?;
    if !crate::syntax::is_name(new_name) {
        return Err(RenameError::BadName(new_name.to_string()));
    }
    Ok(references(db, ws, file, offset, true))
}

//! The query pipeline: parse → item access → scope → declarations → per-workflow checks →
//! whole-file checks. Every phase is a salsa tracked function taking the database first.

use crate::check;
use crate::db::{Database, Db, Diag, Loc, Piece, SourceFile, Workspace, report};
use crate::diagnostic::Diagnostic;
use crate::syntax::{self, ParsedFile, ast};

/// Parses a file; syntax errors are accumulated with file-relative spans.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> ParsedFile {
    let text = file.text(db);
    let parsed = if db.reuses_pieces() && text.len() > REUSE_PIECE_LEN {
        syntax::parse_reusing(text, REUSE_PIECE_LEN, |piece| {
            parse_piece(db, Piece::new(db, piece)).clone()
        })
    } else {
        syntax::parse(text)
    };
    for d in &parsed.diagnostics {
        report(
            db,
            d.clone().map_loc(|span| Loc {
                file,
                item: None,
                span,
            }),
        );
    }
    parsed
}

/// Pieces this long (at item boundaries) are reused between parses when the database asks
/// for it: an edit then re-parses about this much text.
const REUSE_PIECE_LEN: usize = 2 * 1024;

/// A piece parsed alone; reused by every file and revision with the same piece of text.
#[salsa::tracked(returns(ref))]
pub fn parse_piece<'db>(db: &'db dyn Db, piece: Piece<'db>) -> ParsedFile {
    syntax::parse_alone(piece.text(db))
}

/// The syntax tree of one item. Unchanged (and so not invalidating its readers) when only
/// other items of the file were edited.
#[salsa::tracked(returns(ref))]
pub fn item(db: &dyn Db, file: SourceFile, index: u32) -> Option<std::sync::Arc<ast::Item>> {
    parse(db, file).items.get(index as usize).cloned()
}

/// The number of items and the kind and name of each: what the scope is built from. Backdated
/// when an edit changes only bodies.
#[salsa::tracked(returns(ref))]
pub fn item_heads(db: &dyn Db, file: SourceFile) -> Vec<(ast::ItemKeyword, Option<String>)> {
    parse(db, file)
        .items
        .iter()
        .map(|i| {
            // Capabilities are known by their whole dotted name (`std.shell`).
            let name = match &i.kind {
                ast::ItemKind::Capability(c) => Some(c.name.text()),
                _ => i.name().map(|n| n.text.clone()),
            };
            (i.kind.keyword(), name)
        })
        .collect()
}

/// Runs every check of a file (its accumulated [`Diag`]s include those of the files it reads).
#[salsa::tracked]
pub fn check_file(db: &dyn Db, file: SourceFile) {
    parse(db, file);
    check::scope::scope(db, file);
    check::graph::import_cycles(db, file);
    let decls = check::decls::decls(db, file);
    for index in decls.workflows.keys() {
        check::workflow::check_workflow(db, file, *index);
    }
    check::routing::check_routing(db, file);
    check::graph::workflow_recursion(db, file);
    check::bounds::check_bounds(db, file);
    check::state::check_states(db, file);
    check::topics::check_topics(db, file);
}

/// Checks `files` on every core. Each file's declarations come first; then the workflows of
/// all files are checked side by side (most of the work, and independent of one another, so
/// even one large file uses every core); then the routing, bounds and races of each
/// workflow, side by side too; then each file's remaining checks, which find those results
/// already in the database. Diagnostics are read afterwards, with
/// [`workspace_diagnostics`], without re-running anything.
pub fn check_files(db: &Database, files: &[SourceFile]) {
    use rayon::prelude::*;
    files.par_iter().for_each_with(db.clone(), |db, f| {
        check::decls::decls(db, *f);
    });
    let workflows: Vec<(SourceFile, u32)> = files
        .iter()
        .flat_map(|f| {
            check::decls::decls(db, *f)
                .workflows
                .keys()
                .map(move |i| (*f, *i))
        })
        .collect();
    workflows
        .par_iter()
        .for_each_with(db.clone(), |db, (f, i)| {
            check::workflow::check_workflow(db, *f, *i);
        });
    // The checks that read a checked workflow are queries of their own too: side by side,
    // one workflow's routing, bounds and races take both cores.
    let after: [fn(&dyn Db, SourceFile, u32); 3] = [
        |db, f, i| _ = check::routing::check_routing_of(db, f, i),
        |db, f, i| _ = check::bounds::check_bounds_of(db, f, i),
        |db, f, i| _ = check::races::check_races(db, f, i),
    ];
    workflows
        .iter()
        .flat_map(|w| after.iter().map(move |check| (w, check)))
        .collect::<Vec<_>>()
        .par_iter()
        .for_each_with(db.clone(), |db, ((f, i), check)| check(db, *f, *i));
    files.par_iter().for_each_with(db.clone(), |db, f| {
        check_file(db, *f);
    });
}

/// Checks every file of the workspace, then what needs all of them (unused items).
#[salsa::tracked]
pub fn check_workspace(db: &dyn Db, ws: Workspace) {
    for f in ws.files(db) {
        check_file(db, *f);
    }
    check::unused::check_unused(db, ws);
}

/// The most diagnostics shown for one file; the rest are summed up in one more.
pub const MAX_DIAGNOSTICS_PER_FILE: usize = 100;

/// Every diagnostic of the workspace, sorted by file and place, without duplicates, with its
/// "did you mean" worked out; past [`MAX_DIAGNOSTICS_PER_FILE`] in a file, one diagnostic
/// says how many more there are.
pub fn workspace_diagnostics(db: &dyn Db, ws: Workspace) -> Vec<Diagnostic<Loc>> {
    let mut out: Vec<((std::path::PathBuf, u32), Diagnostic<Loc>)> =
        check_workspace::accumulated::<Diag>(db, ws)
            .into_iter()
            .map(|d| {
                (
                    (d.0.at.file.path(db).clone(), d.0.at.absolute(db).start),
                    d.0.clone(),
                )
            })
            .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.code.cmp(&b.1.code))
            .then(a.1.message.cmp(&b.1.message))
    });
    out.dedup_by(|a, b| a.1 == b.1);
    let mut shown = Vec::with_capacity(out.len().min(MAX_DIAGNOSTICS_PER_FILE));
    for file in out.chunk_by(|a, b| a.0.0 == b.0.0) {
        let (kept, rest) = file.split_at(file.len().min(MAX_DIAGNOSTICS_PER_FILE));
        shown.extend(kept.iter().map(|(_, d)| {
            let mut d = d.clone();
            d.suggest();
            d
        }));
        if let Some(((_, at), _)) = rest.first() {
            shown.push(left_out(
                rest.iter().map(|(_, d)| d),
                rest[0].1.at.file,
                *at,
            ));
        }
    }
    shown
}

/// The diagnostic that stands for `rest`, the diagnostics of `file` not shown, the first of
/// them at byte `at`.
fn left_out<'a>(
    rest: impl Iterator<Item = &'a Diagnostic<Loc>>,
    file: SourceFile,
    at: u32,
) -> Diagnostic<Loc> {
    use crate::codes::Code;
    use crate::diagnostic::Severity;
    let (mut errors, mut warnings) = (0usize, 0usize);
    for d in rest {
        match d.severity() {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
    }
    let count = |n: usize, what: &str| format!("{n} more {what}{}", if n == 1 { "" } else { "s" });
    let (code, message) = match (errors, warnings) {
        (0, w) => (Code::TooManyWarnings, count(w, "warning")),
        (e, 0) => (Code::TooManyErrors, count(e, "error")),
        (e, w) => (
            Code::TooManyErrors,
            format!("{} and {}", count(e, "error"), count(w, "warning")),
        ),
    };
    let mut d = Diagnostic::new(
        code,
        Loc {
            file,
            item: None,
            span: crate::syntax::Span::new(at, at),
        },
        format!("{message} in this file are not shown"),
        "the first of them is here",
    )
    .with_help(format!(
        "at most {MAX_DIAGNOSTICS_PER_FILE} diagnostics are shown per file: fix these and check again"
    ));
    d.left_out = Some((errors, warnings));
    d
}

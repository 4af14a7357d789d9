//! Diagnostics for people (ariadne) and for tools (JSON lines). Pure: returns text.

mod window;

use crate::db::{Db, Loc, SourceFile};
use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::lines::LineIndex;
use ariadne::{Cache, Config, IndexType, Label, Report, ReportKind, Source};
use serde_json::json;
use std::collections::HashMap;
use std::ops::Range;

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
}

/// Renders one diagnostic as a person reads it, with the source lines it points at. For many
/// diagnostics, a [`Renderer`] reads each file once.
pub fn human(db: &dyn Db, d: &Diagnostic<Loc>, style: Style) -> String {
    Renderer::new(db, style).human(d)
}

/// One diagnostic as a JSON object (the fields of `hivec check --format json`).
pub fn json(db: &dyn Db, d: &Diagnostic<Loc>) -> serde_json::Value {
    Renderer::new(db, Style { color: false }).json(d)
}

/// Renders diagnostics one after another. Each file's lines are indexed once, on its first
/// diagnostic: indexing them again for every diagnostic would cost the file's length each
/// time, which for many diagnostics in a large file grows with its square.
pub struct Renderer<'db> {
    files: Files<'db>,
    style: Style,
    /// Where each line starts and which lines are long, by file.
    indexed: HashMap<SourceFile, Indexed>,
}

/// A file's line index and its lines longer than [`window::LONG_LINE`], made on the file's
/// first diagnostic.
struct Indexed {
    lines: LineIndex,
    long: Vec<Range<usize>>,
}

/// `file`'s [`Indexed`], from `map` or made and kept there.
fn indexed<'m>(
    map: &'m mut HashMap<SourceFile, Indexed>,
    db: &dyn Db,
    file: SourceFile,
) -> &'m Indexed {
    map.entry(file).or_insert_with(|| {
        let text = file.text(db);
        let lines = LineIndex::new(text);
        let long = window::long_lines(text, &lines);
        Indexed { lines, long }
    })
}

/// The sources ariadne reads, indexed on first use.
struct Files<'db> {
    db: &'db dyn Db,
    sources: HashMap<SourceFile, Source<String>>,
    /// For the diagnostic being rendered, files shown with their long lines cut.
    cut: HashMap<SourceFile, Source<String>>,
}

impl Cache<SourceFile> for &mut Files<'_> {
    type Storage = String;

    fn fetch(&mut self, file: &SourceFile) -> Result<&Source<String>, impl std::fmt::Debug> {
        let db = self.db;
        if let Some(cut) = self.cut.get(file) {
            return Ok(cut);
        }
        Ok::<_, ()>(
            self.sources
                .entry(*file)
                .or_insert_with(|| Source::from(file.text(db).clone())),
        )
    }

    fn display<'a>(&self, file: &'a SourceFile) -> Option<impl std::fmt::Display + 'a> {
        Some(file.path(self.db).display().to_string())
    }
}

impl<'db> Renderer<'db> {
    /// A renderer over the files of `db`.
    pub fn new(db: &'db dyn Db, style: Style) -> Self {
        Renderer {
            files: Files {
                db,
                sources: HashMap::new(),
                cut: HashMap::new(),
            },
            style,
            indexed: HashMap::new(),
        }
    }

    /// One diagnostic as a person reads it, with the source lines it points at.
    pub fn human(&mut self, d: &Diagnostic<Loc>) -> String {
        let db = self.files.db;
        let kind = match d.severity() {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let place = |l: &Loc| -> (SourceFile, Range<usize>) {
            let s = l.absolute(db);
            (l.file, s.start as usize..s.end as usize)
        };
        let primary = place(&d.at);
        // ariadne starts a new snippet whenever a label's line goes back, and heads every
        // snippet of the primary's file with the primary's line: so labels are ordered by file
        // (the primary's first) and by position, one snippet per file, each headed rightly.
        let mut labels: Vec<((SourceFile, Range<usize>), &str)> = Vec::new();
        if !d.label.is_empty() {
            labels.push((primary.clone(), &d.label));
        }
        labels.extend(d.labels.iter().map(|l| (place(&l.at), l.message.as_str())));
        let mut files = vec![primary.0];
        for ((file, _), _) in &labels {
            if !files.contains(file) {
                files.push(*file);
            }
        }
        labels.sort_by_key(|((file, span), _)| (files.iter().position(|f| f == file), span.start));
        // ariadne heads a file's snippet with the primary's place in the primary's file and
        // with its first label's elsewhere.
        let heads: Vec<(SourceFile, usize)> = files
            .iter()
            .map(|&f| {
                let first_label = || labels.iter().find(|((file, _), _)| *file == f);
                let head = if f == primary.0 {
                    primary.1.start
                } else {
                    first_label().map_or(0, |((_, span), _)| span.start)
                };
                (f, head)
            })
            .collect();
        let cuts = self.cut_long_lines(&heads, &primary, &labels);
        let shown =
            |(file, span): (SourceFile, Range<usize>)| match cuts.iter().find(|c| c.file == file) {
                Some(c) => (file, c.shown.map(span.start)..c.shown.map(span.end)),
                None => (file, span),
            };
        let mut report = Report::build(kind, shown(primary.clone()))
            .with_config(
                Config::default()
                    .with_index_type(IndexType::Byte)
                    .with_color(self.style.color),
            )
            .with_code(format!("{}/{}", d.code.code(), d.code.name()))
            .with_message(&d.message);
        for (i, (at, message)) in labels.into_iter().enumerate() {
            report = report.with_label(
                Label::new(shown(at))
                    .with_message(message)
                    .with_order(i as i32),
            );
        }
        if let Some(help) = &d.help {
            report = report.with_help(help);
        }
        let mut out = Vec::new();
        let written = report.finish().write(&mut self.files, &mut out);
        self.files.cut.clear();
        if written.is_err() {
            return format!("{}[{}]: {}\n", kind_word(d), d.code.code(), d.message);
        }
        let text = String::from_utf8_lossy(&out).into_owned();
        self.head_snippets(text, &heads)
    }

    /// `text` with each snippet's head (`path:line:column`, one snippet per file of `heads`,
    /// in order) giving the file's own line and column. ariadne counts the column of a cut line
    /// in the shown text, and that of a file other than the primary's in characters from a
    /// byte offset, which is wrong after any non-ASCII character.
    fn head_snippets(&mut self, mut text: String, heads: &[(SourceFile, usize)]) -> String {
        let db = self.files.db;
        let mut from = 0;
        for &(file, head) in heads {
            let (line, column) = indexed(&mut self.indexed, db, file)
                .lines
                .line_col(file.text(db), head as u32);
            let name = format!("{}:", file.path(db).display());
            let Some(place) = find_place(&text, from, &name) else {
                continue;
            };
            let right = format!("{line}:{column}");
            text.replace_range(place.clone(), &right);
            from = place.start + right.len();
        }
        text
    }

    /// For each file of `heads` with a long line that the diagnostic points into, its text with
    /// long lines cut ([`window::Shown`]), which ariadne then reads.
    fn cut_long_lines(
        &mut self,
        heads: &[(SourceFile, usize)],
        primary: &(SourceFile, Range<usize>),
        labels: &[((SourceFile, Range<usize>), &str)],
    ) -> Vec<Cut> {
        let db = self.files.db;
        let mut cuts = Vec::new();
        for &(file, _) in heads {
            let text = file.text(db);
            let long = &indexed(&mut self.indexed, db, file).long;
            if long.is_empty() {
                continue;
            }
            let points: Vec<usize> = std::iter::once(primary)
                .chain(labels.iter().map(|(at, _)| at))
                .filter(|(f, _)| *f == file)
                .flat_map(|(_, span)| [span.start, span.end])
                .collect();
            let Some(mut shown) = window::Shown::new(text, long, &points) else {
                continue;
            };
            // ariadne keeps the text; the cut keeps only the way offsets map into it.
            let text = std::mem::take(&mut shown.text);
            self.files.cut.insert(file, Source::from(text));
            cuts.push(Cut { file, shown });
        }
        cuts
    }

    /// One diagnostic as a JSON object (the fields of `hivec check --format json`).
    pub fn json(&mut self, d: &Diagnostic<Loc>) -> serde_json::Value {
        let db = self.files.db;
        let mut place = |l: &Loc| {
            let text = l.file.text(db);
            let lines = &indexed(&mut self.indexed, db, l.file).lines;
            let span = l.absolute(db);
            let (line, column) = lines.line_col(text, span.start);
            let (end_line, end_column) = lines.line_col(text, span.end);
            (
                l.file.path(db).display().to_string(),
                line,
                column,
                end_line,
                end_column,
            )
        };
        let (file, line, column, end_line, end_column) = place(&d.at);
        let labels: Vec<serde_json::Value> = d
            .labels
            .iter()
            .map(|l| {
                let (file, line, column, end_line, end_column) = place(&l.at);
                json!({ "message": l.message, "file": file, "line": line, "column": column, "end_line": end_line, "end_column": end_column })
            })
            .collect();
        let fix = d.fix.as_ref().map(|fix| {
            let (file, line, column, end_line, end_column) = place(&fix.at);
            json!({ "replacement": fix.replacement, "file": file, "line": line, "column": column, "end_line": end_line, "end_column": end_column })
        });
        let mut out = json!({
            "severity": kind_word(d),
            "code": d.code.code(),
            "name": d.code.name(),
            "message": d.message,
            "file": file,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "label": d.label,
            "labels": labels,
            "help": d.help,
        });
        if let Some(fix) = fix {
            out["fix"] = fix;
        }
        out
    }
}

/// A file shown with its long lines cut, for one diagnostic.
struct Cut {
    file: SourceFile,
    shown: window::Shown,
}

/// The range of `line:column` in the first `name` followed by one, at or after `from`.
fn find_place(text: &str, mut from: usize, name: &str) -> Option<Range<usize>> {
    while let Some(at) = text[from..].find(name) {
        let start = from + at + name.len();
        let rest = &text[start..];
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let line = digits(rest);
        if line > 0 && rest[line..].starts_with(':') {
            let column = digits(&rest[line + 1..]);
            if column > 0 {
                return Some(start..start + line + 1 + column);
            }
        }
        from = start;
    }
    None
}

fn kind_word(d: &Diagnostic<Loc>) -> &'static str {
    match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

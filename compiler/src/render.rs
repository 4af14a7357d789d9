//! Diagnostics for people (ariadne) and for tools (JSON lines). Pure: returns text.

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
    /// Where each line starts, by file.
    lines: HashMap<SourceFile, LineIndex>,
}

/// The sources ariadne reads, indexed on first use.
struct Files<'db> {
    db: &'db dyn Db,
    sources: HashMap<SourceFile, Source<String>>,
}

impl Cache<SourceFile> for &mut Files<'_> {
    type Storage = String;

    fn fetch(&mut self, file: &SourceFile) -> Result<&Source<String>, impl std::fmt::Debug> {
        let db = self.db;
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
            },
            style,
            lines: HashMap::new(),
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
        let mut report = Report::build(kind, primary.clone())
            .with_config(
                Config::default()
                    .with_index_type(IndexType::Byte)
                    .with_color(self.style.color),
            )
            .with_code(format!("{}/{}", d.code.code(), d.code.name()))
            .with_message(&d.message);
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
        for (i, (at, message)) in labels.into_iter().enumerate() {
            report = report.with_label(Label::new(at).with_message(message).with_order(i as i32));
        }
        if let Some(help) = &d.help {
            report = report.with_help(help);
        }
        let mut out = Vec::new();
        if report.finish().write(&mut self.files, &mut out).is_err() {
            return format!("{}[{}]: {}\n", kind_word(d), d.code.code(), d.message);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// One diagnostic as a JSON object (the fields of `hivec check --format json`).
    pub fn json(&mut self, d: &Diagnostic<Loc>) -> serde_json::Value {
        let db = self.files.db;
        let mut place = |l: &Loc| {
            let text = l.file.text(db);
            let lines = self
                .lines
                .entry(l.file)
                .or_insert_with(|| LineIndex::new(text));
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

fn kind_word(d: &Diagnostic<Loc>) -> &'static str {
    match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

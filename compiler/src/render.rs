//! Diagnostics for people (ariadne) and for tools (JSON lines). Pure: returns text.

use crate::db::{Db, Loc};
use crate::diagnostic::{Diagnostic, Severity};
use ariadne::{Config, IndexType, Label, Report, ReportKind};
use serde_json::json;
use std::ops::Range;

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours.
    pub color: bool,
}

/// Renders one diagnostic as a person reads it, with the source lines it points at.
pub fn human(db: &dyn Db, d: &Diagnostic<Loc>, style: Style) -> String {
    let kind = match d.severity() {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
    };
    let id = |l: &Loc| l.file.path(db).display().to_string();
    let range = |l: &Loc| -> Range<usize> {
        let s = l.absolute(db);
        s.start as usize..s.end as usize
    };
    let primary = (id(&d.at), range(&d.at));
    let mut report = Report::build(kind, primary.clone())
        .with_config(
            Config::default()
                .with_index_type(IndexType::Byte)
                .with_color(style.color),
        )
        .with_code(format!("{}/{}", d.code.code(), d.code.name()))
        .with_message(&d.message);
    if !d.label.is_empty() {
        report = report.with_label(Label::new(primary).with_message(&d.label).with_order(0));
    }
    for (i, l) in d.labels.iter().enumerate() {
        report = report.with_label(
            Label::new((id(&l.at), range(&l.at)))
                .with_message(&l.message)
                .with_order(i as i32 + 1),
        );
    }
    if let Some(help) = &d.help {
        report = report.with_help(help);
    }
    let mut sources = vec![(id(&d.at), d.at.file.text(db).clone())];
    for l in &d.labels {
        if !sources.iter().any(|(p, _)| *p == id(&l.at)) {
            sources.push((id(&l.at), l.at.file.text(db).clone()));
        }
    }
    let mut out = Vec::new();
    if report
        .finish()
        .write(ariadne::sources(sources), &mut out)
        .is_err()
    {
        return format!("{}[{}]: {}\n", kind_word(d), d.code.code(), d.message);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn kind_word(d: &Diagnostic<Loc>) -> &'static str {
    match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: u32) -> (usize, usize) {
    let offset = (offset as usize).min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One diagnostic as a JSON object (the fields of `hivec check --format json`).
pub fn json(db: &dyn Db, d: &Diagnostic<Loc>) -> serde_json::Value {
    let place = |l: &Loc| {
        let text = l.file.text(db);
        let span = l.absolute(db);
        let (line, column) = line_col(text, span.start);
        let (end_line, end_column) = line_col(text, span.end);
        (
            l.file.path(db).display().to_string(),
            line,
            column,
            end_line,
            end_column,
        )
    };
    let (file, line, column, end_line, end_column) = place(&d.at);
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
        "labels": d.labels.iter().map(|l| {
            let (file, line, column, end_line, end_column) = place(&l.at);
            json!({ "message": l.message, "file": file, "line": line, "column": column, "end_line": end_line, "end_column": end_column })
        }).collect::<Vec<_>>(),
        "help": d.help,
    });
    if let Some(fix) = &d.fix {
        let (file, line, column, end_line, end_column) = place(&fix.at);
        out["fix"] = json!({ "replacement": fix.replacement, "file": file, "line": line, "column": column, "end_line": end_line, "end_column": end_column });
    }
    out
}

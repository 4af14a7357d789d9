//! `hivec fmt`: one canonical layout for `.hive` files.
//!
//! Invariant: formatting never changes what a file means. Only files that parse without errors
//! are formatted, and the result is re-parsed and compared with the original (the syntax trees
//! without their spans, and every comment in order) before it is handed out.

mod layout;
pub use hive_syntax::lex;

use crate::diagnostic::Diagnostic;
use crate::syntax::{self, Span};
use lex::Kind;

/// Why a file was not formatted.
#[derive(Debug)]
pub enum FormatError {
    /// The file has syntax errors; they are returned so the caller can show them.
    Syntax(Vec<Diagnostic<Span>>),
    /// The layout would have changed the file's meaning (a formatter bug); the file is left
    /// as it was.
    Changed(String),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Syntax(d) => write!(
                f,
                "the file has {} syntax error{}; fix {} first",
                d.len(),
                if d.len() == 1 { "" } else { "s" },
                if d.len() == 1 { "it" } else { "them" }
            ),
            FormatError::Changed(what) => write!(
                f,
                "formatting would change the file ({what}); it was left unchanged"
            ),
        }
    }
}

/// The canonical layout of `text`.
pub fn format(text: &str) -> Result<String, FormatError> {
    let before = syntax::parse(text);
    if !before.diagnostics.is_empty() {
        return Err(FormatError::Syntax(before.diagnostics));
    }
    let tokens = lex::tokens(text)
        .map_err(|at| FormatError::Changed(format!("cannot read the token at byte {at}")))?;
    let out = layout::layout(&tokens);
    let after = syntax::parse(&out);
    if let Some(d) = after.diagnostics.first() {
        return Err(FormatError::Changed(format!(
            "the result has an error: {}",
            d.message
        )));
    }
    if shape(&before.items) != shape(&after.items) {
        return Err(FormatError::Changed("the syntax tree differs".into()));
    }
    let comments = |tokens: &[lex::Token]| -> Vec<String> {
        tokens
            .iter()
            .filter(|t| matches!(t.kind, Kind::LineComment | Kind::BlockComment))
            .map(|t| t.text.to_string())
            .collect()
    };
    let relexed = lex::tokens(&out).unwrap_or_default();
    if comments(&tokens) != comments(&relexed) {
        return Err(FormatError::Changed("a comment moved or changed".into()));
    }
    Ok(out)
}

/// The syntax tree as text with every span left out, so two layouts of one file compare equal.
pub(crate) fn shape(items: &[std::sync::Arc<syntax::ast::Item>]) -> String {
    syntax::without_spans(|| format!("{items:?}"))
}

#[cfg(test)]
mod tests {
    use super::format;

    fn fmt(src: &str) -> String {
        format(src).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn spacing_indentation_and_commas() {
        let src = "agent a{exec:\"x\",replicas:1..4,\n  tags:[ \"a\",\"b\", ],\n}\n";
        assert_eq!(
            fmt(src),
            "agent a { exec: \"x\", replicas: 1..4\n  tags: [\"a\", \"b\"]\n}\n"
        );
    }

    #[test]
    fn types_unary_and_continuations() {
        let src = "workflow w(xs:list<int>?,n:int=-1)->map<list<string>>{\nstep a=f(x:-n*2,y:xs??[])\nwith{retry:3}\noutput a.b  // done\n}";
        assert_eq!(
            fmt(src),
            "workflow w(xs: list<int>?, n: int = -1) -> map<list<string>> {\n  step a = f(x: -n * 2, y: xs ?? [])\n    with { retry: 3 }\n  output a.b // done\n}\n"
        );
    }

    #[test]
    fn a_comma_before_a_line_that_could_continue_stays() {
        let src = "const xs: list<int> = [\n1,\n-2,\n3,\n]\n";
        assert_eq!(fmt(src), "const xs: list<int> = [\n  1,\n  -2\n  3\n]\n");
    }

    #[test]
    fn blank_lines_between_items_and_none_inside_brackets() {
        let src = "\n\nagent a {\n\n  exec: \"x\"\n\n\n  replicas: 2\n\n}\nagent b { exec: \"y\" }\n\n\n\ncapability c() -> int";
        assert_eq!(
            fmt(src),
            "agent a {\n  exec: \"x\"\n\n  replicas: 2\n}\n\nagent b { exec: \"y\" }\n\ncapability c() -> int\n"
        );
    }

    #[test]
    fn refuses_files_with_syntax_errors() {
        assert!(matches!(
            format("agent a {"),
            Err(super::FormatError::Syntax(_))
        ));
    }
}

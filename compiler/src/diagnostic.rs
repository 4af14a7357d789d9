//! Diagnostics: the one shape every phase reports problems in.
//!
//! A diagnostic is generic over its location so the syntax layer can report plain file spans
//! while the checker reports item-anchored locations (see [`crate::db::Loc`]).

use crate::codes::Code;
use serde::Serialize;

/// Error or warning; derived from the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fails `hivec check`.
    Error,
    /// Reported, but the file is usable.
    Warning,
}

/// A secondary place with its message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label<L> {
    /// Where.
    pub at: L,
    /// What it has to do with the problem.
    pub message: String,
}

/// A fix a tool can apply as it is: the text at `at` replaced by `replacement`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fix<L> {
    /// The text to replace.
    pub at: L,
    /// What to write there.
    pub replacement: String,
}

/// One problem found in the source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic<L> {
    /// Stable code; also gives the severity and the long explanation.
    pub code: Code,
    /// One-line summary.
    pub message: String,
    /// The primary place.
    pub at: L,
    /// Text under the primary place.
    pub label: String,
    /// Related places.
    pub labels: Vec<Label<L>>,
    /// How to fix it, when known.
    pub help: Option<String>,
    /// The edit that fixes it, when it can be applied as it is (editors offer it as a quick
    /// fix; `--format json` gives it).
    pub fix: Option<Fix<L>>,
}

impl<L> Diagnostic<L> {
    /// A diagnostic at `at`, labelled with `label`.
    pub fn new(code: Code, at: L, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            at,
            label: label.into(),
            labels: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// Adds a related place.
    pub fn with_label(mut self, at: L, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            at,
            message: message.into(),
        });
        self
    }

    /// Adds the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds the fix when there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Adds the edit that fixes it: `replacement` for the text at `at`.
    pub fn with_fix(mut self, at: L, replacement: impl Into<String>) -> Self {
        self.fix = Some(Fix {
            at,
            replacement: replacement.into(),
        });
        self
    }

    /// Error or warning.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// The same diagnostic with every location converted.
    pub fn map_loc<M>(self, mut f: impl FnMut(L) -> M) -> Diagnostic<M> {
        Diagnostic {
            code: self.code,
            message: self.message,
            at: f(self.at),
            label: self.label,
            labels: self
                .labels
                .into_iter()
                .map(|l| Label {
                    at: f(l.at),
                    message: l.message,
                })
                .collect(),
            help: self.help,
            fix: self.fix.map(|x| Fix {
                at: f(x.at),
                replacement: x.replacement,
            }),
        }
    }
}

/// `did you mean `x`?` for the candidate closest to `name`, if any is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1) + usize::from(name.len() > 8);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= limit || c.eq_ignore_ascii_case(name))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

//! Diagnostics: the one shape every phase reports problems in.
//!
//! A diagnostic is generic over its location so the syntax layer can report plain file spans
//! while the checker reports item-anchored locations (the compiler's `db::Loc`).

use crate::codes::Code;
use serde::Serialize;
use std::sync::Arc;

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

/// A "did you mean" not worked out yet: the name written (at the diagnostic's primary place)
/// and the names it may have meant. Comparing a name with every name in scope costs as much as
/// the scope is large, for every unknown name, so it is done only for the diagnostics shown
/// ([`Diagnostic::suggest`]).
#[derive(Clone, Debug)]
pub struct Suggestion {
    /// The name written.
    pub name: String,
    /// Lists of the names it may have meant, shared with the other suggestions of a scope.
    pub among: Vec<Arc<[String]>>,
}

// Two diagnostics are the same whichever lists their suggestions are drawn from.
impl PartialEq for Suggestion {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Suggestion {}

impl std::hash::Hash for Suggestion {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
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
    /// A "did you mean" to work out into `help` when the diagnostic is shown.
    pub suggestion: Option<Suggestion>,
    /// For the diagnostic that stands for those of a file not shown (too-many-errors,
    /// too-many-warnings): how many errors and warnings it stands for.
    pub left_out: Option<(usize, usize)>,
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
            suggestion: None,
            left_out: None,
            fix: None,
        }
    }

    /// `what` written twice (`field \`x\``, `\`timeout\``): "… is {done} twice" at the
    /// second place, "first {done} here" at the first when it is known.
    pub fn twice(what: impl std::fmt::Display, done: &str, again: L, first: Option<L>) -> Self {
        let d = Diagnostic::new(
            Code::DuplicateEntry,
            again,
            format!("{what} is {done} twice"),
            format!("{done} again here"),
        );
        match first {
            Some(at) => d.with_label(at, format!("first {done} here")),
            None => d,
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

    /// Adds `help` unless it already has one (a "did you mean", say).
    pub fn or_help(mut self, help: impl Into<String>) -> Self {
        if self.help.is_none() {
            self.help = Some(help.into());
        }
        self
    }

    /// Adds "did you mean `x`?" for the candidate closest to `written`, when one is close
    /// enough, with the fix that writes it at the primary place, where `written` is.
    pub fn with_did_you_mean<'a>(
        self,
        written: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self
    where
        L: Clone,
    {
        match closest(written, candidates) {
            Some(near) => {
                let at = self.at.clone();
                self.with_help(did_you_mean_text(near)).with_fix(at, near)
            }
            None => self,
        }
    }

    /// Adds a "did you mean" for `name` (written at the primary place) among `among`, worked
    /// out by [`Diagnostic::suggest`].
    pub fn with_suggestion(mut self, name: impl Into<String>, among: Vec<Arc<[String]>>) -> Self {
        self.suggestion = Some(Suggestion {
            name: name.into(),
            among,
        });
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

    /// Works the suggestion out: `help` names the closest name, if one is close enough, and
    /// the fix writes it at the primary place.
    pub fn suggest(&mut self)
    where
        L: Clone,
    {
        if let Some(s) = self.suggestion.take() {
            let names = s.among.iter().flat_map(|l| l.iter().map(String::as_str));
            if let Some(near) = closest(&s.name, names) {
                self.help = Some(did_you_mean_text(near));
                self.fix = Some(Fix {
                    at: self.at.clone(),
                    replacement: near.to_string(),
                });
            }
        }
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
            suggestion: self.suggestion,
            left_out: self.left_out,
            fix: self.fix.map(|x| Fix {
                at: f(x.at),
                replacement: x.replacement,
            }),
        }
    }
}

/// The help that names the name meant: `did you mean `x`?`.
fn did_you_mean_text(near: &str) -> String {
    format!("did you mean `{near}`?")
}

/// Names longer than this are not compared: the edit distance costs the product of the two
/// lengths, and a name this long is rarely a typo of another.
const MAX_COMPARED_LEN: usize = 100;

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    if len > MAX_COMPARED_LEN {
        return None;
    }
    let limit = (len / 3).max(1) + usize::from(name.len() > 8);
    // The distance is at least the difference in length; a case-insensitive match has the
    // same length.
    candidates
        .into_iter()
        .filter(|c| *c != name && c.chars().count().abs_diff(len) <= limit)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= limit || c.eq_ignore_ascii_case(name))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

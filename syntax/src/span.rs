//! Byte ranges into source text.

use serde::Serialize;

/// A half-open byte range. Inside an item's syntax tree it is relative to the start of the
/// item, so moving an item within its file leaves its tree unchanged (and the checks that read
/// it are not re-run); everywhere else it is relative to the start of the file.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: u32, end: u32) -> Self {
        Span { start, end }
    }

    /// The smallest range covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// This range moved `by` bytes to the right.
    pub fn shift(self, by: u32) -> Span {
        Span::new(self.start + by, self.end + by)
    }

    /// Whether the range is empty.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

thread_local! {
    /// Set while [`without_spans`] runs.
    static HIDDEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with spans written as `_` by `Debug`: the formatter compares two syntax trees by
/// their `Debug` text, positions aside, without writing and then cutting out every position.
pub fn without_spans<R>(f: impl FnOnce() -> R) -> R {
    let before = HIDDEN.replace(true);
    let out = f();
    HIDDEN.set(before);
    out
}

impl std::fmt::Debug for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if HIDDEN.get() {
            return f.write_str("_");
        }
        f.debug_struct("Span")
            .field("start", &self.start)
            .field("end", &self.end)
            .finish()
    }
}

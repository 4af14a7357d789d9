//! Long lines shown as windows around what a diagnostic points at. A generated file may hold
//! megabytes on one line; a snippet printing all of it would bury the message.

use crate::syntax::lines::LineIndex;
use std::ops::Range;

/// A line longer than this many bytes is shown cut down to windows around the points on it.
pub const LONG_LINE: usize = 240;
/// About how many bytes of a long line are shown on each side of a point.
const CONTEXT: usize = 40;
/// Windows closer than this are shown as one, since an ellipsis between them saves nothing.
const JOIN: usize = 8;
/// What stands for the text left out.
const ELLIPSIS: &str = "…";

/// The lines of `text` (indexed by `lines`) longer than [`LONG_LINE`] bytes, in order.
pub fn long_lines(text: &str, lines: &LineIndex) -> Vec<Range<usize>> {
    lines.ranges(text).filter(|r| r.len() > LONG_LINE).collect()
}

/// A file's text as one diagnostic shows it: each line longer than [`LONG_LINE`] bytes is cut
/// to windows around the diagnostic's points on it (a long line without any is one ellipsis),
/// everything else is kept as it is.
pub struct Shown {
    /// The text ariadne reads.
    pub text: String,
    /// The stretches of the file, in order.
    stretches: Vec<Stretch>,
}

/// A stretch of the file: its range there, where it starts in the shown text, and whether it
/// is shown as it is or as an ellipsis.
struct Stretch {
    file: Range<usize>,
    shown: usize,
    kept: bool,
}

impl Shown {
    /// `text`, whose long lines are `long` ([`long_lines`]), cut for a diagnostic pointing at
    /// byte offsets `points`; `None` when no point is on a long line, so that only such a
    /// diagnostic pays for a copy of the text.
    pub fn new(text: &str, long: &[Range<usize>], points: &[usize]) -> Option<Shown> {
        let on_long = |p: &usize| {
            let i = long.partition_point(|r| r.end < *p);
            long.get(i).is_some_and(|r| r.start <= *p)
        };
        if !points.iter().any(on_long) {
            return None;
        }
        let mut shown = Shown {
            text: String::with_capacity(text.len().min(1 << 20)),
            stretches: Vec::new(),
        };
        let mut at = 0;
        for line in long.iter().cloned() {
            shown.keep(text, at..line.start);
            let mut windows: Vec<Range<usize>> = Vec::new();
            let mut on_line: Vec<usize> = points
                .iter()
                .copied()
                .filter(|p| line.contains(p) || *p == line.end)
                .collect();
            on_line.sort_unstable();
            for p in on_line {
                let from = text.floor_char_boundary(p.saturating_sub(CONTEXT).max(line.start));
                let to = text.ceil_char_boundary((p + CONTEXT).min(line.end));
                match windows.last_mut() {
                    Some(last) if from <= last.end + JOIN => last.end = last.end.max(to),
                    _ => windows.push(from..to),
                }
            }
            let mut cursor = line.start;
            for w in windows {
                shown.leave_out(cursor..w.start);
                shown.keep(text, w.clone());
                cursor = w.end;
            }
            shown.leave_out(cursor..line.end);
            at = line.end;
        }
        shown.keep(text, at..text.len());
        Some(shown)
    }

    fn keep(&mut self, text: &str, range: Range<usize>) {
        self.push(range.clone(), true, &text[range]);
    }

    fn leave_out(&mut self, range: Range<usize>) {
        self.push(range, false, ELLIPSIS);
    }

    fn push(&mut self, file: Range<usize>, kept: bool, shown: &str) {
        if !file.is_empty() {
            self.stretches.push(Stretch {
                file,
                shown: self.text.len(),
                kept,
            });
            self.text.push_str(shown);
        }
    }

    /// Where byte `offset` of the file is in the shown text; an offset in text left out is
    /// its ellipsis.
    pub fn map(&self, offset: usize) -> usize {
        let i = self
            .stretches
            .partition_point(|s| s.file.start <= offset)
            .saturating_sub(1);
        match self.stretches.get(i) {
            Some(s) if s.kept => s.shown + (offset - s.file.start).min(s.file.len()),
            Some(s) => s.shown,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, points: &[usize]) -> Option<Shown> {
        let lines = LineIndex::new(text);
        Shown::new(text, &long_lines(text, &lines), points)
    }

    #[test]
    fn a_long_line_is_cut_around_each_point_and_offsets_follow() {
        let long = format!("{}é{}", "a".repeat(300), "b".repeat(300));
        let text = format!("short\n{long}\nend\n");
        let e = text.find('é').unwrap();
        let s = shown(&text, &[e]).unwrap();
        // The line keeps its place; around the `é` there is text, the rest is ellipses.
        let lines: Vec<&str> = s.text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "short");
        assert_eq!(lines[2], "end");
        assert!(lines[1].starts_with('…') && lines[1].ends_with('…'));
        assert!(lines[1].len() < 2 * CONTEXT + 10, "{}", lines[1]);
        assert_eq!(&s.text[s.map(e)..s.map(e) + 2], "é");
        // A point past the cut line is moved by what was left out before it.
        let end = text.find("end").unwrap();
        assert_eq!(&s.text[s.map(end)..s.map(end) + 3], "end");
        // Text left out maps to its ellipsis, at a character boundary.
        assert_eq!(&s.text[s.map(7)..s.map(7) + ELLIPSIS.len()], ELLIPSIS);
    }

    #[test]
    fn far_points_on_one_line_get_windows_of_their_own() {
        let text = format!(
            "{}x{}y{}",
            "a".repeat(100),
            "b".repeat(1000),
            "c".repeat(100)
        );
        let (x, y) = (text.find('x').unwrap(), text.find('y').unwrap());
        let s = shown(&text, &[x, y]).unwrap();
        assert_eq!(s.text.matches('…').count(), 3, "{}", s.text);
        assert_eq!(&s.text[s.map(x)..=s.map(x)], "x");
        assert_eq!(&s.text[s.map(y)..=s.map(y)], "y");
    }

    #[test]
    fn nothing_is_cut_without_a_point_on_a_long_line() {
        let text = format!("short\n{}\n", "a".repeat(1000));
        assert!(shown(&text, &[2]).is_none());
        assert!(shown("short\nlines\n", &[2]).is_none());
    }

    #[test]
    fn windows_end_on_character_boundaries() {
        let text = "é".repeat(400);
        let s = shown(&text, &[400]).unwrap();
        assert!(s.text.trim_matches('…').chars().all(|c| c == 'é'));
    }
}

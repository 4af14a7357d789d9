//! The one line index: byte offsets to lines and columns and back, for rendered diagnostics
//! (columns in characters), plan locations, and the editor protocol (columns in UTF-16 units).

/// Where each line of a text starts. It holds no text: a caller keeps the text it indexed and
/// passes it back, so one index can be cached beside a text owned elsewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// The byte range of each line of `text`, without its line feed.
    pub fn ranges<'t>(
        &'t self,
        text: &'t str,
    ) -> impl Iterator<Item = std::ops::Range<usize>> + 't {
        self.starts.iter().enumerate().map(move |(i, &start)| {
            let end = self.starts.get(i + 1).map_or(text.len(), |next| next - 1);
            start..end.max(start)
        })
    }

    /// The 0-based line holding byte `offset` (clamped to the text) and that line's start.
    fn line_of(&self, text: &str, offset: u32) -> (usize, usize) {
        let mut offset = (offset as usize).min(text.len());
        // An offset inside a character stands for the end of the text.
        if !text.is_char_boundary(offset) {
            offset = text.len();
        }
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        (line, offset)
    }

    /// 1-based line and column (in characters) of byte `offset` in `text`.
    pub fn line_col(&self, text: &str, offset: u32) -> (usize, usize) {
        let (line, offset) = self.line_of(text, offset);
        let start = self.starts[line];
        let column = text.get(start..offset).map_or(0, |t| t.chars().count());
        (line + 1, column + 1)
    }

    /// 0-based line and column (in UTF-16 code units) of byte `offset` in `text`.
    pub fn utf16(&self, text: &str, offset: u32) -> (u32, u32) {
        let (line, offset) = self.line_of(text, offset);
        let start = self.starts[line];
        let column: usize = text
            .get(start..offset)
            .map_or(0, |t| t.chars().map(char::len_utf16).sum());
        (line as u32, column as u32)
    }

    /// The byte offset of 0-based `line` and UTF-16 `column`, clamped to the line and the text.
    pub fn offset_of_utf16(&self, text: &str, line: u32, column: u32) -> u32 {
        let Some(start) = self.starts.get(line as usize).copied() else {
            return text.len() as u32;
        };
        let end = self
            .starts
            .get(line as usize + 1)
            .map_or(text.len(), |e| e - 1);
        let mut units = 0;
        for (i, c) in text[start..end].char_indices() {
            if units >= column as usize {
                return (start + i) as u32;
            }
            units += c.len_utf16();
        }
        end as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_or_utf16_units() {
        let text = "ab\né𝄞x\n";
        let lines = LineIndex::new(text);
        let x = text.find('x').unwrap() as u32;
        assert_eq!(lines.line_col(text, x), (2, 3));
        assert_eq!(lines.utf16(text, x), (1, 3));
        assert_eq!(lines.offset_of_utf16(text, 1, 3), x);
        assert_eq!(lines.offset_of_utf16(text, 9, 0), text.len() as u32);
        // Past the end, and inside a character, is the end of the text.
        assert_eq!(lines.line_col(text, 999), (3, 1));
        assert_eq!(lines.line_col(text, 4), (3, 1));
    }
}

//! The formatter's tokens: the source cut into words, literals, operators and comments, each
//! with the number of line breaks before it. Strings and block comments stay whole and verbatim.

/// What a token is, as far as spacing and line layout care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A name or keyword.
    Word,
    /// A number, duration or size.
    Number,
    /// A string literal with its interpolations.
    Str,
    /// `// …` or `/// …`.
    LineComment,
    /// `/* … */`, possibly nested and over several lines.
    BlockComment,
    /// Brackets, separators and operators.
    Punct,
}

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// Its kind.
    pub kind: Kind,
    /// Its text (line comments without trailing blanks).
    pub text: &'a str,
    /// Line breaks between the previous token and this one.
    pub breaks: u32,
}

/// Operators, longest first so that `->` wins over `-`.
const PUNCT: [&str; 28] = [
    "->", "..", "==", "!=", "<=", ">=", "&&", "||", "??", "{", "}", "(", ")", "[", "]", ",", ":",
    "=", "?", ".", "+", "-", "*", "/", "%", "<", ">", "!",
];

/// Cuts `text` into tokens; `Err(offset)` at a character no token starts with or at an
/// unterminated string or comment.
pub fn tokens(text: &str) -> Result<Vec<Token<'_>>, usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut breaks = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            breaks += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let kind = if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            Kind::LineComment
        } else if text[i..].starts_with("/*") {
            i = block_comment_end(text, i).ok_or(start)?;
            Kind::BlockComment
        } else if c == b'"' {
            i = string_end(text, i).ok_or(start)?;
            Kind::Str
        } else if c.is_ascii_digit() {
            i = number_end(bytes, i);
            Kind::Number
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Word
        } else if let Some(p) = PUNCT.iter().find(|p| text[i..].starts_with(**p)) {
            i += p.len();
            Kind::Punct
        } else {
            return Err(start);
        };
        let mut slice = &text[start..i];
        if kind == Kind::LineComment {
            slice = slice.trim_end();
        }
        out.push(Token {
            kind,
            text: slice,
            breaks,
        });
        breaks = 0;
    }
    Ok(out)
}

/// Digits with `_`, an optional fraction (a `.` followed by a digit, so `1..4` is a range),
/// an optional exponent, and a unit suffix (`ms`, `s`, `mb`…).
fn number_end(bytes: &[u8], mut i: usize) -> usize {
    let digits = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
    };
    digits(&mut i);
    if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
        i += 1;
        digits(&mut i);
    }
    // Exponent and unit suffixes are letters; take the whole alphanumeric tail.
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        if matches!(bytes[i], b'e' | b'E')
            && i + 1 < bytes.len()
            && matches!(bytes[i + 1], b'+' | b'-')
        {
            i += 1;
        }
        i += 1;
    }
    i
}

/// The end of a nested `/* … */` comment starting at `i`.
fn block_comment_end(text: &str, mut i: usize) -> Option<usize> {
    let mut depth = 0;
    while i < text.len() {
        if text[i..].starts_with("/*") {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with("*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// The end of the string literal starting at `i`, including interpolated expressions (which
/// may hold strings and braces of their own).
fn string_end(text: &str, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            b'\n' => return None,
            b'$' if bytes.get(j + 1) == Some(&b'{') => {
                j += 2;
                let mut depth = 1;
                while depth > 0 {
                    match *bytes.get(j)? {
                        b'{' => depth += 1,
                        b'}' => depth -= 1,
                        b'"' => {
                            j = string_end(text, j)? - 1;
                        }
                        b'\n' => return None,
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        tokens(src).unwrap().iter().map(|t| t.text).collect()
    }

    #[test]
    fn ranges_durations_and_arrows() {
        assert_eq!(
            texts("1..4 1.5m 2e-3 -> a.b"),
            [
                "1..4".get(0..1).unwrap(),
                "..",
                "4",
                "1.5m",
                "2e-3",
                "->",
                "a",
                ".",
                "b"
            ]
        );
    }

    #[test]
    fn strings_keep_interpolations_whole() {
        assert_eq!(
            texts(r#"x = "a ${f("}")} b" y"#),
            ["x", "=", r#""a ${f("}")} b""#, "y"]
        );
    }

    #[test]
    fn comments_and_breaks() {
        let t = tokens("a // c  \n\n/* x /* y */ */ b").unwrap();
        assert_eq!(t[1].text, "// c");
        assert_eq!(t[2].breaks, 2);
        assert_eq!(t[2].kind, Kind::BlockComment);
        assert!(tokens("\"open").is_err());
        assert_eq!(tokens("a @ b"), Err(2));
    }
}

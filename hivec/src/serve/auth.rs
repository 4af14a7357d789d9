//! Bearer tokens: read from `--tokens`, compared in constant time, known to the log only by
//! their names.

use subtle::ConstantTimeEq;

/// The tokens of `--tokens`, each with the name the log shows instead of it.
pub struct Tokens {
    entries: Vec<(String, Vec<u8>)>,
}

impl Tokens {
    /// Reads `name token` lines; blank lines and lines starting with `#` are skipped. An
    /// error names the line, never its token.
    pub fn load(path: &std::path::Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the tokens {}: {e}", path.display()))?;
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(name), Some(token), None) => {
                    entries.push((name.to_string(), token.as_bytes().to_vec()));
                }
                _ => {
                    return Err(format!(
                        "{}:{}: a line of the tokens is `name token` (two words)",
                        path.display(),
                        i + 1
                    ));
                }
            }
        }
        if entries.is_empty() {
            return Err(format!(
                "{} has no tokens: write one `name token` per line",
                path.display()
            ));
        }
        Ok(Tokens { entries })
    }

    /// The name of the token `given`, if it is one. Every token is compared, each in
    /// constant time, so the time taken says nothing of which one matched or how much of it.
    pub fn name_of(&self, given: &[u8]) -> Option<&str> {
        let mut found = None;
        for (name, token) in &self.entries {
            if bool::from(token.as_slice().ct_eq(given)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

/// The token of an `Authorization: Bearer TOKEN` header value.
pub fn bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn the_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"abc"), None);
    }
}

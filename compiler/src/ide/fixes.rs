//! Quick fixes: a diagnostic whose help line is "did you mean `x`?" and whose primary span
//! covers the misspelled name can be fixed by writing `x` there.

/// The replacement for the text `written` at a diagnostic's primary span, given its help line.
pub fn did_you_mean_fix(written: &str, help: &str) -> Option<String> {
    let rest = help.strip_prefix("did you mean `")?;
    let name = rest.strip_suffix("`?")?;
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    (is_name(written) && is_name(name) && written != name).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::did_you_mean_fix;

    #[test]
    fn only_names_are_replaced() {
        assert_eq!(
            did_you_mean_fix("reviwer", "did you mean `reviewer`?").as_deref(),
            Some("reviewer")
        );
        assert_eq!(did_you_mean_fix("a b", "did you mean `ab`?"), None);
        assert_eq!(did_you_mean_fix("x", "allowed here: a, b"), None);
    }
}

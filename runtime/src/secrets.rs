//! Values read with `env()`: whatever prints or records text for a person (errors, logs,
//! traces, summaries, progress) masks them as `***`, also inside longer strings.
//!
//! Invariant: a value is registered before it can reach any text: `env()` registers what it
//! reads as it reads it.

use std::borrow::Cow;
use std::sync::RwLock;

/// Values shorter than this are not masked: masking `1` or `on` would garble every line
/// without hiding anything worth hiding.
const SHORTEST: usize = 4;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Masks `value` from now on.
pub fn register(value: &str) {
    if value.len() < SHORTEST {
        return;
    }
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|s| s == value) {
        secrets.push(value.to_string());
        // Longest first, so that a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered value replaced by `***`.
pub fn mask(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in secrets.iter() {
        out = out.replace(s.as_str(), "***");
    }
    Cow::Owned(out)
}

/// Masks every string inside `value` (a trace, say) in place.
pub fn mask_value(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Cow::Owned(masked) = mask(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_value),
        Value::Object(fields) => fields.values_mut().for_each(mask_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_masked_inside_longer_text() {
        register("hunter2-hunter2");
        register("no");
        assert_eq!(
            mask("password=hunter2-hunter2; ok=no"),
            "password=***; ok=no"
        );
        assert!(matches!(mask("nothing here"), Cow::Borrowed(_)));
    }
}

//! A step's named arguments. A step has a few, so they are one sorted vector: a `BTreeMap`
//! allocates room for eleven entries for the first, which a plan of thousands of steps pays
//! in memory touched.

use crate::Expr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Named arguments in name order, each name once; written in a plan as a JSON object.
#[derive(Clone, Default, PartialEq)]
pub struct Args(Vec<(String, Expr)>);

impl Args {
    /// The argument named `name`.
    pub fn get(&self, name: &str) -> Option<&Expr> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// Whether an argument is named `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets argument `name`, returning the value it replaces.
    pub fn insert(&mut self, name: String, value: Expr) -> Option<Expr> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// The arguments in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Expr)> {
        self.0.iter().map(|(name, value)| (name, value))
    }

    /// The names in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(name, _)| name)
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }
}

/// Sorted by name; of a name given twice the last value is kept, as a map would.
impl From<Vec<(String, Expr)>> for Args {
    fn from(mut list: Vec<(String, Expr)>) -> Self {
        // Stable, so that equal names stay in the order given; the kept first of each takes
        // the last one's value.
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Args(list)
    }
}

/// The argument named `name`; panics without one, as a map's index does.
impl std::ops::Index<&str> for Args {
    type Output = Expr;

    fn index(&self, name: &str) -> &Expr {
        self.get(name)
            .unwrap_or_else(|| panic!("no argument named `{name}`"))
    }
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Expr>::deserialize(deserializer)?;
        Ok(Args(map.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: i64) -> Expr {
        Expr::value(v)
    }

    #[test]
    fn keeps_names_sorted_and_the_last_of_a_repeated_one() {
        let args = Args::from(vec![
            ("b".to_string(), value(1)),
            ("a".to_string(), value(2)),
            ("b".to_string(), value(3)),
        ]);
        let names: Vec<&String> = args.keys().collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(args.get("b"), Some(&value(3)));
        assert_eq!(args.get("c"), None);
    }

    #[test]
    fn insert_replaces_or_places_in_order() {
        let mut args = Args::from(vec![("m".to_string(), value(1))]);
        assert_eq!(args.insert("a".into(), value(2)), None);
        assert_eq!(args.insert("z".into(), value(3)), None);
        assert_eq!(args.insert("m".into(), value(4)), Some(value(1)));
        let pairs: Vec<(&String, &Expr)> = args.iter().collect();
        assert_eq!(
            pairs,
            [
                (&"a".to_string(), &value(2)),
                (&"m".to_string(), &value(4)),
                (&"z".to_string(), &value(3))
            ]
        );
    }

    #[test]
    fn is_written_and_read_as_a_json_object_in_name_order() {
        let args = Args::from(vec![
            ("value".to_string(), value(1)),
            ("command".to_string(), value(2)),
        ]);
        let text = serde_json::to_string(&args).unwrap();
        assert_eq!(
            text,
            r#"{"command":{"op":"value","value":2},"value":{"op":"value","value":1}}"#
        );
        let back: Args = serde_json::from_str(&text).unwrap();
        assert_eq!(back, args);
        assert!(serde_json::from_str::<Args>("[1]").is_err());
    }
}

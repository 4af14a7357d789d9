//! The built-in functions: one table of what the checker, completion, lowering and the runtime
//! know of each, so that a function is named, counted and described in one place.
//!
//! Each function's entry is a `match` arm on [`Function`], so a function added to the enum
//! and not to the table (or to the checker, which matches on it too) does not compile.

use serde::{Deserialize, Serialize};

macro_rules! functions {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// The pure functions of the standard library.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Function {
            $(#[doc = concat!("`", $name, "`")] $variant,)*
        }

        impl Function {
            /// Every function.
            pub const ALL: &[Function] = &[$(Function::$variant),*];

            /// The function called `name`, whether or not it may be written.
            pub fn parse(name: &str) -> Option<Function> {
                match name {
                    $($name => Some(Function::$variant),)*
                    _ => None,
                }
            }

            /// Its name as written.
            pub fn name(self) -> &'static str {
                match self {
                    $(Function::$variant => $name,)*
                }
            }
        }
    };
}

functions! {
    Len = "len",
    Upper = "upper",
    Lower = "lower",
    Trim = "trim",
    Split = "split",
    Join = "join",
    Contains = "contains",
    StartsWith = "starts_with",
    EndsWith = "ends_with",
    Replace = "replace",
    Keys = "keys",
    Values = "values",
    Range = "range",
    Min = "min",
    Max = "max",
    Sum = "sum",
    Abs = "abs",
    Round = "round",
    ToString = "to_string",
    ParseInt = "parse_int",
    ParseFloat = "parse_float",
    ParseJson = "parse_json",
    ToJson = "to_json",
    Env = "env",
    // Not callable in `.hive`: the lowering wraps `${…}` of a duration or a size in them,
    // so that the text reads `1.5s` or `2mb` rather than a count of milliseconds or bytes.
    DurationText = "duration_text",
    SizeText = "size_text",
}

/// How many arguments a function takes (always by position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// One or two: `range(end)`, `range(start, end)`.
    OneOrTwo,
    /// One list, or two values: `min(xs)`, `min(a, b)`.
    ListOrTwo,
}

impl Arity {
    /// Whether a call may have `n` arguments.
    pub fn allows(self, n: usize) -> bool {
        self.counts().contains(&n)
    }

    /// The numbers of arguments a call may have.
    pub fn counts(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Arity::Exactly(n) => n..=n,
            Arity::OneOrTwo | Arity::ListOrTwo => 1..=2,
        }
    }

    /// As messages say it: `1 argument`, `1 or 2 arguments`.
    pub fn describe(self) -> String {
        match self {
            Arity::Exactly(1) => "1 argument".to_string(),
            Arity::Exactly(n) => format!("{n} arguments"),
            Arity::OneOrTwo => "1 or 2 arguments".to_string(),
            Arity::ListOrTwo => "1 list or 2 arguments".to_string(),
        }
    }
}

/// What is known of a built-in function besides its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// Its parameters as the language reference writes them: `s, sep`.
    pub params: &'static str,
    /// How many arguments it takes.
    pub arity: Arity,
    /// Whether a `.hive` file may call it (the lowering's own functions may not).
    pub written: bool,
    /// Whether a constant may call it: its value depends on its arguments alone.
    pub in_constants: bool,
    /// What it gives, in one line.
    pub doc: &'static str,
}

impl Function {
    /// Its entry in the table.
    pub fn builtin(self) -> Builtin {
        use Arity::*;
        let (params, arity, doc) = match self {
            Function::Len => (
                "x",
                Exactly(1),
                "the characters, elements or entries of `x`",
            ),
            Function::Upper => ("s", Exactly(1), "`s` in upper case"),
            Function::Lower => ("s", Exactly(1), "`s` in lower case"),
            Function::Trim => (
                "s",
                Exactly(1),
                "`s` without leading and trailing whitespace",
            ),
            Function::Split => (
                "s, sep",
                Exactly(2),
                "the parts of `s` between occurrences of `sep`",
            ),
            Function::Join => ("items, sep", Exactly(2), "the items separated by `sep`"),
            Function::Contains => (
                "x, y",
                Exactly(2),
                "whether `y` is a substring, element or key of `x`",
            ),
            Function::StartsWith => ("s, p", Exactly(2), "whether `s` begins with `p`"),
            Function::EndsWith => ("s, p", Exactly(2), "whether `s` ends with `p`"),
            Function::Replace => (
                "s, from, to",
                Exactly(3),
                "`s` with every occurrence of `from` replaced by `to`",
            ),
            Function::Keys => ("m", Exactly(1), "the keys of map `m`, sorted"),
            Function::Values => (
                "m",
                Exactly(1),
                "the values of map `m`, in the order of its keys",
            ),
            Function::Range => ("start, end", OneOrTwo, "`start, start+1, …, end-1`"),
            Function::Min => (
                "a, b",
                ListOrTwo,
                "the smaller of two numbers, or the least of a list",
            ),
            Function::Max => (
                "a, b",
                ListOrTwo,
                "the larger of two numbers, or the greatest of a list",
            ),
            Function::Sum => ("xs", Exactly(1), "the total of a list (`0` when empty)"),
            Function::Abs => ("x", Exactly(1), "the absolute value of `x`"),
            Function::Round => (
                "x",
                Exactly(1),
                "the nearest integer, halves away from zero",
            ),
            Function::ToString => ("x", Exactly(1), "`x` as text, as in interpolation"),
            Function::ParseInt => ("s", Exactly(1), "the integer `s` writes, or `none`"),
            Function::ParseFloat => ("s", Exactly(1), "the number `s` writes, or `none`"),
            Function::ParseJson => ("s", Exactly(1), "the JSON value `s` writes, or `none`"),
            Function::ToJson => ("x", Exactly(1), "`x` as compact JSON text"),
            Function::Env => ("name", Exactly(1), "a variable of the caller's environment"),
            Function::DurationText => ("ms", Exactly(1), "a duration as written: `1.5s`"),
            Function::SizeText => ("bytes", Exactly(1), "a size as written: `2mb`"),
        };
        Builtin {
            params,
            arity,
            written: !matches!(self, Function::DurationText | Function::SizeText),
            // The environment is the caller's, known only when a run starts.
            in_constants: self != Function::Env,
            doc,
        }
    }

    /// The function a `.hive` file calls `name`, if there is one.
    pub fn written(name: &str) -> Option<Function> {
        Function::parse(name).filter(|f| f.builtin().written)
    }

    /// Every function a `.hive` file may call, in the table's order.
    pub fn all_written() -> impl Iterator<Item = Function> {
        Function::ALL
            .iter()
            .copied()
            .filter(|f| f.builtin().written)
    }

    /// How it is called: `split(s, sep)`.
    pub fn signature(self) -> String {
        format!("{}({})", self.name(), self.builtin().params)
    }
}

#[cfg(test)]
mod tests {
    use super::Function;

    /// A name is the serialised form of its function, so plans and the table agree.
    #[test]
    fn names_are_the_serialised_functions() {
        for f in Function::ALL {
            let json = serde_json::to_value(f).expect("serialises");
            assert_eq!(json, f.name(), "{f:?}");
            assert_eq!(Function::parse(f.name()), Some(*f));
        }
        assert_eq!(Function::written("duration_text"), None);
        assert_eq!(Function::written("len"), Some(Function::Len));
    }
}

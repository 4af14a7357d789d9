//! The expression IR: pure expressions with every name resolved.
//!
//! Values are JSON: durations are integer milliseconds, sizes integer bytes, enum values their
//! variant's name, `none` is `null`.

pub use crate::builtins::Function;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A pure expression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Expr {
    /// A value known when planning.
    Value {
        /// The value.
        value: Value,
    },
    /// A workflow parameter.
    Param {
        /// Its name.
        name: String,
    },
    /// A step's result, by index into the workflow's steps.
    Step {
        /// The index.
        step: usize,
    },
    /// The value of a shared state cell (`state.notes`), when the expression is evaluated.
    State {
        /// The cell, a key of [`crate::Plan::states`].
        cell: String,
    },
    /// A `for` variable, or a name the context provides (`input`, `priority` in routes).
    Local {
        /// Its name.
        name: String,
    },
    /// `of.field`
    Field {
        /// The record.
        of: Box<Expr>,
        /// The field.
        field: String,
    },
    /// `of[index]`
    Index {
        /// The list or map.
        of: Box<Expr>,
        /// The position or key.
        index: Box<Expr>,
    },
    /// `-x`, `!x`
    Unary {
        /// The operator.
        unary: UnaryOp,
        /// The operand.
        arg: Box<Expr>,
    },
    /// `a + b` and the other infix operators; `&&`, `||` and `??` evaluate `right` only if needed.
    Binary {
        /// The operator.
        binary: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// String interpolation: the parts as text, concatenated.
    Concat {
        /// The parts.
        parts: Vec<Expr>,
    },
    /// `[a, b]`
    List {
        /// Elements.
        items: Vec<Expr>,
    },
    /// A record; typed records have their defaults filled in.
    Record {
        /// Fields in order.
        fields: Vec<(String, Expr)>,
    },
    /// A pure function of the standard library.
    Call {
        /// The function.
        function: Function,
        /// Arguments in order.
        args: Vec<Expr>,
    },
}

impl Expr {
    /// A literal.
    pub fn value(value: impl Into<Value>) -> Expr {
        Expr::Value {
            value: value.into(),
        }
    }

    /// The value if the expression is a literal.
    pub fn as_value(&self) -> Option<&Value> {
        match self {
            Expr::Value { value } => Some(value),
            _ => None,
        }
    }
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `!`
    Not,
}

/// Infix operators: one vocabulary for the syntax tree and the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryOp {
    /// `..`: the integers from the left one up to the right one, excluded, as `range(a, b)`.
    Range,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `??`
    Coalesce,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Range => "..",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::Coalesce => "??",
        }
    }
}

/// Writes an expression back in `.hive` syntax, with steps by index (`$2`) unless names are
/// given.
pub struct Display<'a> {
    /// The expression.
    pub expr: &'a Expr,
    /// Step names by index.
    pub steps: &'a [String],
}

impl<'a> fmt::Display for Display<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sub = |e: &'a Expr| Display {
            expr: e,
            steps: self.steps,
        };
        match self.expr {
            Expr::Value { value } => write!(f, "{value}"),
            Expr::Param { name } | Expr::Local { name } => f.write_str(name),
            Expr::State { cell } => write!(f, "state.{cell}"),
            Expr::Step { step } => match self.steps.get(*step) {
                Some(n) => f.write_str(n),
                None => write!(f, "${step}"),
            },
            Expr::Field { of, field } => write!(f, "{}.{field}", sub(of)),
            Expr::Index { of, index } => write!(f, "{}[{}]", sub(of), sub(index)),
            Expr::Unary { unary, arg } => {
                let op = if *unary == UnaryOp::Neg { "-" } else { "!" };
                write!(f, "{op}{}", Paren(sub(arg)))
            }
            Expr::Binary {
                binary,
                left,
                right,
            } => write!(
                f,
                "{} {} {}",
                Paren(sub(left)),
                binary.symbol(),
                Paren(sub(right))
            ),
            Expr::Concat { parts } => {
                f.write_str("\"")?;
                for p in parts {
                    match p.as_value() {
                        Some(Value::String(s)) => f.write_str(&s.replace('"', "\\\""))?,
                        _ => write!(f, "${{{}}}", sub(p))?,
                    }
                }
                f.write_str("\"")
            }
            Expr::List { items } => {
                f.write_str("[")?;
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", sub(e))?;
                }
                f.write_str("]")
            }
            Expr::Record { fields } => {
                f.write_str("{ ")?;
                for (i, (name, e)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {}", sub(e))?;
                }
                f.write_str(" }")
            }
            Expr::Call { function, args } => {
                write!(f, "{}(", function.name())?;
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", sub(e))?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Parenthesises compound operands.
struct Paren<'a>(Display<'a>);

impl fmt::Display for Paren<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.expr {
            Expr::Binary { .. } => write!(f, "({})", self.0),
            _ => write!(f, "{}", self.0),
        }
    }
}

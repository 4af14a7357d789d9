//! A run's inputs: `--input name=value` text to typed values, defaults filled in.

use crate::RunError;
use crate::conform::conform;
use crate::eval::eval;
use crate::scope::RunScope;
use hive_plan::{Param, Plan, Type};
use serde_json::{Map, Value};

/// Reads the text of `--input name=value` for a parameter of type `ty`: a string parameter
/// takes the text as it is; any other type reads it as JSON.
pub fn parse_input(name: &str, text: &str, ty: &Type) -> Result<Value, String> {
    let inner = match ty {
        Type::Optional(t) => t.as_ref(),
        t => t,
    };
    if matches!(inner, Type::String) {
        return Ok(Value::String(text.to_string()));
    }
    serde_json::from_str(text).map_err(|e| {
        format!("input `{name}` is not valid JSON for its type `{ty}` ({e}); a string input takes the text as it is only when the parameter is a string")
    })
}

/// Checks the inputs of a call of `workflow` against its parameters: every value conforms to
/// its type, missing ones get their default (or `none` when optional), unknown ones are refused.
pub fn bind(
    plan: &Plan,
    workflow: &str,
    params: &[Param],
    mut given: Map<String, Value>,
) -> Result<Map<String, Value>, RunError> {
    let mut out = Map::new();
    for p in params {
        let value = match given.remove(&p.name) {
            Some(v) => v,
            None => match &p.default {
                Some(d) => eval(d, &RunScope::locals(&[]))
                    .map_err(|e| RunError::run(format!("default of input `{}`: {e}", p.name)))?,
                None if matches!(p.ty, Type::Optional(_)) => Value::Null,
                None => {
                    return Err(RunError::run(format!(
                        "workflow `{workflow}` needs input `{}: {}`; give it with --input {}=…",
                        p.name, p.ty, p.name
                    )));
                }
            },
        };
        let value = conform(value, &p.ty, &plan.types)
            .map_err(|m| RunError::run(format!("input `{}` {m}", p.name)))?;
        out.insert(p.name.clone(), value);
    }
    if let Some(extra) = given.keys().next() {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        return Err(RunError::run(format!(
            "workflow `{workflow}` has no input `{extra}`; its inputs are: {}",
            names.join(", ")
        )));
    }
    Ok(out)
}

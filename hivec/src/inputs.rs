//! `hivec run --input`: the workflow's inputs from the command line, every problem with them
//! found before anything starts.

use hive_plan::{Param, Type, TypeDef};
use hive_runtime::conform::conform;
use hive_runtime::parse_input;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `--input name=value` and `--input name=@file`, each read for and checked against its
/// parameter; a parameter without a default that is not optional must be given. Every
/// problem is reported, not only the first.
pub fn parse_inputs(
    inputs: &[String],
    params: &[Param],
    types: &BTreeMap<String, TypeDef>,
) -> Result<Map<String, Value>, Vec<String>> {
    let mut given = Map::new();
    let mut problems = Vec::new();
    for input in inputs {
        match parse_one(input, params, types) {
            Ok((name, value)) => {
                given.insert(name.to_string(), value);
            }
            Err(problem) => problems.push(problem),
        }
    }
    for p in params {
        let named = inputs
            .iter()
            .any(|i| i.split_once('=').is_some_and(|(name, _)| name == p.name));
        if !named && p.default.is_none() && !matches!(p.ty, Type::Optional(_)) {
            problems.push(format!(
                "the workflow needs input `{}: {}`; give it with --input {}=…",
                p.name, p.ty, p.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(given)
    } else {
        Err(problems)
    }
}

fn parse_one<'a>(
    input: &'a str,
    params: &[Param],
    types: &BTreeMap<String, TypeDef>,
) -> Result<(&'a str, Value), String> {
    let Some((name, text)) = input.split_once('=') else {
        return Err(format!(
            "--input `{input}` is not `name=value` or `name=@file`"
        ));
    };
    let Some(param) = params.iter().find(|p| p.name == name) else {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        return Err(match names.is_empty() {
            true => format!("the workflow has no input `{name}`; it takes none"),
            false => format!(
                "the workflow has no input `{name}`; its inputs are: {}",
                names.join(", ")
            ),
        });
    };
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("--input {name}=@{path}: cannot read {path}: {e}"))?,
        None => text.to_string(),
    };
    let value = parse_input(name, &text, &param.ty)?;
    let value = conform(value, &param.ty, types).map_err(|m| format!("input `{name}` {m}"))?;
    Ok((name, value))
}

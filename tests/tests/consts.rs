//! Constants are computed by the checker with the runtime's semantics: each expression below is
//! evaluated once at compile time (as a constant, inlined into the plan as its value) and once
//! by the runtime (as a workflow's output), and the two must agree.

mod common;

use common::{run_plan, write};
use hive_tests::{plan_of, render_check};
use serde_json::{Value, json};

/// The workflow `main`'s output when `expr` is a constant, and when it is computed at run time.
fn both_ways(tag: &str, ty: &str, expr: &str) -> (Value, Value) {
    let prelude = "type Cfg { name: string, retries: int = 3, note: string? }\nenum Focus { bugs, style }\nconst base: list<int> = [3, 1, 2]\n";
    let folded = plan_of(&write(
        &format!("const-{tag}"),
        &format!("{prelude}const c: {ty} = {expr}\nworkflow main() -> {ty} {{\n  output c\n}}\n"),
    ));
    let output = &folded.workflows["main"].output;
    assert!(
        output.as_value().is_some(),
        "`{expr}` was not folded to a value: {output:?}"
    );
    let at_compile = run_plan(folded, json!({})).expect("run").output;
    let computed = plan_of(&write(
        &format!("run-{tag}"),
        &format!("{prelude}workflow main() -> {ty} {{\n  output {expr}\n}}\n"),
    ));
    let at_run = run_plan(computed, json!({})).expect("run").output;
    (at_compile, at_run)
}

/// Expressions with their type, each computed both ways by the test below.
const CASES: &[(&str, &str)] = &[
    ("int", r#"len("héllo")"#),
    ("int", "len(base) * 2 - 1"),
    ("list<int>", "range(0, 3)"),
    ("list<int>", "range(4)"),
    ("int", "min(1, 2)"),
    ("float", "max(1, 2.5)"),
    ("int", "max(base)"),
    ("int", "sum(base)"),
    ("float", "sum([0.5, 1])"),
    ("bool", "1 < 2 && !(2 >= 3)"),
    ("bool", r#""a" < "b" || false"#),
    ("bool", "[1, 2] == [1, 2.0]"),
    ("duration", "2s - 1s"),
    ("duration", "2s * 1.5"),
    ("duration", "7s / 2"),
    ("size", "1mb + 512kb"),
    ("float", "0.5 * 2"),
    ("float", "7 / 2.0"),
    ("int", "-7 / 2"),
    ("int", "-7 % 3"),
    ("list<int>", "[1] + [2] + base"),
    ("string", r#"upper("ab") + lower("CD") + trim("  e ")"#),
    ("list<string>", r#"split("a,b,,c", ",")"#),
    ("list<string>", r#"split("abc", "")"#),
    ("string", r#"join(["x", "y"], "-")"#),
    ("bool", r#"contains("haystack", "st") && contains(base, 2)"#),
    (
        "bool",
        r#"starts_with("hive", "hi") && ends_with("hive", "ve")"#,
    ),
    ("string", r#"replace("aaa", "a", "bb")"#),
    ("string", r#"replace("ab", "", "-")"#),
    ("int", "abs(-4) + round(2.5) + round(-2.5)"),
    (
        "string",
        r#"to_string(3) + to_string(1.5) + to_string(true)"#,
    ),
    ("string", r#"to_json({a: [1, 2], b: none, c: "x"})"#),
    ("int?", r#"parse_int(" 42 ")"#),
    ("int?", r#"parse_int("x")"#),
    ("float?", r#"parse_float("2.25")"#),
    ("json", r#"parse_json("{\"k\": [1, 2.5, null]}")"#),
    (
        "string",
        r#""${1 + 1} ${1.5} ${true} ${none} ${2s} ${3mb} ${base}""#,
    ),
    ("Cfg", r#"Cfg { name: "x" }"#),
    ("int", r#"Cfg { name: "x", retries: 5 }.retries"#),
    ("int", "base[1] + len(keys({b: 1, a: 2}))"),
    ("list<int>", "values({b: 1, a: 2})"),
    ("Focus", "Focus.style"),
    ("int", "none ?? 4"),
    (
        "int",
        "1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1",
    ),
];

#[test]
fn every_built_in_and_operator_gives_the_runtime_s_value() {
    for (i, (ty, expr)) in CASES.iter().enumerate() {
        let (at_compile, at_run) = both_ways(&format!("case{i}"), ty, expr);
        assert_eq!(at_compile, at_run, "`{expr}`: compile time vs run time");
    }
}

/// A function added to the plan's table that constants may call is computed alike at compile
/// time and at run time, or this fails until a case calls it.
#[test]
fn every_function_a_constant_may_call_has_a_case() {
    for f in hive_plan::Function::all_written().filter(|f| f.builtin().in_constants) {
        let call = format!("{}(", f.name());
        assert!(
            CASES.iter().any(|(_, e)| e.contains(&call)),
            "no case calls `{}`",
            f.name()
        );
    }
}

#[test]
fn a_chain_of_constants_is_computed_once_each() {
    // Each constant uses the one before twice: evaluated by expression this is 2^60 additions.
    let mut source = String::from("const c0: int = 1\n");
    for i in 1..=60 {
        source.push_str(&format!(
            "const c{i}: int = c{} + c{} - c{}\n",
            i - 1,
            i - 1,
            i - 1
        ));
    }
    source.push_str("workflow main() -> int {\n  output c60\n}\n");
    let plan = plan_of(&write("const-chain", &source));
    assert_eq!(plan.workflows["main"].output.as_value(), Some(&json!(1)));
}

#[test]
fn a_constant_without_a_value_says_why() {
    let source = r#"
const zero: int = 0
const ratio: int = 10 / zero
const big: int = 9223372036854775807 * 2
const home: string = env("HOME")
const loop_a: int = loop_b + 1
const loop_b: int = loop_a + 1
const huge: list<int> = range(0, 100000000)
const lowest: int = min([])
const uses_ratio: int = ratio + 1
"#;
    let out = render_check(&write("const-errors", source));
    for expected in [
        "constant `ratio` divides by zero",
        "constant `big` overflows: 9223372036854775807 * 2 does not fit its type",
        "constant `home` reads the environment",
        "constant `loop_a` depends on itself (through constant `loop_b`)",
        "constant `loop_b` depends on itself (through constant `loop_a`)",
        "constant `huge` is too large to compute at compile time",
        "constant `lowest` has no value: `min` of an empty list",
        "constant `uses_ratio` divides by zero (through constant `ratio`)",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("not known at compile time"), "{out}");
}

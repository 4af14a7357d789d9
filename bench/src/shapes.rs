//! Inputs shaped to expose costs that grow faster than the input: each shape is measured at
//! two sizes, and a cost that grows with the input's length grows by about the same factor.
//! Every shape here once grew with the square of its size, or worse.

/// One shape of input.
pub struct Shape {
    /// What it is.
    pub name: &'static str,
    /// The `hivec` commands measured: `check`, `fmt` (`fmt --check`, which formats all of it).
    pub commands: &'static [&'static str],
    /// The two sizes measured, in the shape's own unit.
    pub sizes: [usize; 2],
    /// The codes of the diagnostics `hivec check` reports for it (none for valid input).
    pub codes: &'static [&'static str],
    /// The text at size `n`.
    pub make: fn(usize) -> String,
}

/// Every shape.
pub const ALL: &[Shape] = &[
    check(
        "lines of nested calls or brackets",
        [500, 1_000],
        &["E0001", "E0008"],
        nested_per_line,
    ),
    check(
        "lines each with a syntax error",
        [8_000, 16_000],
        &["E0001", "E0008"],
        |n| {
            (0..n)
                .map(|i| format!("agent a{i} {{ x: 1 y }}\n"))
                .collect()
        },
    ),
    check("steps of one workflow", [8_000, 16_000], &[], |n| {
        steps(n, |i| {
            if i == 0 {
                "1".into()
            } else {
                format!("s{}", i - 1)
            }
        })
    }),
    check(
        "steps each naming an unknown name",
        [8_000, 16_000],
        &["E0101", "E0008"],
        |n| steps(n, |i| format!("unknown{i}")),
    ),
    check(
        "constants of the wrong type",
        [16_000, 32_000],
        &["E0201", "E0008"],
        |n| {
            (0..n)
                .map(|i| format!("const x{i}: int = \"a\"\n"))
                .collect()
        },
    ),
    check(
        "interpolations in an import path",
        [131_072, 262_144],
        &["E0005", "E0103"],
        |n| format!("import \"lib/{}.hive\"\n", "${a}".repeat(n)),
    ),
    check(
        "segments of a dotted type name",
        [20_000, 40_000],
        &["E0106"],
        |n| format!("const c: {}a = 1\n", "a.".repeat(n - 1)),
    ),
    Shape {
        name: "elements of a list literal",
        commands: &["check", "fmt"],
        sizes: [1_000_000, 2_000_000],
        codes: &[],
        make: list,
    },
];

/// A shape measured with `hivec check`.
const fn check(
    name: &'static str,
    sizes: [usize; 2],
    codes: &'static [&'static str],
    make: fn(usize) -> String,
) -> Shape {
    Shape {
        name,
        commands: &["check"],
        sizes,
        codes,
        make,
    }
}

/// `n` agents, each with a property of 30 nested calls or 25 nested brackets (alternately),
/// closed, with a mistake at the innermost level that fails every level around it.
fn nested_per_line(n: usize) -> String {
    let calls = format!("{}:{}", "f(".repeat(30), ")".repeat(30));
    let brackets = format!("{}:{}", "[[a".repeat(25), "]]".repeat(25));
    (0..n)
        .map(|i| {
            let value = if i % 2 == 0 { &calls } else { &brackets };
            format!("agent a{i} {{ x: {value} }}\n")
        })
        .collect()
}

/// A workflow of `n` steps, step `i` passing `arg(i)` to a capability.
fn steps(n: usize, arg: fn(usize) -> String) -> String {
    let mut out = String::from(
        "capability c(x: int) -> int\nagent a { provides: [c], simulate: { latency: 1ms } }\n\n\
         workflow w() -> int {\n",
    );
    for i in 0..n {
        out.push_str(&format!(
            "  step s{i} = c(x: {}) with {{ timeout: 1s }}\n",
            arg(i)
        ));
    }
    out.push_str("  output 1\n}\n");
    out
}

/// A constant holding a list of `n` integers, on one line.
fn list(n: usize) -> String {
    let mut out = String::from("const c: list<int> = [");
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('1');
    }
    out.push_str("]\n");
    out
}

//! Inputs shaped to expose costs that grow faster than the input: each shape is measured at
//! two sizes, and a cost that grows with the input's length grows by about the same factor.
//! Every shape here once grew with the square of its size, or worse.

/// One shape of input.
pub struct Shape {
    /// What it is.
    pub name: &'static str,
    /// The `hivec` commands measured: `check`, `plan` (checking and lowering, the text plan
    /// written to nowhere), `fmt` (`fmt --check`, which formats all of it).
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
    check("steps of one workflow", [8_000, 16_000], &[], chain),
    workflow("a chain of steps", [2_000, 8_000], chain),
    workflow("a chain of steps", [25_000, 100_000], chain),
    workflow("steps in layers of 100", [25_000, 100_000], layers),
    workflow("maps side by side", [25_000, 100_000], maps),
    workflow(
        "a chain of steps each writing one state cell",
        [25_000, 100_000],
        state_chain,
    ),
    workflow(
        "layers of 100, one step of each writing one state cell",
        [25_000, 100_000],
        state_layers,
    ),
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

/// A valid workflow's shape measured with `hivec check` and `hivec plan`.
const fn workflow(name: &'static str, sizes: [usize; 2], make: fn(usize) -> String) -> Shape {
    Shape {
        name,
        commands: &["check", "plan"],
        sizes,
        codes: &[],
        make,
    }
}

/// A chain of `n` steps, each taking the previous one's value.
fn chain(n: usize) -> String {
    steps(n, |i| {
        if i == 0 {
            "1".into()
        } else {
            format!("s{}", i - 1)
        }
    })
}

/// `n` steps in layers of 100: each takes the value of the step above it in the layer before
/// and runs after that step's neighbour, so each layer waits on the whole layer before.
fn layers(n: usize) -> String {
    let mut out = String::from(HEAD);
    out.push_str("workflow w() -> int {\n");
    for i in 0..n {
        if i < 100 {
            out.push_str(&format!("  step s{i} = c(x: 1) with {{ timeout: 1s }}\n"));
        } else {
            let above = i - 100;
            let neighbour = above - above % 100 + (above + 1) % 100;
            out.push_str(&format!(
                "  step s{i} = c(x: s{above}) with {{ timeout: 1s, after: [s{neighbour}] }}\n"
            ));
        }
    }
    out.push_str("  output 1\n}\n");
    out
}

/// [`chain`], every step's capability writing one `conflict: reject` cell: the steps are
/// ordered, so the concurrency check finds no two writers that may overlap.
fn state_chain(n: usize) -> String {
    writing(chain(n), |i| i > 0)
}

/// [`layers`], one step per layer writing the cell.
fn state_layers(n: usize) -> String {
    writing(layers(n), |i| i % 100 == 0)
}

/// `text` with a state cell, the steps `s{i}` for which `writes(i)` holds calling a
/// capability that writes it (the others still call `c`, which stays used).
fn writing(text: String, writes: fn(usize) -> bool) -> String {
    let mut out = String::from(
        "state cell: int = 0\ncapability cw(x: int) -> int writes [cell]\n\
         agent b { provides: [cw], simulate: { latency: 1ms } }\n",
    );
    for line in text.lines() {
        let writer = line
            .trim_start()
            .strip_prefix("step s")
            .and_then(|r| r.split(' ').next())
            .and_then(|i| i.parse::<usize>().ok())
            .is_some_and(writes);
        out.push_str(&if writer {
            line.replacen("= c(", "= cw(", 1)
        } else {
            line.to_string()
        });
        out.push('\n');
    }
    out
}

/// `n` independent `for` maps over the workflow's one list input.
fn maps(n: usize) -> String {
    let mut out = String::from(HEAD);
    out.push_str("workflow w(xs: list<int>) -> int {\n");
    for i in 0..n {
        out.push_str(&format!(
            "  step m{i} = for x in xs {{ c(x: x + {i}) }} with {{ timeout: 1s, concurrency: 8 }}\n"
        ));
    }
    out.push_str("  output 1\n}\n");
    out
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

/// The capability and agent the workflows of these shapes call.
const HEAD: &str =
    "capability c(x: int) -> int\nagent a { provides: [c], simulate: { latency: 1ms } }\n\n";

/// A workflow of `n` steps, step `i` passing `arg(i)` to a capability.
fn steps(n: usize, arg: fn(usize) -> String) -> String {
    let mut out = String::from(HEAD);
    out.push_str("workflow w() -> int {\n");
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

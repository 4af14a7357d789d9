//! The runtime benchmark's workloads: each as a `.hive` source and, where a bare tokio
//! program can run the same graph, as that graph.

use std::fmt::Write;

/// A workload of the runtime benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// 10,000 independent `std.echo` tasks (a `for` map) and a join.
    Fanout,
    /// 2,000 `std.echo` steps, each taking the previous one's value.
    Chain,
    /// 50 layers of 100 `std.echo` steps, each summing two random steps of the layer before.
    Layered,
    /// 100,000 tasks through the exec protocol to `hive-echo-agent` (concurrency 64).
    Exec,
    /// 100,000 simulated tasks over 10 agents, on the virtual clock.
    Simulate,
    /// A `for` map over 1,000,000 elements.
    Map,
    /// 100,000 state writes from `hive-echo-agent` through the protocol (10 tasks of 10,000
    /// `put`s to one `merge: sum` cell); counted in writes.
    State,
}

impl Workload {
    /// Every workload, in the order reported.
    pub const ALL: [Workload; 7] = [
        Workload::Fanout,
        Workload::Chain,
        Workload::Layered,
        Workload::Exec,
        Workload::Simulate,
        Workload::Map,
        Workload::State,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Fanout => "fanout",
            Workload::Chain => "chain",
            Workload::Layered => "layered",
            Workload::Exec => "exec",
            Workload::Simulate => "simulate",
            Workload::Map => "map",
            Workload::State => "state",
        }
    }

    /// The workload called `name`.
    pub fn named(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The `.hive` source; `echo_agent` is the command of the exec echo agent.
    pub fn source(self, echo_agent: &str) -> String {
        match self {
            Workload::Fanout => r#"
workflow main() -> int {
  step xs = for i in range(0, 10000) { std.echo(value: i) }
  step total = std.echo(value: len(xs))
  output total
}
"#
            .to_string(),
            Workload::Chain => {
                let mut s =
                    String::from("workflow main() -> int {\n  step s0 = std.echo(value: 0)\n");
                for i in 1..2_000 {
                    let _ = writeln!(s, "  step s{i} = std.echo(value: s{} + 1)", i - 1);
                }
                s.push_str("  output s1999\n}\n");
                s
            }
            Workload::Layered => {
                let mut s = String::from("workflow main() -> int {\n");
                for (n, deps) in layered().iter().enumerate() {
                    let (layer, i) = (n / WIDTH, n % WIDTH);
                    let value = match deps.as_slice() {
                        [] => "1".to_string(),
                        [a, b] => format!("{} + {}", node(*a), node(*b)),
                        _ => unreachable!("two dependencies per node"),
                    };
                    let _ = writeln!(s, "  step l{layer}_{i} = std.echo(value: {value})");
                }
                let last: Vec<String> =
                    (0..WIDTH).map(|i| node((LAYERS - 1) * WIDTH + i)).collect();
                let _ = writeln!(s, "  output {}\n}}", last.join(" + "));
                s
            }
            Workload::Exec => format!(
                r#"
capability echo(value: int) -> int
agent echoer {{ provides: [echo], exec: "{echo_agent}", concurrency: 64 }}
workflow main() -> int {{
  step xs = for i in range(0, 100000) {{ echo(value: i) }}
  output len(xs)
}}
"#
            ),
            Workload::Simulate => {
                let mut s = String::from("capability work(n: int) -> int\n");
                for a in 0..10 {
                    let _ = writeln!(
                        s,
                        "agent a{a} {{ provides: [work], concurrency: 16, simulate: {{ latency: {}ms, jitter: 5ms, failure_rate: 0.01, output: 1 }} }}",
                        20 + 5 * a
                    );
                }
                let members: Vec<String> = (0..10).map(|a| format!("a{a}")).collect();
                let _ = writeln!(
                    s,
                    "pool all {{ members: [{}], strategy: least_busy }}\nroute work -> all",
                    members.join(", ")
                );
                s.push_str(
                    "workflow main() -> int {\n  step xs = for i in range(0, 100000) { work(n: i) } with { retry: 3 }\n  output len(xs)\n}\n",
                );
                s
            }
            Workload::Map => r#"
workflow main() -> int {
  step xs = for i in range(0, 1000000) { std.echo(value: i) }
  output len(xs)
}
"#
            .to_string(),
            Workload::State => format!(
                r#"
state hits: int = 0 {{ merge: sum }}
capability bump(puts: int) -> int writes [hits]
agent writer {{ provides: [bump], exec: "{echo_agent}", replicas: 2 }}
workflow main() -> int {{
  step xs = for i in range(0, 10) {{ bump(puts: 10000) }}
  output state.hits
}}
"#
            ),
        }
    }

    /// Runs in one measuring process: the short workloads (milliseconds) are repeated so
    /// that the steady state can be told from a first, cold run.
    pub fn repeats(self) -> usize {
        match self {
            Workload::Fanout | Workload::Chain | Workload::Layered => 11,
            Workload::Exec | Workload::Simulate | Workload::Map | Workload::State => 1,
        }
    }

    /// The same work as a graph for the bare tokio baseline: each node's dependencies.
    pub fn graph(self) -> Option<Vec<Vec<usize>>> {
        match self {
            // 10,000 independent nodes, then a join on all of them.
            Workload::Fanout => {
                let mut g = vec![Vec::new(); 10_000];
                g.push((0..10_000).collect());
                Some(g)
            }
            Workload::Chain => Some(
                (0..2_000)
                    .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
                    .collect(),
            ),
            Workload::Layered => Some(layered()),
            _ => None,
        }
    }
}

/// Steps per layer of [`Workload::Layered`].
const WIDTH: usize = 100;
/// Layers of [`Workload::Layered`].
const LAYERS: usize = 50;

fn node(n: usize) -> String {
    format!("l{}_{}", n / WIDTH, n % WIDTH)
}

/// The layered graph: every node after the first layer depends on two distinct random
/// nodes of the layer before (a fixed seed, so every run and the baseline see the same
/// graph).
fn layered() -> Vec<Vec<usize>> {
    let mut rng = Lcg(0x5eed);
    let mut g = Vec::with_capacity(WIDTH * LAYERS);
    for layer in 0..LAYERS {
        for _ in 0..WIDTH {
            if layer == 0 {
                g.push(Vec::new());
                continue;
            }
            let base = (layer - 1) * WIDTH;
            let a = rng.below(WIDTH);
            let mut b = rng.below(WIDTH - 1);
            if b >= a {
                b += 1;
            }
            g.push(vec![base + a, base + b]);
        }
    }
    g
}

/// A tiny linear congruential generator: the graph must not change with a crate's version.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layered_graph_has_two_distinct_parents_in_the_layer_before() {
        let g = layered();
        assert_eq!(g.len(), WIDTH * LAYERS);
        for (n, deps) in g.iter().enumerate().skip(WIDTH) {
            let layer = n / WIDTH;
            assert_eq!(deps.len(), 2);
            assert_ne!(deps[0], deps[1]);
            assert!(deps.iter().all(|&d| d / WIDTH == layer - 1));
        }
    }
}

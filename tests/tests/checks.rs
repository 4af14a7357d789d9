//! Checker rules that have no fixture of their own: each writes a file and reads what
//! `hivec check` would print.

mod common;

use common::write;
use hive_tests::render_check;

const PROFILE: &str = r#"
capability profile(user: string, region: string) -> string
agent a { provides: [profile], simulate: { latency: 1ms } }
agent b { provides: [profile], simulate: { latency: 1ms } }
"#;

#[test]
fn a_pool_s_hash_key_is_checked_against_each_capability_routed_to_it() {
    let bad = format!(
        "{PROFILE}pool shards {{ members: [a, b], strategy: hash(key: input.usr) }}\nroute profile -> shards\n"
    );
    let out = render_check(&write("pool-hash-bad", &bad));
    assert!(out.contains("`usr`"), "{out}");
    assert!(out.contains("strategy: hash(key: input.usr)"), "{out}");

    let good = bad.replace("input.usr", "input.user");
    let out = render_check(&write("pool-hash-good", &good));
    assert!(!out.contains("Error"), "{out}");

    // A route with its own strategy does not use the pool's key.
    let own = bad.replace(
        "route profile -> shards",
        "route profile -> shards { strategy: round_robin }",
    );
    let out = render_check(&write("pool-hash-overridden", &own));
    assert!(!out.contains("Error"), "{out}");
}

#[test]
fn a_route_to_an_agent_that_lacks_the_capability_says_so() {
    let source = format!("{PROFILE}capability other(x: int) -> int\nroute other -> a\n");
    let out = render_check(&write("route-lacks", &source));
    assert!(out.contains("agent `a` does not provide `other`"), "{out}");
}

//! `hive-bench whole`: `hivec run` of a workload's `.hive` file as a user runs it, the whole
//! process (start, read, check, lower, run, exit), next to the whole process of the bare
//! tokio program on the same graph (`hive-bench run-one --bare`, which builds the graph and
//! runs it once).

use super::{Sample, measure};
use hive_bench::workloads::Workload;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Measures each of `workloads` that has a bare tokio version `runs` times and prints the
/// median wall time of both processes and their ratio.
/// With `keep`, the `.hive` files are left where they were written, which it prints.
pub fn run(hivec: &Path, workloads: &[Workload], runs: usize, keep: bool) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("hive-bench-whole-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    println!(
        "median of {runs} processes each, the two alternating; wall time of the whole process; ratio: the median of the {runs} pairs' ratios"
    );
    println!(
        "{:<9} {:>7} {:>12} {:>12} {:>12} {:>7}",
        "workload", "steps", "hivec run", "user", "bare tokio", "ratio"
    );
    let result = workloads.iter().try_for_each(|&w| {
        let Some(graph) = w.graph() else {
            return Ok(());
        };
        let file = dir.join(format!("{}.hive", w.name()));
        std::fs::write(&file, w.source(""))
            .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        // The two processes alternate, so a busy moment of the machine slows both of a
        // pair; the ratio printed is the median of the pairs' ratios.
        let mut pairs = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let hive = measure(Command::new(hivec).arg("run").arg(&file))?;
            let bare = measure(Command::new(&me).args(["run-one", w.name(), "--bare"]))?;
            pairs.push((hive, bare));
        }
        let mut ratios: Vec<f64> = pairs
            .iter()
            .map(|(h, b)| h.wall.as_secs_f64() / b.wall.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let (mut hive, mut bare): (Vec<Sample>, Vec<Sample>) = pairs.into_iter().unzip();
        let (hive, bare) = (median(&mut hive), median(&mut bare));
        println!(
            "{:<9} {:>7} {:>10.1}ms {:>10.1}ms {:>10.1}ms {:>7.2}",
            w.name(),
            graph.len(),
            ms(hive.wall),
            ms(hive.user),
            ms(bare.wall),
            ratios[ratios.len() / 2]
        );
        Ok(())
    });
    if keep {
        println!("the files are in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

/// The sample with the median wall time.
fn median(all: &mut [Sample]) -> Sample {
    all.sort_by_key(|s| s.wall);
    all[all.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

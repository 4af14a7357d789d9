//! The live display of `hivec run` on a terminal: the steps by state, then a line per agent
//! with its tasks running against its slots. Redrawn in place by indicatif; cleared before
//! the summary is printed.

use hive_runtime::progress::{AgentProgress, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// How often the display is refreshed.
pub const REFRESH: Duration = Duration::from_millis(100);

/// The bars on stderr: one for the steps, one per agent.
pub struct Display {
    multi: MultiProgress,
    steps: ProgressBar,
    agents: Vec<ProgressBar>,
}

impl Display {
    /// A display with nothing drawn yet.
    pub fn new() -> Display {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let steps = multi.add(ProgressBar::new(0));
        steps.set_style(style("{spinner} steps   {bar:24} {pos}/{len} {msg}"));
        Display {
            multi,
            steps,
            agents: Vec::new(),
        }
    }

    /// Shows `p`.
    pub fn update(&mut self, p: &Progress) {
        let s = p.steps;
        self.steps
            .set_length((s.done + s.running + s.waiting) as u64);
        self.steps.set_position(s.done as u64);
        self.steps.set_message(steps_text(p));
        self.steps.tick();
        while self.agents.len() < p.agents.len() {
            let bar = self.multi.add(ProgressBar::new(0));
            bar.set_style(style("  {prefix:<16} {bar:16} {msg}"));
            self.agents.push(bar);
        }
        for (bar, a) in self.agents.iter().zip(&p.agents) {
            bar.set_prefix(a.name.clone());
            // An unlimited agent's bar is full while it works.
            let slots = a.slots.unwrap_or(u64::from(a.running));
            bar.set_length(slots.max(1));
            bar.set_position(u64::from(a.running).min(slots.max(1)));
            bar.set_message(agent_text(a));
        }
    }

    /// Removes the display from the terminal.
    pub fn clear(self) {
        for bar in &self.agents {
            bar.finish_and_clear();
        }
        self.steps.finish_and_clear();
        let _ = self.multi.clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("█▌ ")
}

/// `2 running, 5 waiting · 40 tasks queued`
pub fn steps_text(p: &Progress) -> String {
    let s = p.steps;
    let mut out = format!("{} running, {} waiting", s.running, s.waiting);
    if p.queued > 0 {
        out.push_str(&format!(" · {} tasks queued", p.queued));
    }
    out
}

/// `3/8 running · 120 done, 2 failed · 2 instances`
pub fn agent_text(a: &AgentProgress) -> String {
    let slots = a.slots.map_or(String::new(), |s| format!("/{s}"));
    let mut out = format!("{}{slots} running · {} done", a.running, a.done);
    if a.failed > 0 {
        out.push_str(&format!(", {} failed", a.failed));
    }
    if a.instances != 1 {
        out.push_str(&format!(" · {} instances", a.instances));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hive_runtime::progress::Steps;

    #[test]
    fn texts() {
        let p = Progress {
            steps: Steps {
                waiting: 5,
                running: 2,
                done: 3,
            },
            queued: 40,
            agents: Vec::new(),
        };
        assert_eq!(steps_text(&p), "2 running, 5 waiting · 40 tasks queued");
        let a = AgentProgress {
            name: "reviewer".into(),
            running: 3,
            slots: Some(8),
            instances: 2,
            done: 120,
            failed: 2,
        };
        assert_eq!(
            agent_text(&a),
            "3/8 running · 120 done, 2 failed · 2 instances"
        );
        let std = AgentProgress {
            name: "std".into(),
            running: 1,
            slots: None,
            instances: 1,
            done: 4,
            failed: 0,
        };
        assert_eq!(agent_text(&std), "1 running · 4 done");
    }
}

//! Auto-scaling of members with `replicas: a..b`.

use super::{Shared, State};
use hive_plan::Resources;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// How often auto-scaling looks at the members with `replicas: a..b`.
pub const SCALE_TICK: Duration = Duration::from_millis(250);
/// How long tasks must wait with every instance of a member busy before one is added.
pub const SCALE_UP_AFTER: Duration = Duration::from_secs(1);
/// How long an instance must have been idle before it is removed.
pub const SCALE_IDLE: Duration = Duration::from_secs(10);
/// The least time between two changes to one member's instances.
pub const SCALE_COOLDOWN: Duration = Duration::from_secs(2);

/// Looks at the scaling members every [`SCALE_TICK`] for as long as the dispatcher exists.
pub(super) async fn autoscale(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(SCALE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let retired = match strong.lock() {
            Ok(mut guard) => match guard.as_mut() {
                Some(state) => {
                    let retired = state.scale(Instant::now());
                    state.dispatch();
                    retired
                }
                None => Vec::new(),
            },
            Err(_) => return,
        };
        drop(strong);
        for instance in retired {
            tokio::spawn(instance.shutdown());
        }
    }
}

impl super::Dispatcher {
    /// What the workers of a distributed run report of member `name`: what other runs hold
    /// on each of its live instances (as many as `elsewhere` has). The member gets at least
    /// that many instances, the strategies see the other runs' load, and what can be placed
    /// is placed.
    pub fn hosted(&self, name: &str, elsewhere: Vec<crate::fleet::Held>) {
        let Ok(mut guard) = self.shared.lock() else {
            return;
        };
        let Some(state) = guard.as_mut() else {
            return;
        };
        let Some(member) = state.fleet.iter_mut().find(|m| m.name == name) else {
            return;
        };
        while member.instances.len() < elsewhere.len() {
            member.add_instance();
        }
        member.elsewhere = elsewhere;
        state.dispatch();
    }
}

impl State {
    /// Auto-scaling: adds an instance to a member whose tasks have waited with every
    /// instance busy for [`SCALE_UP_AFTER`], and removes one that has idled for
    /// [`SCALE_IDLE`], at most one change per member per [`SCALE_COOLDOWN`] and within its
    /// `replicas` range. Returns the removed instances, to be shut down.
    pub(super) fn scale(&mut self, now: Instant) -> Vec<Arc<dyn crate::agent::Instance>> {
        use crate::agent::Health;
        let mut wanted = vec![false; self.fleet.len()];
        for g in self.groups.iter().filter(|g| !g.queue.is_empty()) {
            for &m in &g.members {
                wanted[m] = true;
            }
        }
        let mut retired = Vec::new();
        for (i, m) in self.fleet.iter_mut().enumerate() {
            if !m.scales() {
                continue;
            }
            let (min, max) = m.replicas;
            let current = m.current().count();
            let cooled = m
                .scaling
                .last_change
                .is_none_or(|t| now.saturating_duration_since(t) >= SCALE_COOLDOWN);
            let pressed = wanted[i] && m.free_slot(&Resources::default()).is_none();
            if pressed {
                let since = *m.scaling.pressed_since.get_or_insert(now);
                // One that is still starting is capacity on its way.
                let starting = m.current().any(|s| s.instance.health() == Health::Starting);
                if now.saturating_duration_since(since) >= SCALE_UP_AFTER
                    && cooled
                    && current < max
                    && !starting
                {
                    m.add_instance();
                    m.scaling.added += 1;
                    m.scaling.last_change = Some(now);
                    tracing::info!(agent = %m.name, instances = current + 1, "scaled up: tasks are waiting");
                }
                continue;
            }
            m.scaling.pressed_since = None;
            if current <= min || !cooled {
                continue;
            }
            // The newest idle instance goes first.
            let idle = m.instances.iter().rposition(|s| {
                !s.retired
                    && s.in_flight == 0
                    && s.idle_since
                        .is_some_and(|t| now.saturating_duration_since(t) >= SCALE_IDLE)
            });
            if let Some(slot) = idle {
                m.count_instance_time(now);
                m.instances[slot].retired = true;
                retired.push(m.instances[slot].instance.clone());
                m.scaling.removed += 1;
                m.scaling.last_change = Some(now);
                tracing::info!(agent = %m.name, instances = current - 1, "scaled down: an instance was idle");
            }
        }
        retired
    }
}

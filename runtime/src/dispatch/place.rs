//! Placing: which waiting task starts next, and on which member.

use super::{Auction, Outcome, Reply, Request, State, open_auction};
use crate::agent::TaskError;
use crate::fleet::Member;
use crate::strategy::{Ask, Policy};
use hive_plan::Strategy;
use std::cmp::Ordering;

/// What can be done with a task at the head of its target's queue now.
pub(super) enum Verdict {
    /// Start it on this (member, instance).
    Start(usize, usize),
    /// Leave it waiting: a member will free up or come back.
    Wait,
    /// Fail it: no live member could ever take it.
    Never,
}

impl State {
    /// Places waiting tasks until none can be placed: each round serves the best-ranked
    /// head among the targets that have a member free for it.
    pub(super) fn dispatch(&mut self) {
        loop {
            // Reuses one buffer: this runs for every task placed.
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            order.extend((0..self.groups.len()).filter(|&g| !self.groups[g].queue.is_empty()));
            if order.is_empty() {
                self.order = order;
                return;
            }
            order.sort_by(|&a, &b| {
                let (ha, hb) = (self.groups[a].queue.peek(), self.groups[b].queue.peek());
                match (ha, hb) {
                    (Some(x), Some(y)) => y.cmp(x),
                    _ => Ordering::Equal,
                }
            });
            let placed = order.iter().copied().find_map(|g| {
                let group = &mut self.groups[g];
                let head = group.queue.peek()?;
                let seq = head.seq;
                // A cancelled task is dropped instead of being placed.
                if head.reply.is_closed() {
                    group.queue.pop();
                    group.auctions.remove(&seq);
                    return Some(None);
                }
                let mut bids = Vec::new();
                if matches!(group.policy.strategy(), Strategy::Auction) {
                    match group.auctions.get(&seq) {
                        Some(Auction::Asked) => return None,
                        Some(Auction::Closed(b)) => bids = b.clone(),
                        None => match open_auction(
                            (g, seq),
                            group,
                            &self.fleet,
                            &head.request,
                            &self.shared,
                        ) {
                            Some(b) => bids = b,
                            None => {
                                group.auctions.insert(seq, Auction::Asked);
                                return None;
                            }
                        },
                    }
                }
                match judge(
                    (&mut group.policy, &group.members),
                    &self.fleet,
                    &head.request,
                    &bids,
                ) {
                    Verdict::Wait => None,
                    Verdict::Never => {
                        let queued = group.queue.pop()?;
                        group.auctions.remove(&seq);
                        let _ = queued.reply.send(never(&group.members, &self.fleet));
                        Some(None)
                    }
                    Verdict::Start(member, slot) => {
                        let queued = group.queue.pop()?;
                        group.auctions.remove(&seq);
                        Some(Some((member, slot, queued)))
                    }
                }
            });
            self.order = order;
            match placed {
                None => return,
                Some(None) => continue,
                Some(Some((member, slot, queued))) => {
                    self.start(member, slot, queued.request, Reply::Channel(queued.reply));
                }
            }
        }
    }
}

/// Whether the task `request` can start now on one of a target's `members` chosen by its
/// `policy`, must wait, or can never run there.
pub(super) fn judge(
    (policy, members): (&mut Policy, &[usize]),
    fleet: &[Member],
    request: &Request,
    bids: &[(usize, f64)],
) -> Verdict {
    let mut excluded = request.excluded();
    // A retry goes first to the members that have not failed the task.
    if !request.avoided.is_empty() {
        let others = excluded.len();
        excluded.extend(&request.avoided);
        let ask = Ask {
            demand: &request.demand,
            excluded: &excluded,
            key: request.key,
            bids,
        };
        if let Some((member, slot)) = policy.choose(members, fleet, &ask) {
            return Verdict::Start(member, slot);
        }
        excluded.truncate(others);
    }
    let ask = Ask {
        demand: &request.demand,
        excluded: &excluded,
        key: request.key,
        bids,
    };
    match policy.choose(members, fleet, &ask) {
        Some((member, slot)) => Verdict::Start(member, slot),
        // Waiting helps only if some member could ever take the task.
        None if viable(members, fleet, &ask) => Verdict::Wait,
        None => Verdict::Never,
    }
}

/// The outcome of a task no live member of its target (`members`) can take, with the
/// reasons its instances were given up.
pub(super) fn never(members: &[usize], fleet: &[Member]) -> Outcome {
    let mut message = "no live member of the target can take this task".to_string();
    let failures: Vec<String> = members
        .iter()
        .flat_map(|&m| fleet[m].current())
        .filter_map(|s| s.instance.failure())
        .collect();
    if !failures.is_empty() {
        message.push(':');
    }
    for failure in failures {
        message.push_str("\n  ");
        message.push_str(&failure);
    }
    Outcome {
        member: usize::MAX,
        instance: 0,
        started: None,
        result: Err(TaskError::fatal(message)),
    }
}

/// Whether some member of `members` is live, not excluded, and large enough for the demand.
pub(super) fn viable(members: &[usize], fleet: &[Member], ask: &Ask) -> bool {
    members.iter().any(|&m| {
        let member = &fleet[m];
        !ask.excluded.contains(&m) && member.alive() && member.could_fit(ask.demand)
    })
}

//! The balancing strategies: which member of a target gets the next task.
//!
//! Invariant: a policy only ever picks a member that is live, not excluded and has a free slot
//! with room for the task's resources, except `hash`, which waits for its member instead of
//! moving a key elsewhere while that member lives.

use crate::fleet::Member;
use hive_plan::{Resources, Strategy};

/// What a policy knows of the task it places.
pub struct Ask<'a> {
    /// The task's resource demand.
    pub demand: &'a Resources,
    /// Members that may not take it (consensus replicas already placed, a failed target).
    pub excluded: &'a [usize],
    /// The hash of the `hash` strategy's key, when the strategy has one.
    pub key: Option<u64>,
    /// An auction's bids: (member, cost).
    pub bids: &'a [(usize, f64)],
}

/// A strategy with its state for one target.
pub struct Policy {
    strategy: Strategy,
    /// `round_robin`: where the next turn starts.
    cursor: usize,
    /// `weighted`: the smooth weighted round robin's current weights, per member position.
    current: Vec<i64>,
    rng: fastrand::Rng,
}

impl Policy {
    /// A fresh policy; `seed` makes `random` reproducible.
    pub fn new(strategy: Strategy, members: usize, seed: u64) -> Policy {
        Policy {
            strategy,
            cursor: 0,
            current: vec![0; members],
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The strategy this policy follows.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// Chooses a member (index into `fleet`) and one of its instances, or `None` when the
    /// task must wait. `members` lists the target's members in declaration order.
    pub fn choose(
        &mut self,
        members: &[usize],
        fleet: &[Member],
        ask: &Ask,
    ) -> Option<(usize, usize)> {
        let free = |m: usize| {
            if ask.excluded.contains(&m) {
                return None;
            }
            fleet[m].free_slot(ask.demand)
        };
        // One member: every strategy picks it when it is free.
        if let [only] = members {
            return free(*only).map(|slot| (*only, slot));
        }
        // Positions (in `members`) of the members that can take the task now.
        let open: Vec<(usize, usize)> = members
            .iter()
            .enumerate()
            .filter_map(|(pos, &m)| free(m).map(|slot| (pos, slot)))
            .collect();
        let pick = |pos: usize| {
            open.iter()
                .find(|(p, _)| *p == pos)
                .map(|&(p, slot)| (members[p], slot))
        };
        match &self.strategy {
            Strategy::Hash { .. } => {
                // Rendezvous hashing over the live members: the winner for a key changes
                // only when a member dies or comes back.
                let key = ask.key.unwrap_or(0);
                let owner = members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| fleet[**m].live() > 0 && !ask.excluded.contains(m))
                    .max_by_key(|(pos, m)| (mix(key ^ mix(fleet[**m].name_hash())), *pos))
                    .map(|(pos, _)| pos)?;
                pick(owner)
            }
            _ if open.is_empty() => None,
            Strategy::RoundRobin => {
                let n = members.len();
                let pos = (0..n)
                    .map(|i| (self.cursor + i) % n)
                    .find(|p| open.iter().any(|(q, _)| q == p))?;
                self.cursor = (pos + 1) % n;
                pick(pos)
            }
            Strategy::LeastBusy => {
                let &(pos, _) = open.iter().min_by(|a, b| {
                    let (la, lb) = (fleet[members[a.0]].load(), fleet[members[b.0]].load());
                    la.total_cmp(&lb).then(a.0.cmp(&b.0))
                })?;
                pick(pos)
            }
            Strategy::Weighted => {
                // Smooth weighted round robin (as in nginx): every open member gains its
                // weight, the richest is chosen and pays the total.
                let total: i64 = open
                    .iter()
                    .map(|&(p, _)| i64::from(fleet[members[p]].weight))
                    .sum();
                for &(p, _) in &open {
                    self.current[p] += i64::from(fleet[members[p]].weight);
                }
                let &(pos, _) = open.iter().max_by(|a, b| {
                    self.current[a.0]
                        .cmp(&self.current[b.0])
                        .then(b.0.cmp(&a.0))
                })?;
                self.current[pos] -= total;
                pick(pos)
            }
            Strategy::ResourceAware => {
                let &(pos, slot) = open.iter().max_by(|a, b| {
                    let ha = fleet[members[a.0]].headroom(a.1, ask.demand);
                    let hb = fleet[members[b.0]].headroom(b.1, ask.demand);
                    ha.total_cmp(&hb).then(b.0.cmp(&a.0))
                })?;
                Some((members[pos], slot))
            }
            Strategy::Auction => {
                // The lowest bid wins. A member that did not bid (no answer, or an agent that
                // cannot) ranks after every bidder, by its expected completion time.
                let cost = |pos: usize| {
                    let m = members[pos];
                    match ask.bids.iter().find(|(b, _)| *b == m) {
                        Some(&(_, c)) => (0, c),
                        None => (1, fleet[m].expected_ms()),
                    }
                };
                let &(pos, _) = open.iter().min_by(|a, b| {
                    let (ca, cb) = (cost(a.0), cost(b.0));
                    ca.0.cmp(&cb.0)
                        .then(ca.1.total_cmp(&cb.1))
                        .then(a.0.cmp(&b.0))
                })?;
                pick(pos)
            }
            Strategy::Performance => {
                let &(pos, _) = open.iter().min_by(|a, b| {
                    let ea = fleet[members[a.0]].expected_ms();
                    let eb = fleet[members[b.0]].expected_ms();
                    ea.total_cmp(&eb).then(a.0.cmp(&b.0))
                })?;
                pick(pos)
            }
            Strategy::Random { two_choices } => {
                let first = open[self.rng.usize(..open.len())];
                if !two_choices || open.len() == 1 {
                    return pick(first.0);
                }
                let second = open[self.rng.usize(..open.len())];
                let load = |pos: usize| fleet[members[pos]].load();
                let better = if load(second.0) < load(first.0) {
                    second
                } else {
                    first
                };
                pick(better.0)
            }
        }
    }
}

/// A 64-bit mixer (splitmix64's finaliser): spreads keys and names over the hash space.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of a string: a stable hash (the standard library's is randomly seeded).
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Member {
    fn name_hash(&self) -> u64 {
        stable_hash(&self.name)
    }
}

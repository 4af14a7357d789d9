//! A target's members and strategy, and the tasks waiting for it, best first.

use super::{Auction, Outcome, Request};
use crate::strategy::Policy;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A target: its members and strategy, and the tasks waiting for it.
pub struct Group {
    /// Indices into the fleet, in declaration order.
    pub members: Vec<usize>,
    /// The strategy and its state.
    pub policy: Policy,
    /// The pool it is part of (an index into the dispatcher's pools): the tasks waiting
    /// for all of a pool's groups are counted together.
    pub pool: Option<usize>,
    pub(super) queue: BinaryHeap<Queued>,
    /// `auction`: the bids asked for each waiting task, by arrival number.
    pub(super) auctions: HashMap<u64, Auction>,
}

impl Group {
    /// A target with nothing waiting.
    pub fn new(members: Vec<usize>, policy: Policy, pool: Option<usize>) -> Group {
        Group {
            members,
            policy,
            pool,
            queue: BinaryHeap::new(),
            auctions: HashMap::new(),
        }
    }
}

pub(super) struct Queued {
    pub(super) urgency: u8,
    pub(super) deadline: Option<Instant>,
    pub(super) seq: u64,
    pub(super) request: Request,
    pub(super) reply: oneshot::Sender<Outcome>,
}

impl Queued {
    /// Greater is served first: more urgent, then the earlier deadline, then the earlier
    /// arrival.
    pub(super) fn rank(&self, other: &Self) -> Ordering {
        let deadline = match (self.deadline, other.deadline) {
            (Some(a), Some(b)) => b.cmp(&a),
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        self.urgency
            .cmp(&other.urgency)
            .then(deadline)
            .then(other.seq.cmp(&self.seq))
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank(other)
    }
}

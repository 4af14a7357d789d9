//! The `auction` strategy's bidding: asking members for their price for a waiting task.

use super::{Group, Msg, Request, Shared, deliver};
use crate::agent::Bid;
use crate::fleet::Member;
use std::sync::Weak;

/// The bidding for one task.
pub(super) enum Auction {
    /// Some agent has not answered yet.
    Asked,
    /// Every bid is in: (member, cost).
    Closed(Vec<(usize, f64)>),
}

/// Asks the members of `group` that could take `request` now for their bids. Bids known at
/// once are returned; when some agent must be asked, its answers arrive later as
/// [`Msg::Bids`] and `None` is returned.
pub(super) fn open_auction(
    (index, seq): (usize, u64),
    group: &Group,
    fleet: &[Member],
    request: &Request,
    shared: &Weak<Shared>,
) -> Option<Vec<(usize, f64)>> {
    let excluded = request.excluded();
    let (demand, task) = (&request.demand, &request.task);
    let mut known = Vec::new();
    let mut asked = Vec::new();
    for &m in &group.members {
        let member = &fleet[m];
        let Some(slot) = member.free_slot(demand).filter(|_| !excluded.contains(&m)) else {
            continue;
        };
        match member.instances[slot].instance.bid(task) {
            Bid::None => {}
            // A known price is per task: the queue already on the member comes first.
            Bid::Now(cost) => known.push((m, cost * (1.0 + member.load().min(1e6)))),
            Bid::Later(answer) => asked.push((m, answer)),
        }
    }
    if asked.is_empty() {
        return Some(known);
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let mut answers = tokio::task::JoinSet::new();
        for (m, answer) in asked {
            answers.spawn(async move { answer.await.map(|cost| (m, cost)) });
        }
        let mut bids = known;
        while let Some(answer) = answers.join_next().await {
            if let Ok(Some(bid)) = answer {
                bids.push(bid);
            }
        }
        deliver(
            &shared,
            Msg::Bids {
                group: index,
                seq,
                bids,
            },
        );
    });
    None
}

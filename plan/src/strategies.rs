//! The balancing strategies by name: one table of what the checker, completion and the plan's
//! text know of each. [`Strategy`] is the strategy with its arguments; [`StrategyKind`] names
//! it, and every `match` on either is exhaustive, so a strategy added to one and not handled
//! by the checker, the plan or the runtime does not compile.

use crate::Strategy;

/// A strategy without its arguments: what a `strategy:` value names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrategyKind {
    /// `round_robin`
    RoundRobin,
    /// `least_busy`
    LeastBusy,
    /// `weighted`
    Weighted,
    /// `resource_aware`
    ResourceAware,
    /// `performance`
    Performance,
    /// `random`
    Random,
    /// `hash`
    Hash,
    /// `auction`
    Auction,
}

impl StrategyKind {
    /// Every strategy, in the order messages list them.
    pub const ALL: [StrategyKind; 8] = [
        StrategyKind::RoundRobin,
        StrategyKind::LeastBusy,
        StrategyKind::Weighted,
        StrategyKind::ResourceAware,
        StrategyKind::Performance,
        StrategyKind::Random,
        StrategyKind::Hash,
        StrategyKind::Auction,
    ];

    /// The strategy called `name`.
    pub fn parse(name: &str) -> Option<StrategyKind> {
        StrategyKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Its name as written in `.hive`.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::RoundRobin => "round_robin",
            StrategyKind::LeastBusy => "least_busy",
            StrategyKind::Weighted => "weighted",
            StrategyKind::ResourceAware => "resource_aware",
            StrategyKind::Performance => "performance",
            StrategyKind::Random => "random",
            StrategyKind::Hash => "hash",
            StrategyKind::Auction => "auction",
        }
    }

    /// The named arguments it takes (`hash(key: …)`); none for most.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            StrategyKind::Random => &["two_choices"],
            StrategyKind::Hash => &["key"],
            StrategyKind::RoundRobin
            | StrategyKind::LeastBusy
            | StrategyKind::Weighted
            | StrategyKind::ResourceAware
            | StrategyKind::Performance
            | StrategyKind::Auction => &[],
        }
    }

    /// Which member it picks, in one line.
    pub fn doc(self) -> &'static str {
        match self {
            StrategyKind::RoundRobin => "the next eligible member, in turn",
            StrategyKind::LeastBusy => {
                "the member with the fewest tasks in flight for its capacity"
            }
            StrategyKind::Weighted => "members in proportion to their `weight`, interleaved",
            StrategyKind::ResourceAware => "the member left with the most free resources",
            StrategyKind::Performance => "the member with the lowest expected completion time",
            StrategyKind::Random => "a member at random; `two_choices: true`: the less busy of two",
            StrategyKind::Hash => "the member consistent hashing of `key` gives",
            StrategyKind::Auction => "the member with the lowest bid",
        }
    }
}

impl<K> Strategy<K> {
    /// Which strategy it is.
    pub fn kind(&self) -> StrategyKind {
        match self {
            Strategy::RoundRobin => StrategyKind::RoundRobin,
            Strategy::LeastBusy => StrategyKind::LeastBusy,
            Strategy::Weighted => StrategyKind::Weighted,
            Strategy::ResourceAware => StrategyKind::ResourceAware,
            Strategy::Performance => StrategyKind::Performance,
            Strategy::Random { .. } => StrategyKind::Random,
            Strategy::Hash { .. } => StrategyKind::Hash,
            Strategy::Auction => StrategyKind::Auction,
        }
    }

    /// Its name as written in `.hive`, with `random`'s choice: `random(two_choices)`.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Random { two_choices: true } => "random(two_choices)",
            other => other.kind().name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StrategyKind;
    use crate::Strategy;

    /// A strategy's name in a plan (its serialised tag) is the name `.hive` writes.
    #[test]
    fn plans_name_strategies_as_the_table_does() {
        let strategies: [Strategy<()>; 8] = [
            Strategy::RoundRobin,
            Strategy::LeastBusy,
            Strategy::Weighted,
            Strategy::ResourceAware,
            Strategy::Performance,
            Strategy::Random { two_choices: false },
            Strategy::Hash { key: () },
            Strategy::Auction,
        ];
        for (s, kind) in strategies.iter().zip(StrategyKind::ALL) {
            assert_eq!(s.kind(), kind);
            let json = serde_json::to_value(s).expect("serialises");
            assert_eq!(json["name"], kind.name(), "{s:?}");
            assert_eq!(StrategyKind::parse(kind.name()), Some(kind));
        }
    }
}

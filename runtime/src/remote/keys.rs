//! Where distributed mode keeps things in Redis: every key under `hive:{namespace}:`.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `workers` | set | ids of registered workers |
//! | `worker:{id}` | string, expires after the lease | a live worker: its sources' hash and the instances it hosts |
//! | `runs` | hash | runs in progress: id → their sources' hash and agents |
//! | `run:{run}:tasks:{agent}:{level}` | stream, consumer group `workers` | deliveries of one agent's tasks of one priority level, 0 (`low`) to 4 (`critical`) |
//! | `run:{run}:results` | stream | results and errors sent back by workers, kept for the run's life: what a resumed coordinator takes instead of sending again |
//! | `run:{run}:journal` | stream | the run's journal: each entry the events appended since the one before, expiring `--keep` after the last |
//! | `run:{run}:coordinator` | string, expiring after the lease | the lease of the run's live coordinator: its host, process and a random part |
//! | `run:{run}:state:cell:{name}` | hash | a state cell: `n` its version, `v` its value (JSON); absent before its first write |
//! | `run:{run}:state:lock:{name}` | sorted set | the live leases of a lock: `x:TOKEN` (exclusive) or `s:TOKEN` (shared) by the end of the lease, in Redis's milliseconds |
//! | `run:{run}:state:token:{name}` | string | the last fencing token given out for a lock |
//! | `run:{run}:topics` | stream, a consumer group `agent:{name}` per subscribing agent | the run's topic messages, oldest first, trimmed past the longest `retain` |
//! | `run:{run}:topics:seq` | string | the last message's sequence number |
//! | `run:{run}:topics:key:{topic}:{key}` | string, expiring after the topic's `dedupe` | the id of the message that carried `key` |
//! | `dlq` | stream, capped | dead letters: tasks delivered too often without an answer |

/// Priority levels, as urgencies: 0 (`low`) to 4 (`critical`).
pub const LEVELS: std::ops::RangeInclusive<u8> = 0..=4;

/// The consumer group every worker reads a task stream through.
pub const GROUP: &str = "workers";

/// The names of a namespace's keys.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys of namespace `ns`.
    pub fn new(ns: &str) -> Keys {
        Keys {
            prefix: format!("hive:{ns}:"),
        }
    }

    /// The set of registered worker ids.
    pub fn workers(&self) -> String {
        format!("{}workers", self.prefix)
    }

    /// A live worker's registration.
    pub fn worker(&self, id: &str) -> String {
        format!("{}worker:{id}", self.prefix)
    }

    /// The runs in progress.
    pub fn runs(&self) -> String {
        format!("{}runs", self.prefix)
    }

    /// The dead letters of the namespace.
    pub fn dlq(&self) -> String {
        format!("{}dlq", self.prefix)
    }

    /// The stream of one agent's tasks of one priority level (0 `low` to 4 `critical`) in
    /// one run.
    pub fn tasks(&self, run: &str, agent: &str, level: u8) -> String {
        format!("{}run:{run}:tasks:{agent}:{level}", self.prefix)
    }

    /// The streams of one agent's tasks in one run, most urgent first.
    pub fn levels(&self, run: &str, agent: &str) -> impl Iterator<Item = String> + use<'_> {
        let (run, agent) = (run.to_string(), agent.to_string());
        LEVELS.rev().map(move |l| self.tasks(&run, &agent, l))
    }

    /// The stream workers send a run's results to.
    pub fn results(&self, run: &str) -> String {
        format!("{}run:{run}:results", self.prefix)
    }

    /// The lease of a run's coordinator.
    pub fn coordinator(&self, run: &str) -> String {
        format!("{}run:{run}:coordinator", self.prefix)
    }

    /// The stream of a run's journal.
    pub fn journal(&self, run: &str) -> String {
        format!("{}run:{run}:journal", self.prefix)
    }

    /// A state cell of a run.
    pub fn state_cell(&self, run: &str, name: &str) -> String {
        format!("{}run:{run}:state:cell:{name}", self.prefix)
    }

    /// The live leases of a lock of a run.
    pub fn state_lock(&self, run: &str, name: &str) -> String {
        format!("{}run:{run}:state:lock:{name}", self.prefix)
    }

    /// The last fencing token given out for a lock of a run.
    pub fn state_token(&self, run: &str, name: &str) -> String {
        format!("{}run:{run}:state:token:{name}", self.prefix)
    }

    /// A pattern matching every state key of a run.
    pub fn state_keys(&self, run: &str) -> String {
        format!("{}run:{run}:state:*", self.prefix)
    }

    /// The stream of a run's topic messages.
    pub fn topics(&self, run: &str) -> String {
        format!("{}run:{run}:topics", self.prefix)
    }

    /// The last sequence number given to a message of a run.
    pub fn topics_seq(&self, run: &str) -> String {
        format!("{}run:{run}:topics:seq", self.prefix)
    }

    /// The marker of a message key within its topic's `dedupe` window.
    pub fn topic_key(&self, run: &str, topic: &str, key: &str) -> String {
        format!("{}run:{run}:topics:key:{topic}:{key}", self.prefix)
    }

    /// The consumer group through which one subscribing agent's instances read a run's
    /// topic messages.
    pub fn subscriber(agent: &str) -> String {
        format!("agent:{agent}")
    }

    /// The run a task stream of this namespace belongs to.
    pub fn run_of<'a>(&self, tasks: &'a str) -> Option<&'a str> {
        let rest = tasks.strip_prefix(&self.prefix)?.strip_prefix("run:")?;
        rest.rfind(":tasks:").map(|at| &rest[..at])
    }

    /// The results stream of the run a task stream belongs to.
    pub fn results_for(tasks: &str) -> String {
        match tasks.rfind(":tasks:") {
            Some(at) => format!("{}:results", &tasks[..at]),
            None => format!("{tasks}:results"),
        }
    }
}

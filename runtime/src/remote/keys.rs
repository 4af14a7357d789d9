//! Where distributed mode keeps things in Redis: every key under `hive:{namespace}:`.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `workers` | set | ids of registered workers |
//! | `worker:{id}` | string, expires after the lease | a live worker: its sources' hash and the instances it hosts |
//! | `runs` | hash | runs in progress: id → their sources' hash and agents |
//! | `run:{run}:tasks:{agent}` | stream, consumer group `workers` | deliveries of one agent's tasks |
//! | `run:{run}:results` | stream | results and errors sent back by workers |
//! | `dlq` | stream, capped | dead letters: tasks delivered too often without an answer |

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

    /// The stream of one agent's tasks in one run.
    pub fn tasks(&self, run: &str, agent: &str) -> String {
        format!("{}run:{run}:tasks:{agent}", self.prefix)
    }

    /// The stream workers send a run's results to.
    pub fn results(&self, run: &str) -> String {
        format!("{}run:{run}:results", self.prefix)
    }

    /// The results stream of the run a task stream belongs to.
    pub fn results_for(tasks: &str) -> String {
        match tasks.rfind(":tasks:") {
            Some(at) => format!("{}:results", &tasks[..at]),
            None => format!("{tasks}:results"),
        }
    }
}

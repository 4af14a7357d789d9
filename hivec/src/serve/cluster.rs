//! `hivec serve --redis`: the service coordinates each run as `hivec run --redis` would. The
//! run's exec agents are hosted by `hivec worker`s, its journal is the run's journal stream in
//! Redis, and the run's lease keeps a second coordinator off it, so a run the server was
//! killed in is taken over once the lease expires, by this server started again or by
//! `hivec run --resume ID --redis URL`.
//!
//! Invariant: a run started here has exactly one journal, the one in Redis; the list of runs
//! under `--data` only points at it.

use hive_plan::Plan;
use hive_runtime::journal::{Header, Journal, Record};
use hive_runtime::remote::keys::Keys;
use hive_runtime::remote::{Lease, Link, Remote, RemoteOptions, dlq, masked, registry};
use serde_json::{Value, json};
use std::sync::Arc;

/// Where Redis is, and one connection to it for what the API reads.
pub struct Cluster {
    options: RemoteOptions,
    link: Arc<Link>,
    keys: Keys,
}

/// A run's journal in Redis and the coordination that goes with it.
pub struct Coordinated {
    /// The run's journal, in its stream.
    pub journal: Journal,
    /// The run's side of distributed mode, holding its lease.
    pub remote: Arc<Remote>,
}

impl Cluster {
    /// Connects to Redis (within `options.timeout`); the error names the Redis, password
    /// masked.
    pub async fn connect(options: RemoteOptions) -> Result<Cluster, String> {
        let link = Link::open(&options)
            .await
            .map(Arc::new)
            .map_err(|e| format!("--redis: {}", e.0))?;
        let keys = Keys::new(&options.namespace);
        Ok(Cluster {
            options,
            link,
            keys,
        })
    }

    /// Redis, as it may be shown: password masked.
    pub fn shown(&self) -> String {
        masked(&self.options.url)
    }

    /// Starts run `id` of `plan`: takes its lease, announces it to the workers and starts
    /// its journal.
    pub async fn start(
        &self,
        id: &str,
        plan: &Plan,
        header: &Header,
    ) -> Result<Coordinated, String> {
        let remote = self.coordinate(id, plan, &header.workflow, false).await?;
        let journal = remote.start_journal(header).map_err(|e| e.to_string())?;
        Ok(Coordinated { journal, remote })
    }

    /// The journal of run `id`, read to continue it.
    pub async fn recorded(&self, id: &str) -> Result<Record, String> {
        hive_runtime::remote::recorded(&self.link, &self.options.namespace, id)
            .await
            .map_err(|e| e.0)
    }

    /// Continues run `id` from `record`: waits out the lease of a killed coordinator, takes
    /// over what it left in flight and continues the journal.
    pub async fn resume(
        &self,
        id: &str,
        plan: &Plan,
        record: Record,
    ) -> Result<Coordinated, String> {
        let workflow = record.header.workflow.clone();
        let remote = self.coordinate(id, plan, &workflow, true).await?;
        let journal = remote.continue_journal(record).map_err(|e| e.to_string())?;
        Ok(Coordinated { journal, remote })
    }

    /// Takes run `id`'s lease and announces it, with the exec agents of `workflow` and those
    /// it calls: the ones its tasks go to.
    async fn coordinate(
        &self,
        id: &str,
        plan: &Plan,
        workflow: &str,
        resumed: bool,
    ) -> Result<Arc<Remote>, String> {
        let mut plan = plan.clone();
        plan.retain_workflow(workflow)?;
        let lease = Lease::take(&self.link, &self.options.namespace, id)
            .await
            .map_err(|e| e.0)?;
        Remote::connect(self.link.clone(), &self.options, &plan, lease, resumed)
            .await
            .map_err(|e| e.to_string())
    }

    /// The registered workers, with their instances and heartbeat ages.
    pub async fn workers(&self) -> Result<Value, String> {
        let views = registry::views(&self.link, &self.keys)
            .await
            .map_err(|e| e.0)?;
        Ok(json!(views))
    }

    /// Takes dead letter `id` out, so that its task is sent again when its run goes on;
    /// the run it belongs to, or `None` when there is no such letter.
    pub async fn requeue(&self, id: &str) -> Result<Option<String>, String> {
        let Some(letter) = dlq::show(&self.link, &self.keys, id)
            .await
            .map_err(|e| e.0)?
        else {
            return Ok(None);
        };
        if !dlq::requeue(&self.link, &self.keys, id)
            .await
            .map_err(|e| e.0)?
        {
            return Ok(None);
        }
        let run = letter
            .get("run")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(Some(run.to_string()))
    }

    /// The namespace's dead letters, oldest first, each with the id `hivec dlq requeue`
    /// takes.
    pub async fn letters(&self) -> Result<Vec<Value>, String> {
        let letters = dlq::list(&self.link, &self.keys).await.map_err(|e| e.0)?;
        Ok(letters
            .into_iter()
            .map(|(id, mut fields)| {
                fields.insert("id".into(), json!(id));
                Value::Object(fields)
            })
            .collect())
    }
}

//! The state messages of the agent protocol: `get`, `put`, `lock` and `unlock` from an agent,
//! answered with `value`, `put_ok`, `put_refused`, `get_refused` and `locked`.
//!
//! Invariant: a request is answered (except `unlock`, which has no answer), whatever it
//! holds; a refused write changes nothing and the run goes on. The requests of one agent
//! connection are applied in the order they were sent (a [`Lane`]), except `lock`, which is
//! answered once it is held, from a task of its own.

use super::Store;
use super::locks::Mode;
use super::store::Put;
use futures_util::FutureExt;
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// The message types this module answers.
pub const REQUESTS: &[&str] = &["get", "put", "lock", "unlock"];

type Pending = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Most requests a lane takes from its queue at once.
const BATCH: usize = 1_024;

/// A request waiting in a [`Lane`].
enum Job {
    /// A `put` by an agent of a capability, answered through `done`: consecutive ones to
    /// one cell are applied together.
    Write {
        store: Arc<Store>,
        capability: String,
        put: Put,
        done: Box<dyn FnOnce(Result<u64, super::Refused>) + Send>,
    },
    /// Any other request.
    Other(Pending),
}

/// The requests of one agent connection whose answers wait for Redis, applied in the order
/// they came: consecutive writes to one cell in one script call, the rest one after the
/// other.
#[derive(Default)]
pub struct Lane(OnceLock<mpsc::UnboundedSender<Job>>);

impl Lane {
    fn push(&self, job: Job) {
        let queue = self.0.get_or_init(|| {
            let (queue, jobs) = mpsc::unbounded_channel::<Job>();
            tokio::spawn(drain(jobs));
            queue
        });
        let _ = queue.send(job);
    }
}

/// Applies a lane's jobs as they come, in order.
async fn drain(mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut batch = batch.into_iter().peekable();
        while let Some(job) = batch.next() {
            let (store, capability, put, done) = match job {
                Job::Other(request) => {
                    request.await;
                    continue;
                }
                Job::Write {
                    store,
                    capability,
                    put,
                    done,
                } => (store, capability, put, done),
            };
            let key = put.key.clone();
            let mut writes = vec![(Some(capability), put)];
            let mut answers = vec![done];
            while let Some(Job::Write { store: s, put, .. }) = batch.peek()
                && Arc::ptr_eq(s, &store)
                && put.key == key
            {
                let Some(Job::Write {
                    capability,
                    put,
                    done,
                    ..
                }) = batch.next()
                else {
                    break;
                };
                writes.push((Some(capability), put));
                answers.push(done);
            }
            let results = store.put_batch(writes).await;
            for (done, result) in answers.into_iter().zip(results) {
                done(result);
            }
        }
    }
}

/// Answers state request `msg` from an agent on behalf of `capability` (the capability of the
/// task the request belongs to, or why none could be told). Answers go to `send`; requests
/// that wait for Redis queue on `lane`.
pub fn answer(
    store: &Arc<Store>,
    capability: Result<&str, String>,
    msg: &Value,
    lane: &Lane,
    send: impl Fn(String) + Send + 'static,
) {
    let kind = msg.get("type").and_then(Value::as_str).unwrap_or_default();
    let text = |field: &str| msg.get(field).and_then(Value::as_str).map(str::to_string);
    let id = msg.get("id").cloned();
    let reply = move |mut answer: Value| {
        if let Some(id) = &id {
            answer["id"] = id.clone();
        }
        answer.to_string()
    };
    let capability = capability.map(str::to_string);
    let immediate = store.immediate();
    let store = store.clone();
    let request: Pending = match kind {
        "get" => {
            let key = text("key").unwrap_or_default();
            Box::pin(async move {
                let read = match &capability {
                    Ok(c) => store.get(Some(c), &key).await,
                    Err(reason) => Err(reason.clone()),
                };
                let answer = match read {
                    Ok(v) => {
                        json!({"type": "value", "key": key, "value": v.value, "version": v.version})
                    }
                    Err(reason) => json!({"type": "get_refused", "key": key, "reason": reason}),
                };
                send(reply(answer));
            })
        }
        "put" => {
            let key = text("key").unwrap_or_default();
            let put = Put {
                key: key.clone(),
                value: msg.get("value").cloned().unwrap_or(Value::Null),
                expect: msg.get("expect").and_then(Value::as_u64),
                token: msg.get("token").and_then(Value::as_u64),
            };
            let answered = move |result: Result<u64, super::Refused>| {
                let answer = match result {
                    Ok(version) => json!({"type": "put_ok", "key": key, "version": version}),
                    Err(r) => json!({
                        "type": "put_refused",
                        "key": key,
                        "reason": r.reason,
                        "version": r.version,
                        "value": r.value,
                    }),
                };
                send(reply(answer));
            };
            match capability {
                Ok(capability) if !immediate => {
                    lane.push(Job::Write {
                        store,
                        capability,
                        put,
                        done: Box::new(answered),
                    });
                    return;
                }
                capability => Box::pin(async move {
                    let result = match &capability {
                        Ok(c) => store.put(Some(c), put).await,
                        Err(reason) => Err(store.refusal(&put.key, reason.clone()).await),
                    };
                    answered(result);
                }),
            }
        }
        "lock" => {
            let name = text("name").unwrap_or_default();
            let mode = match text("mode").as_deref() {
                None | Some("exclusive") => Ok(Mode::Exclusive),
                Some("shared") => Ok(Mode::Shared),
                Some(other) => Err(format!(
                    "mode `{other}` is neither `exclusive` nor `shared`"
                )),
            };
            let ttl = msg.get("ttl").and_then(Value::as_u64);
            let problem = match (&mode, ttl) {
                (Err(e), _) => Some(e.clone()),
                (_, None) => Some("`ttl` must be a whole number of milliseconds".to_string()),
                (_, Some(0)) => Some("`ttl` must be longer than zero".to_string()),
                _ => capability.err(),
            };
            if let Some(reason) = problem {
                send(reply(
                    json!({"type": "lock_refused", "name": name, "reason": reason}),
                ));
                return;
            }
            let (Ok(mode), Some(ttl)) = (mode, ttl) else {
                return;
            };
            tokio::spawn(async move {
                let answer = match store.lock(&name, mode, Duration::from_millis(ttl)).await {
                    Ok(token) => json!({"type": "locked", "name": name, "token": token}),
                    Err(reason) => json!({"type": "lock_refused", "name": name, "reason": reason}),
                };
                send(reply(answer));
            });
            return;
        }
        "unlock" => {
            let name = text("name").unwrap_or_default();
            let token = msg.get("token").and_then(Value::as_u64).unwrap_or(0);
            Box::pin(async move {
                if !store.unlock(&name, token).await {
                    tracing::debug!("unlock of `{name}` with token {token}, which holds no lease");
                }
            })
        }
        _ => return,
    };
    if immediate {
        // Nothing in memory waits: the request is answered before this returns.
        let _ = request.now_or_never();
    } else {
        lane.push(Job::Other(request));
    }
}

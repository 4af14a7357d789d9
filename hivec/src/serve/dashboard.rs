//! The web dashboard of `hivec serve`: its pages (`/`, `/runs/{id}`, `/agents`), whose HTML,
//! JS and CSS are compiled into the binary, and the two endpoints only it needs: a run's step
//! graph and the workflows with their agents.
//!
//! Invariant: the pages are the same static files for everyone and carry no data; all they
//! show comes from the API, with the token the browser was given, so serving them without
//! one reveals nothing.

use super::api::{ApiError, State, unknown_run};
use axum::Router;
use axum::extract::{Path, State as Shared};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hive_plan::{Callee, Plan};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const INDEX: &str = include_str!("dashboard/index.html");
const APP_JS: &str = include_str!("dashboard/app.js");
const RUN_JS: &str = include_str!("dashboard/run.js");
const CSS: &str = include_str!("dashboard/app.css");

/// The pages and their files; served without a token (see the module's invariant).
pub fn pages() -> Router<Arc<State>> {
    let page = || get(|| async { asset("text/html; charset=utf-8", INDEX) });
    Router::new()
        .route("/", page())
        .route("/runs/{id}", page())
        .route("/agents", page())
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/dashboard/run.js",
            get(|| async { asset("text/javascript; charset=utf-8", RUN_JS) }),
        )
        .route(
            "/dashboard/app.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            // Nothing on the pages comes from elsewhere, and they run no inline script; the
            // timeline places its bars with style attributes.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'",
            ),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The endpoints of this file, to go under the API's authentication.
pub fn api() -> Router<Arc<State>> {
    Router::new()
        .route("/v1/runs/{id}/graph", get(run_graph))
        .route("/v1/workflows", get(workflows))
}

/// `GET /v1/runs/{id}/graph`: the run's steps in the plan's order, each with the steps it
/// waits for.
async fn run_graph(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let events = state.runs.events(&id).ok_or_else(|| unknown_run(&id))?;
    Ok(axum::Json(events.graph().clone()).into_response())
}

/// Workflow `name`'s steps: for each its name, what it calls, whether it is a `for` map, the
/// indices of the steps it waits for and its layer (the longest chain of dependencies
/// before it), so that a page can lay the graph out without working that out itself.
pub fn graph(plan: &Plan, name: &str) -> Value {
    let Some(workflow) = plan.workflows.get(name) else {
        return json!({"workflow": name, "steps": []});
    };
    // Dependencies point backwards (the steps are in a topological order), so one pass
    // finds every layer.
    let mut layers: Vec<usize> = Vec::with_capacity(workflow.steps.len());
    let steps: Vec<Value> = workflow
        .steps
        .iter()
        .map(|step| {
            let layer = step
                .deps
                .iter()
                .filter_map(|&d| layers.get(d))
                .map(|l| l + 1)
                .max()
                .unwrap_or(0);
            layers.push(layer);
            let (kind, callee) = match &step.call {
                Callee::Capability(c) => ("capability", c),
                Callee::Workflow(w) => ("workflow", w),
                Callee::Publish(t) => ("publish", t),
                Callee::Receive(t) => ("receive", t),
            };
            json!({
                "name": step.name,
                "calls": callee,
                "kind": kind,
                "map": step.map.is_some(),
                "deps": step.deps,
                "layer": layer,
            })
        })
        .collect();
    json!({"workflow": name, "steps": steps})
}

/// `GET /v1/workflows`: every workflow the server runs with its inputs and step count, and
/// the agents their plans declare.
async fn workflows(Shared(state): Shared<Arc<State>>) -> Response {
    let served = state.workflows();
    let mut list = Vec::new();
    let mut agents: BTreeMap<&str, Value> = BTreeMap::new();
    for name in served.names() {
        let Some(plan) = served.get(name) else {
            continue;
        };
        let Some(workflow) = plan.workflows.get(name) else {
            continue;
        };
        let params: Vec<Value> = workflow
            .params
            .iter()
            .map(|p| json!({"name": p.name, "type": p.ty.to_string(), "required": p.default.is_none()}))
            .collect();
        list.push(json!({"name": name, "inputs": params, "steps": workflow.steps.len()}));
        for (agent, a) in &plan.agents {
            agents.entry(agent).or_insert_with(|| {
                json!({
                    "name": agent,
                    "provides": a.provides,
                    "kind": if a.builtin.is_some() { "built-in" } else if a.exec.is_some() { "exec" } else { "declared" },
                    "replicas": [a.min_replicas, a.max_replicas],
                    "concurrency": a.concurrency,
                })
            });
        }
    }
    axum::Json(json!({
        "workflows": list,
        "agents": agents.into_values().collect::<Vec<_>>(),
    }))
    .into_response()
}

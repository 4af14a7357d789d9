//! The HTTP API: `/healthz`, `/metrics`, and under `/v1` runs submitted, listed a page at a
//! time, shown, cancelled and retried, the files reloaded, the agents and dead letters.
//! Every error is `{"error": {"code", "message"}}` with its HTTP status.

use super::auth::{Tokens, bearer};
use super::runs::{Cancelled, Retried, Runs, Status};
use super::workflows::Workflows;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State as Shared};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hive_plan::Type;
use hive_runtime::conform::conform;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Request bodies larger than this are refused (413) as soon as they are seen to be.
const MAX_BODY: usize = 4 << 20;

/// Runs in a page of `GET /v1/runs` without `limit`, and the most `limit` may ask for.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1_000;

/// What every handler shares.
pub struct State {
    /// The workflows that can be run, replaced whole by `POST /v1/reload`.
    pub workflows: RwLock<Arc<Workflows>>,
    /// The files and root they are compiled from.
    pub sources: Sources,
    /// Every run so far.
    pub runs: Arc<Runs>,
    /// With `--tokens`: the tokens one of which every request but `/healthz` must bear.
    pub tokens: Option<Tokens>,
}

/// The files `hivec serve` compiles its workflows from.
pub struct Sources {
    /// Files and directories.
    pub paths: Vec<std::path::PathBuf>,
    /// Imports may not leave it.
    pub root: Option<std::path::PathBuf>,
}

impl State {
    /// The workflows served now.
    pub fn workflows(&self) -> Arc<Workflows> {
        self.workflows
            .read()
            .map_or_else(|e| e.into_inner().clone(), |w| w.clone())
    }
}

/// A failed request.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// More fields of the error: for an input that does not match its type, the `path` of
    /// the mismatch in the request body; for files that do not check, their `diagnostics`.
    extra: Map<String, Value>,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub(super) fn with(mut self, field: &str, value: Value) -> ApiError {
        self.extra.insert(field.to_string(), value);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        error.extend(self.extra);
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

/// The service's routes, authenticated as `state.tokens` says.
pub fn router(state: Arc<State>) -> Router {
    let v1 = Router::new()
        .route("/v1/runs", post(submit).get(list))
        .route("/v1/runs/{id}", get(show))
        .route("/v1/runs/{id}/cancel", post(cancel))
        .merge(super::events::routes())
        .merge(super::topics::routes())
        .merge(super::dashboard::api())
        .route("/v1/runs/{id}/retry", post(retry))
        .route("/v1/reload", post(reload))
        .route(
            "/v1/agents",
            get(|Shared(state): Shared<Arc<State>>| async move {
                let mut view = super::agents::view(&state.runs.live());
                if let Some(cluster) = state.runs.cluster() {
                    view["workers"] = cluster.workers().await.map_err(unreachable)?;
                }
                Ok::<_, ApiError>(axum::Json(view))
            }),
        )
        .route(
            "/v1/dlq",
            get(|Shared(state): Shared<Arc<State>>| async move {
                let letters = match state.runs.cluster() {
                    Some(cluster) => cluster.letters().await.map_err(unreachable)?,
                    None => state.runs.letters().list(),
                };
                Ok::<_, ApiError>(axum::Json(json!({ "letters": letters })))
            }),
        )
        .route("/v1/dlq/{id}/requeue", post(requeue))
        .route(
            "/metrics",
            get(|Shared(state): Shared<Arc<State>>| async move {
                let live: Vec<_> = state.runs.live().into_iter().map(|(_, rt)| rt).collect();
                state.runs.metrics().response(&live)
            }),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .merge(v1)
        .merge(super::dashboard::pages())
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // A panic is a bug, but it answers its request and leaves the server and its runs be.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed on this request; its log may say more",
            )
            .into_response()
        }))
        .with_state(state)
}

/// Lets a request through when no tokens are configured or it bears one of them; the log
/// names the token, never shows it.
async fn authenticate(Shared(state): Shared<Arc<State>>, request: Request, next: Next) -> Response {
    let Some(tokens) = &state.tokens else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| bearer(h.as_bytes()));
    let Some(given) = given else {
        return unauthorized("this endpoint needs `Authorization: Bearer TOKEN`");
    };
    match tokens.name_of(given) {
        Some(name) => {
            tracing::info!("{} {} by {name}", request.method(), request.uri().path());
            next.run(request).await
        }
        None => unauthorized("the bearer token is not one of the server's tokens"),
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// `POST /v1/runs {workflow, inputs}`: 201 with the run, once its inputs match the
/// workflow's parameters.
async fn submit(
    Shared(state): Shared<Arc<State>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message);
    let mut body = json_object(body, "{\"workflow\": …, \"inputs\": {…}}")?;
    let workflow = match body.remove("workflow") {
        Some(Value::String(w)) => w,
        Some(_) => return Err(bad("`workflow` is a string".into())),
        None => return Err(bad("the body names the `workflow` to run".into())),
    };
    let inputs = match body.remove("inputs") {
        Some(Value::Object(inputs)) => inputs,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(bad("`inputs` is an object of the workflow's inputs".into())),
    };
    if let Some(key) = body.keys().next() {
        return Err(bad(format!(
            "the body has no field `{key}`; its fields are `workflow` and `inputs`"
        )));
    }
    let workflows = state.workflows();
    let Some(plan) = workflows.get(&workflow) else {
        let names: Vec<&str> = workflows.names().collect();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-workflow",
            format!(
                "no workflow `{workflow}`; the server runs: {}",
                names.join(", ")
            ),
        ));
    };
    let inputs = checked_inputs(plan, &workflow, inputs)?;
    let run = state
        .runs
        .submit(plan, &workflow, inputs)
        .await
        .map_err(|e| {
            // With --redis, Redis refusing or unreachable: the run was not started.
            let code = if state.runs.cluster().is_some() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            ApiError::new(code, "not-recorded", e)
        })?;
    Ok((StatusCode::CREATED, axum::Json(run)).into_response())
}

/// A request's body as a JSON object (its shape, `expected`, for the error of any other);
/// 413 past [`MAX_BODY`], 400 for anything but an object.
pub(super) fn json_object(
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<Map<String, Value>, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message);
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is larger than {} MiB", MAX_BODY >> 20),
        ),
        _ => bad(format!("the body could not be read: {e}")),
    })?;
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    match body {
        Value::Object(body) => Ok(body),
        _ => Err(bad(format!("the body is a JSON object: {expected}"))),
    }
}

/// `inputs` checked against workflow `name`'s parameters and normalised as a run binds them;
/// the first mismatch is a 422 with its path in the request body.
fn checked_inputs(
    plan: &hive_plan::Plan,
    name: &str,
    mut inputs: Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let invalid = |path: String, message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", message)
            .with("path", Value::String(path))
    };
    let params = plan.workflows.get(name).map_or(&[][..], |w| &w.params);
    if let Some(key) = inputs
        .keys()
        .find(|k| !params.iter().any(|p| &p.name == *k))
    {
        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
        return Err(invalid(
            format!("$.inputs.{key}"),
            format!(
                "workflow `{name}` has no input `{key}`; its inputs are: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    }
    let mut checked = Map::new();
    for p in params {
        match inputs.remove(&p.name) {
            Some(value) => {
                let value = conform(value, &p.ty, &plan.types).map_err(|m| {
                    let inner = m.path.strip_prefix('$').unwrap_or(&m.path);
                    invalid(
                        format!("$.inputs.{}{inner}", p.name),
                        format!("input `{}` {m}", p.name),
                    )
                })?;
                checked.insert(p.name.clone(), value);
            }
            None if p.default.is_none() && !matches!(p.ty, Type::Optional(_)) => {
                return Err(invalid(
                    format!("$.inputs.{}", p.name),
                    format!("workflow `{name}` needs input `{}: {}`", p.name, p.ty),
                ));
            }
            None => {}
        }
    }
    Ok(checked)
}

/// `GET /v1/runs?status=&workflow=&limit=&after=`: the runs in the order submitted, a
/// page at a time; `next` is the `after` of the next page, when there may be one.
async fn list(
    Shared(state): Shared<Arc<State>>,
    query: Result<Query<BTreeMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "bad-request", message);
    let Query(query) = query.map_err(|e| bad(format!("the query is malformed: {e}")))?;
    const KEYS: [&str; 4] = ["status", "workflow", "limit", "after"];
    if let Some(key) = query.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!(
            "no parameter `{key}`; runs are filtered by `status` and `workflow`, and paged by `limit` and `after`"
        )));
    }
    let limit = match query.get("limit").filter(|l| !l.is_empty()) {
        None => DEFAULT_PAGE,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(bad(format!(
                    "`limit` is a number of runs from 1 to {MAX_PAGE}, not `{l}`"
                )));
            }
        },
    };
    let after = query.get("after").filter(|a| !a.is_empty());
    let status = match query.get("status").filter(|s| !s.is_empty()) {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
            bad(format!("no status `{s}`; a run is {}", names.join(", ")))
        })?),
        None => None,
    };
    let workflow = query.get("workflow").filter(|w| !w.is_empty());
    let runs = state.runs.list(
        status,
        workflow.map(String::as_str),
        after.map(String::as_str),
        limit,
    );
    let mut page = json!({ "runs": runs });
    if runs_len(&page) == limit {
        page["next"] = page["runs"][limit - 1]["id"].clone();
    }
    Ok(axum::Json(page).into_response())
}

fn runs_len(page: &Value) -> usize {
    page["runs"].as_array().map_or(0, Vec::len)
}

/// Redis could not be read (`--redis`).
fn unreachable(message: String) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "redis-unreachable",
        message,
    )
}

pub(super) fn unknown_run(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown-run",
        format!("no run `{id}`"),
    )
}

/// `GET /v1/runs/{id}`.
async fn show(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let run = state.runs.view(&id).ok_or_else(|| unknown_run(&id))?;
    Ok(axum::Json(run).into_response())
}

/// `POST /v1/runs/{id}/cancel`: 202 while the run stops; 409 once it has finished.
async fn cancel(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.runs.cancel(&id) {
        Cancelled::Stopping => {
            tracing::info!("run {id} cancelled");
            Ok((
                StatusCode::ACCEPTED,
                axum::Json(json!({"id": id, "status": "cancelling"})),
            )
                .into_response())
        }
        Cancelled::Finished(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "run-finished",
            format!("run `{id}` has already finished: {}", status.name()),
        )),
        Cancelled::Unknown => Err(unknown_run(&id)),
    }
}

/// `POST /v1/runs/{id}/retry`: 202 as a failed or cancelled run goes on from its journal,
/// its finished steps not run again; 409 for a run that is running or succeeded, or whose
/// journal cannot be continued.
async fn retry(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state.runs.retry(&id, &state.workflows()).await {
        Retried::Started(run) => {
            tracing::info!("run {id} retried");
            Ok((StatusCode::ACCEPTED, axum::Json(run)).into_response())
        }
        Retried::NotFailed(status) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not-failed",
            format!(
                "run `{id}` is {}: only a failed or cancelled run is retried",
                status.name()
            ),
        )),
        Retried::Refused(reason) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not-retryable",
            format!("run `{id}` cannot be retried: {reason}"),
        )),
        Retried::Unknown => Err(unknown_run(&id)),
    }
}

/// `POST /v1/dlq/{id}/requeue` (with `--redis`): 200 as dead letter `id` is taken out, so
/// that its task is sent again when its run is retried; 404 for no such letter; 409 in one
/// process, where a dead letter's step has failed and the run is what is retried.
async fn requeue(
    Shared(state): Shared<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(cluster) = state.runs.cluster() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not-distributed",
            "in one process a dead letter's step has failed with its run: retry the run (POST /v1/runs/{id}/retry)",
        ));
    };
    match cluster.requeue(&id).await.map_err(unreachable)? {
        Some(run) => {
            tracing::info!("dead letter {id} of run {run} requeued");
            Ok(axum::Json(json!({ "requeued": id, "run": run })).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown-letter",
            format!("no dead letter `{id}`"),
        )),
    }
}

/// `POST /v1/reload`: checks the files again; 200 with the workflows served from now on, or
/// 422 with the files' diagnostics, the workflows served before being kept. Runs in flight
/// go on with the plan they started with.
async fn reload(Shared(state): Shared<Arc<State>>) -> Result<Response, ApiError> {
    let checking = state.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let sources = &checking.sources;
        let style = hive_compiler::render::Style { color: false };
        Workflows::check(&sources.paths, sources.root.as_deref(), style)
    })
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("checking the files failed: {e}"),
        )
    })?;
    match checked {
        Ok((workflows, _)) => {
            let names: Vec<String> = workflows.names().map(str::to_string).collect();
            match state.workflows.write() {
                Ok(mut served) => *served = Arc::new(workflows),
                Err(e) => *e.into_inner() = Arc::new(workflows),
            }
            tracing::info!("reloaded: {} workflows", names.len());
            Ok(axum::Json(json!({ "workflows": names })).into_response())
        }
        Err(refused) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-checked",
            format!(
                "not reloaded: {}; the workflows served before are kept",
                refused.message
            ),
        )
        .with("diagnostics", Value::Array(refused.diagnostics))),
    }
}

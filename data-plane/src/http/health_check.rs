//! `GET /health`: a minimal real call to every deployment, in LiteLLM's
//! `healthy_endpoints` / `unhealthy_endpoints` shape. Nothing secret is in
//! the answer: model, group, id and API base only.
//!
//! With `general_settings.background_health_checks` the same probe runs
//! every `health_check_interval` in the background, and feeds the router:
//! a deployment that fails it is avoided until it passes again.

use super::AppState;
use super::auth::authenticate;
use super::error::ApiError;
use crate::providers::embeddings::{EmbeddingCall, EmbeddingInput, Encoding};
use crate::providers::{ChatCall, ChatOutput};
use crate::runtime::Deployment;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A probe that hangs is an unhealthy deployment, not a hung endpoint.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// How soon a config that turns background checks on is noticed.
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Runs the background health checks until `cancel`, following the served
/// config: they start, stop and change interval with it.
pub fn spawn_background(app: AppState, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let interval = match app.live.runtime() {
                Some(runtime) => match runtime.routing.health_check_interval {
                    Some(interval) => {
                        tokio::select! {
                            () = cancel.cancelled() => return,
                            () = check_all(&app, runtime.deployments()) => {}
                        }
                        interval
                    }
                    None => {
                        // Checks turned off: what they found no longer holds.
                        app.cooldowns.clear_unhealthy();
                        IDLE_POLL
                    }
                },
                None => IDLE_POLL,
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    });
}

async fn check_all(app: &AppState, deployments: &[Arc<Deployment>]) {
    let results = futures::future::join_all(deployments.iter().map(|d| probe(app, d))).await;
    for (deployment, result) in deployments.iter().zip(results) {
        record_verdict(app, deployment, &result);
    }
}

/// A probe's verdict, as the router acts on it (background checks on):
/// a failing deployment is avoided until a probe passes. Logged on change.
fn record_verdict(app: &AppState, deployment: &Deployment, result: &Result<(), String>) {
    let was_unhealthy = app.cooldowns.is_unhealthy(&deployment.id);
    match result {
        Err(error) if !was_unhealthy => tracing::warn!(
            deployment = %deployment.id, model_group = %deployment.model_name, %error,
            "health check failed: avoiding this deployment until it passes"
        ),
        Ok(()) if was_unhealthy => tracing::info!(
            deployment = %deployment.id, model_group = %deployment.model_name,
            "health check passed: deployment back in rotation"
        ),
        _ => {}
    }
    app.cooldowns.set_healthy(&deployment.id, result.is_ok());
}

pub async fn health(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let Some(runtime) = app.live.runtime() else {
        return ApiError::not_ready().into_response();
    };
    let caller = match authenticate(&headers, &runtime) {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    let visible: Vec<Arc<Deployment>> = runtime
        .deployments()
        .iter()
        .filter(|d| caller.may_use(&d.model_name))
        .cloned()
        .collect();
    let probes = visible.iter().map(|d| probe(&app, d));
    let results = futures::future::join_all(probes).await;
    let (mut healthy, mut unhealthy) = (Vec::new(), Vec::new());
    for (deployment, result) in visible.iter().zip(results) {
        let mut entry = Map::new();
        entry.insert("model".into(), json!(deployment.configured_model));
        entry.insert("model_name".into(), json!(deployment.model_name));
        entry.insert("model_id".into(), json!(deployment.id));
        let api_base = deployment.upstream.api_base();
        if !api_base.is_empty() {
            entry.insert("api_base".into(), json!(api_base));
        }
        match result {
            Ok(()) => healthy.push(Value::Object(entry)),
            Err(message) => {
                entry.insert("error".into(), json!(message));
                unhealthy.push(Value::Object(entry));
            }
        }
    }
    Json(json!({
        "healthy_count": healthy.len(),
        "unhealthy_count": unhealthy.len(),
        "healthy_endpoints": healthy,
        "unhealthy_endpoints": unhealthy,
    }))
    .into_response()
}

/// The dashboard's "check now": the probe of one deployment, run here (the
/// control plane, which authorized it, calls no provider), with what this
/// plane's router holds of it. Nothing secret: ids, names, API base.
///
/// With background health checks on, its verdict is this plane's as a
/// background probe's would be: a failing deployment is avoided, a passing
/// one readmitted at once, not at the next interval. With them off the
/// router never consults probes (LiteLLM's rule), so it only reports.
pub async fn check_one(app: &AppState, deployment_id: &str) -> Response {
    let Some(runtime) = app.live.runtime() else {
        return ApiError::not_ready().into_response();
    };
    let Some(d) = runtime
        .deployments()
        .iter()
        .find(|d| d.id == deployment_id)
        .cloned()
    else {
        return ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found_error",
            format!(
                "This data plane serves no deployment {deployment_id}: its snapshot may be older \
                 than the page; reload the Models page."
            ),
        )
        .into_response();
    };
    let started = std::time::Instant::now();
    let result = probe(app, &d).await;
    let elapsed = started.elapsed();
    let feeds_routing = runtime.routing.health_check_interval.is_some();
    if feeds_routing {
        record_verdict(app, &d, &result);
    }
    let api_base = d.upstream.api_base();
    Json(json!({
        "model_id": d.id,
        "model_name": d.model_name,
        "model": d.configured_model,
        "api_base": (!api_base.is_empty()).then_some(api_base),
        "healthy": result.is_ok(),
        "error": result.err(),
        "latency_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "node_id": app.live.node_id,
        "cooling_down": app.cooldowns.is_cooling(&d.id),
        "marked_unhealthy": app.cooldowns.is_unhealthy(&d.id),
        "feeds_routing": feeds_routing,
        "checked_at": chrono::Utc::now().to_rfc3339(),
    }))
    .into_response()
}

async fn probe(app: &AppState, d: &Deployment) -> Result<(), String> {
    let timeout = d.timeout.min(PROBE_TIMEOUT);
    let mut body = Map::new();
    body.insert("model".into(), json!(d.upstream_model));
    if d.mode.as_deref() == Some("embedding") {
        body.insert("input".into(), json!(["ping"]));
        let call = EmbeddingCall {
            client: &app.client,
            body,
            inputs: vec![EmbeddingInput::Text("ping".into())],
            encoding: Encoding::Float,
            dimensions: None,
            timeout,
            model_group: &d.model_name,
        };
        d.upstream
            .embeddings(call)
            .await
            .map(|_| ())
            .map_err(|e| e.message)
    } else {
        body.insert(
            "messages".into(),
            json!([{"role": "user", "content": "ping"}]),
        );
        body.insert("max_tokens".into(), json!(1));
        let call = ChatCall {
            client: &app.client,
            body,
            stream: false,
            include_usage: false,
            timeout,
            stream_timeout: timeout,
            drop_params: true,
            request_id: "health-check",
            model_group: &d.model_name,
        };
        match d.upstream.chat(call).await {
            Ok(ChatOutput::Complete { .. }) => Ok(()),
            // Not asked for, but a stream that starts is a live deployment.
            Ok(ChatOutput::Stream(mut chunks)) => match chunks.next().await {
                Some(crate::providers::StreamEvent::Data { .. }) => Ok(()),
                _ => Err("the stream ended before its first chunk".to_string()),
            },
            Err(e) => Err(e.message),
        }
    }
}

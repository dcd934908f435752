//! The handlers: validate the request in the endpoint's own terms, admit it
//! as chat is admitted (key, model access, limits and budgets), route it,
//! price the answer by the served deployment's per-unit price, and relay it.

use super::multipart::Form;
use super::operation::{Answer, Payload, Relay};
use super::unit_price::{Unit, cost, per_unit};
use crate::http::AppState;
use crate::http::admission;
use crate::http::endpoint::{
    Admitted, Routed, parse_object, read_body, resolve_group, route_call, set_litellm_headers,
};
use crate::http::error::ApiError;
use crate::http::usage_headers::{Timing, set_response_cost};
use crate::providers::ChatOutput;
use crate::providers::stream::Usage;
use crate::router;
use crate::runtime::Deployment;
use crate::usage::RequestMeta;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tracing::Instrument;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    Speech,
    Transcription,
    Moderation,
    Rerank,
}

impl Kind {
    /// LiteLLM's call types.
    fn call_type(self) -> &'static str {
        match self {
            Kind::Image => "aimage_generation",
            Kind::Speech => "aspeech",
            Kind::Transcription => "atranscription",
            Kind::Moderation => "amoderation",
            Kind::Rerank => "arerank",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Image => "/images/generations",
            Kind::Speech => "/audio/speech",
            Kind::Transcription => "/audio/transcriptions",
            Kind::Moderation => "/moderations",
            Kind::Rerank => "/rerank",
        }
    }
}

pub async fn images(State(app): State<AppState>, request: Request) -> Response {
    serve(app, request, Kind::Image).await
}

pub async fn speech(State(app): State<AppState>, request: Request) -> Response {
    serve(app, request, Kind::Speech).await
}

pub async fn transcriptions(State(app): State<AppState>, request: Request) -> Response {
    serve(app, request, Kind::Transcription).await
}

pub async fn moderations(State(app): State<AppState>, request: Request) -> Response {
    serve(app, request, Kind::Moderation).await
}

pub async fn rerank(State(app): State<AppState>, request: Request) -> Response {
    serve(app, request, Kind::Rerank).await
}

async fn serve(app: AppState, request: Request, kind: Kind) -> Response {
    let started = std::time::Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("relay", call_type = kind.call_type(), request_id = %request_id);
    async move {
        let mut routed = None;
        let result = handle(app, request, kind, request_id.clone(), &mut routed).await;
        let mut response = result.unwrap_or_else(IntoResponse::into_response);
        set_litellm_headers(&mut response, &request_id, routed.as_ref());
        if let Some(routed) = &routed {
            Timing::new(started, routed.upstream).set_headers(&mut response);
        }
        response
    }
    .instrument(span)
    .await
}

fn non_empty_string(body: &Map<String, Value>, key: &str, what: &str) -> Result<(), ApiError> {
    match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        _ => Err(ApiError::bad_request(
            format!("`{key}` is required: {what}."),
            Some(key),
        )),
    }
}

fn positive_int(body: &Map<String, Value>, key: &str, max: u64) -> Result<(), ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) if v.as_u64().is_some_and(|n| (1..=max).contains(&n)) => Ok(()),
        Some(_) => Err(ApiError::bad_request(
            format!("`{key}` must be an integer from 1 to {max}."),
            Some(key),
        )),
    }
}

/// The endpoint's own checks, before anything is admitted or sent.
fn validate(kind: Kind, body: &Map<String, Value>) -> Result<(), ApiError> {
    match kind {
        Kind::Image => {
            non_empty_string(body, "prompt", "the text of the image to generate")?;
            positive_int(body, "n", 10)
        }
        Kind::Speech => {
            non_empty_string(body, "input", "the text to speak")?;
            non_empty_string(body, "voice", "the voice to speak it in (alloy, …)")
        }
        Kind::Moderation => match body.get("input") {
            Some(Value::String(s)) if !s.is_empty() => Ok(()),
            Some(Value::Array(items)) if !items.is_empty() => Ok(()),
            _ => Err(ApiError::bad_request(
                "`input` is required: a string or an array of inputs to classify.",
                Some("input"),
            )),
        },
        Kind::Rerank => {
            non_empty_string(body, "query", "the query the documents are ranked for")?;
            let documents = body.get("documents").and_then(Value::as_array);
            let Some(documents) = documents.filter(|d| !d.is_empty()) else {
                return Err(ApiError::bad_request(
                    "`documents` is required: a non-empty array of texts (or {\"text\": …} objects).",
                    Some("documents"),
                ));
            };
            for (i, d) in documents.iter().enumerate() {
                if !(d.is_string() || d.get("text").is_some_and(Value::is_string)) {
                    return Err(ApiError::bad_request(
                        format!("documents[{i}] must be a string or an object with a `text`."),
                        Some(&format!("documents[{i}]")),
                    ));
                }
            }
            positive_int(body, "top_n", 10_000)
        }
        Kind::Transcription => Ok(()),
    }
}

/// The request's model and payload.
fn read(kind: Kind, headers: &HeaderMap, raw: Bytes) -> Result<(String, Payload), ApiError> {
    if kind != Kind::Transcription {
        let (model, body) = parse_object(&raw)?;
        validate(kind, &body)?;
        return Ok((model, Payload::Json(body)));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = Form::parse(content_type, &raw).map_err(|m| {
        ApiError::bad_request(
            format!("Transcriptions take a multipart upload: {m}."),
            None,
        )
    })?;
    let model = form
        .field("model")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "`model` is required: a form field naming the model. Call `/v1/models` to see the models available to your key.",
                Some("model"),
            )
        })?
        .to_string();
    match form.file("file") {
        Some(file) if file.filename.is_some() && !file.body.is_empty() => {}
        _ => {
            return Err(ApiError::bad_request(
                "`file` is required: the audio to transcribe, uploaded as a file.",
                Some("file"),
            ));
        }
    }
    Ok((model, Payload::Multipart(form)))
}

async fn handle(
    app: AppState,
    request: Request,
    kind: Kind,
    request_id: String,
    routed_out: &mut Option<Routed>,
) -> Result<Response, ApiError> {
    let (headers, raw) = read_body(request).await?;
    let (model, payload) = read(kind, &headers, raw)?;
    let runtime = app.live.runtime().ok_or_else(ApiError::not_ready)?;
    let empty = Map::new();
    let body = match &payload {
        Payload::Json(body) => body,
        Payload::Multipart(_) => &empty,
    };
    let meta = RequestMeta::read(body, &headers);
    let caller = admission::caller_for(&runtime, &headers, &model, meta.end_user.as_deref())?;
    let resolved = resolve_group(&runtime, &caller, &model)?;
    let group = resolved.group;
    let metered = admission::Metered {
        call_type: kind.call_type(),
        request_id,
        model: &model,
        stream: false,
        meta,
        budget_estimate: estimate(kind, &payload, group),
    };
    let (accounting, limit_headers) = admission::meter(&app, &runtime, &caller, metered).await?;
    let overrides = router::Overrides::from_body(body);
    // Speech is priced by the characters asked for.
    let characters = body
        .get("input")
        .and_then(Value::as_str)
        .map_or(0, |s| s.chars().count());
    let return_documents = body.get("return_documents").and_then(Value::as_bool);
    let op = Relay {
        client: &app.client,
        wildcard: resolved.wildcard.as_deref(),
        path: kind.path(),
        payload,
    };
    let admitted = Admitted {
        runtime: Arc::clone(&runtime),
        group: group.name.clone(),
        wildcard: resolved.wildcard.clone(),
        accounting,
        limit_headers,
    };
    let (answer, mut accounting) = route_call(&app, admitted, &op, overrides, routed_out).await?;
    let Some((_, deployment)) = routed_out.as_ref().and_then(|r| r.served.clone()) else {
        return Err(ApiError::not_ready());
    };
    let Answer {
        output: ChatOutput::Complete { body: answer, .. },
        content_type,
    } = answer
    else {
        return Err(ApiError::not_ready());
    };
    let parsed: Option<Value> = (kind != Kind::Speech)
        .then(|| serde_json::from_slice(&answer).ok())
        .flatten();
    let (units, usage) = measure(kind, parsed.as_ref(), characters);
    if let Some(unit) = units.map(|(unit, _)| unit) {
        let count = units.map_or(0.0, |(_, n)| n);
        match per_unit(&deployment, unit) {
            Some(price) => accounting.add_unit_cost(cost(price, count)),
            // Moderations are free at OpenAI; the others are unpriced
            // unless the deployment has a token price for their usage.
            None if kind == Kind::Moderation => accounting.add_unit_cost(0),
            None => {}
        }
    }
    let answer = match (kind, &parsed) {
        (Kind::Rerank, Some(v)) => cohere_shape(v, &deployment, return_documents)
            .map_or(answer, |v| Bytes::from(v.to_string())),
        _ => answer,
    };
    let settled = accounting.succeed_with_body(usage, &answer);
    let content_type = content_type.unwrap_or_else(|| HeaderValue::from_static("application/json"));
    let mut response = ([(header::CONTENT_TYPE, content_type)], answer).into_response();
    if let Some(cost) = settled.cost {
        set_response_cost(&mut response, cost);
    }
    Ok(response)
}

/// The budget reservation: the units the request asks for at the group's
/// dearest per-unit price (a transcription's seconds guessed from the
/// upload's size at 16 kB/s, at least one), plus any token estimate.
fn estimate(kind: Kind, payload: &Payload, group: &crate::runtime::ModelGroup) -> u64 {
    let (unit, count) = match (kind, payload) {
        (Kind::Image, Payload::Json(body)) => (
            Unit::Image,
            body.get("n").and_then(Value::as_u64).unwrap_or(1) as f64,
        ),
        (Kind::Speech, Payload::Json(body)) => (
            Unit::Character,
            body.get("input")
                .and_then(Value::as_str)
                .map_or(0, |s| s.chars().count()) as f64,
        ),
        (Kind::Transcription, Payload::Multipart(form)) => (
            Unit::InputSecond,
            form.file("file")
                .map_or(1.0, |f| (f.body.len() as f64 / 16_000.0).max(1.0)),
        ),
        (Kind::Moderation | Kind::Rerank, _) => (Unit::Query, 1.0),
        _ => return 0,
    };
    let dearest = group
        .deployments()
        .iter()
        .filter_map(|d| per_unit(d, unit))
        .max()
        .unwrap_or(0);
    let tokens = match payload {
        Payload::Json(body) => crate::limits::estimate::input_output(body, group),
        Payload::Multipart(_) => 0,
    };
    cost(dearest, count).saturating_add(tokens)
}

/// What an answer is charged for: its units (images, characters, seconds,
/// queries) and the tokens it reports.
fn measure(kind: Kind, answer: Option<&Value>, characters: usize) -> (Option<(Unit, f64)>, Usage) {
    let count = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let usage = answer.and_then(|a| a.get("usage"));
    let tokens = Usage {
        prompt_tokens: count(usage.and_then(|u| {
            u.get("input_tokens")
                .or_else(|| u.get("prompt_tokens"))
                .or_else(|| u.get("total_tokens"))
        })),
        completion_tokens: count(usage.and_then(|u| u.get("output_tokens"))),
        cached_tokens: 0,
    };
    match kind {
        Kind::Image => {
            let images = answer
                .and_then(|a| a.get("data"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            (Some((Unit::Image, images as f64)), tokens)
        }
        Kind::Speech => (Some((Unit::Character, characters as f64)), Usage::default()),
        Kind::Transcription => {
            // `duration` (verbose_json), else OpenAI's duration usage.
            let seconds = answer
                .and_then(|a| a.get("duration"))
                .and_then(Value::as_f64)
                .or_else(|| {
                    usage
                        .filter(|u| u.get("type").and_then(Value::as_str) == Some("duration"))
                        .and_then(|u| u.get("seconds"))
                        .and_then(Value::as_f64)
                })
                .unwrap_or(0.0);
            let by_tokens =
                usage.and_then(|u| u.get("type")).and_then(Value::as_str) == Some("tokens");
            (
                Some((Unit::InputSecond, seconds)),
                if by_tokens { tokens } else { Usage::default() },
            )
        }
        // Free at OpenAI; a deployment may set a price per request.
        Kind::Moderation => (Some((Unit::Query, 1.0)), Usage::default()),
        Kind::Rerank => (Some((Unit::Query, 1.0)), tokens),
    }
}

/// Cohere's rerank answer (what `/rerank` clients expect) from a Jina- or
/// vLLM-shaped one; Cohere's own is kept as sent.
fn cohere_shape(
    answer: &Value,
    deployment: &Deployment,
    return_documents: Option<bool>,
) -> Option<Value> {
    if deployment.provider == "cohere" {
        return None;
    }
    let results = answer.get("results")?.as_array()?;
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut out =
                json!({"index": r.get("index"), "relevance_score": r.get("relevance_score")});
            if return_documents == Some(true)
                && let Some(doc) = r.get("document")
            {
                out["document"] = doc.clone();
            }
            out
        })
        .collect();
    let mut meta = json!({"api_version": {"version": "2"}});
    if let Some(tokens) = answer.get("usage").and_then(|u| u.get("total_tokens")) {
        meta["billed_units"] = json!({"total_tokens": tokens});
    }
    Some(json!({
        "id": answer.get("id").cloned().unwrap_or_else(|| Value::String(uuid::Uuid::new_v4().to_string())),
        "results": results,
        "meta": meta,
    }))
}

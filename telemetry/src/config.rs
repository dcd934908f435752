//! What switches tracing on and how it exports, read from the standard
//! OpenTelemetry variables (`OTEL_*`) and LiteLLM's aliases, and from the
//! config file (`litellm_settings.callbacks`).

use serde_json::Value;

/// Which plane this process is; names the default `service.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    DataPlane,
    ControlPlane,
    /// The all-in-one launcher: both planes in one process.
    AllInOne,
}

impl Service {
    pub fn default_name(self) -> &'static str {
        match self {
            Service::DataPlane => "tollgate-dataplane",
            Service::ControlPlane => "tollgate-controlplane",
            Service::AllInOne => "tollgate",
        }
    }
}

/// How spans leave the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The OTLP endpoint the standard variables name (traces-specific first),
/// then LiteLLM's `OTEL_ENDPOINT`.
pub fn endpoint() -> Option<String> {
    var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
        .or_else(|| var("OTEL_ENDPOINT"))
}

/// `OTEL_EXPORTER_OTLP_{TRACES_,}PROTOCOL` (`grpc`, `http/protobuf`), else
/// LiteLLM's `OTEL_EXPORTER` (`otlp_grpc`, `grpc`, `otlp_http`, `http`),
/// else gRPC (OpenTelemetry's default for the Rust SDK is HTTP, but the
/// collectors and Jaeger all take gRPC on :4317).
pub fn protocol() -> Protocol {
    let named = var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .or_else(|| var("OTEL_EXPORTER"));
    match named.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("http/protobuf" | "http" | "otlp_http" | "http/json") => Protocol::HttpProtobuf,
        _ => Protocol::Grpc,
    }
}

/// Extra export headers: the standard variables, else LiteLLM's
/// `OTEL_HEADERS` (same `k=v,k2=v2` form).
pub fn headers() -> Vec<(String, String)> {
    let Some(raw) = var("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .or_else(|| var("OTEL_EXPORTER_OTLP_HEADERS"))
        .or_else(|| var("OTEL_HEADERS"))
    else {
        return Vec::new();
    };
    raw.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let (k, v) = (k.trim(), v.trim());
            (!k.is_empty()).then(|| (k.to_ascii_lowercase(), percent_decode(v)))
        })
        .collect()
}

/// The spec says header values are URL-encoded (`Bearer%20x`).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Tracing is wanted from the start: a standard OTLP endpoint variable is
/// set, or `OTEL_TRACES_EXPORTER=otlp`. LiteLLM's own variables
/// (`OTEL_EXPORTER`, `OTEL_ENDPOINT`, `OTEL_HEADERS`) only say *how* to
/// export once its `callbacks: ["otel"]` asks for it, as in LiteLLM.
/// `OTEL_SDK_DISABLED=true` wins over all of them.
pub fn from_env_enabled() -> bool {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return false;
    }
    if var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none")) {
        return false;
    }
    var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("otlp"))
}

/// The GenAI instrumentations' switch for message content on spans.
pub const CAPTURE_CONTENT_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// Whether message content goes on spans. LiteLLM's kill switch,
/// `litellm_settings.turn_off_message_logging: true`, wins over everything.
/// Otherwise content is on when the process has
/// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true` (the
/// OpenTelemetry instrumentations' variable), or when the config says both
/// `turn_off_message_logging: false` and `tollgate_otel_capture_content:
/// true` (LiteLLM's default is to log content; the conventions' is not to,
/// so the config needs Tollgate's own switch too).
pub fn content_opt_in(turn_off: Option<bool>, tollgate_flag: bool, env: Option<&str>) -> bool {
    if turn_off == Some(true) {
        return false;
    }
    let env_on = env.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    env_on || (turn_off == Some(false) && tollgate_flag)
}

/// What the config file asks of observability (LiteLLM's keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtelSettings {
    /// `litellm_settings.callbacks` (or `success_callback`) lists `otel`.
    pub otel_callback: bool,
    /// `litellm_settings.callbacks` lists `prometheus`: LiteLLM's metric
    /// names are served beside Tollgate's (always on in Tollgate; kept for
    /// the docs).
    pub prometheus_callback: bool,
    /// `general_settings.require_auth_for_metrics_endpoint`.
    pub metrics_require_auth: bool,
    /// Message content on spans (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`); off by default, as the GenAI conventions
    /// ask. See [`content_opt_in`].
    pub capture_content: bool,
    /// `general_settings.metrics_team_label: true`: a `team` label on the
    /// data plane's request counters (off: team count unbounded).
    pub metrics_team_label: bool,
    /// `general_settings.metrics_key_label: true`: an `api_key_alias`
    /// label (off by default; per-key series are unbounded).
    pub metrics_key_label: bool,
    /// `litellm_settings.prometheus_initialize_budget_metrics: true`: the
    /// control plane also exports budget gauges per key and per user (off
    /// by default: one series per key is unbounded).
    pub budget_metrics_per_key_and_user: bool,
}

impl OtelSettings {
    /// Reads the settings sections as written in the config file.
    pub fn from_sections(litellm: Option<&Value>, general: Option<&Value>) -> Self {
        let lists = |name: &str, want: &str| {
            litellm
                .and_then(|s| s.get(name))
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .any(|c| c.eq_ignore_ascii_case(want))
                })
        };
        let flag = |section: Option<&Value>, name: &str| {
            section
                .and_then(|s| s.get(name))
                .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"))
        };
        let turn_off = litellm
            .and_then(|s| s.get("turn_off_message_logging"))
            .and_then(Value::as_bool);
        Self {
            otel_callback: ["callbacks", "success_callback"]
                .iter()
                .any(|n| lists(n, "otel")),
            prometheus_callback: ["callbacks", "success_callback"]
                .iter()
                .any(|n| lists(n, "prometheus")),
            metrics_require_auth: flag(general, "require_auth_for_metrics_endpoint"),
            capture_content: content_opt_in(
                turn_off,
                flag(litellm, "tollgate_otel_capture_content"),
                var(CAPTURE_CONTENT_VAR).as_deref(),
            ),
            metrics_team_label: flag(general, "metrics_team_label"),
            metrics_key_label: flag(general, "metrics_key_label"),
            budget_metrics_per_key_and_user: flag(litellm, "prometheus_initialize_budget_metrics"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_litellm_settings() {
        let s = OtelSettings::from_sections(
            Some(&json!({"callbacks": ["prometheus", "otel"], "turn_off_message_logging": false})),
            Some(&json!({"require_auth_for_metrics_endpoint": true})),
        );
        assert!(s.otel_callback && s.prometheus_callback && s.metrics_require_auth);
        assert!(
            !s.capture_content,
            "content needs Tollgate's own switch too"
        );
        assert_eq!(
            OtelSettings::from_sections(None, None),
            OtelSettings::default()
        );
    }

    #[test]
    fn content_needs_an_opt_in_and_the_kill_switch_wins() {
        assert!(!content_opt_in(None, false, None));
        assert!(!content_opt_in(Some(false), false, None));
        assert!(
            !content_opt_in(None, true, None),
            "turn_off_message_logging: false too"
        );
        assert!(content_opt_in(Some(false), true, None));
        assert!(content_opt_in(None, false, Some("true")));
        assert!(content_opt_in(None, false, Some("TRUE")));
        assert!(!content_opt_in(None, false, Some("false")));
        assert!(!content_opt_in(Some(true), true, Some("true")));
    }

    #[test]
    fn decodes_header_values() {
        assert_eq!(percent_decode("Bearer%20abc"), "Bearer abc");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }
}

//! Prometheus metrics: one registry for the process, rendered as text at `/metrics`.
//!
//! The core stays free of instrumentation: what it does is measured at the edge, by decorators
//! around its ports ([`metered`]: the chat model, the tools, recall, the run registry) and by the
//! HTTP and Socket.IO layers. A process-wide registry (not one per `AppState`) because a
//! Prometheus scrape is per process, and test servers in one process only add to counters.

pub mod metered;

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use std::sync::LazyLock;

/// Every series the server exports.
pub struct Metrics {
    registry: Registry,
    /// `meai_http_requests_total{method, route, status}`.
    pub http_requests: IntCounterVec,
    /// `meai_http_request_duration_seconds{method, route}`.
    pub http_latency: HistogramVec,
    /// Connected Socket.IO sockets of this instance.
    pub active_sockets: IntGauge,
    /// Runs (assistant turns) executing on this instance.
    pub active_runs: IntGauge,
    /// From the start of a run to its first `assistant` chunk.
    pub time_to_first_token: Histogram,
    /// `meai_model_tokens_total{direction="in"|"out"}` as reported by the provider.
    pub model_tokens: IntCounterVec,
    /// `meai_tool_calls_total{toolkit, outcome}`.
    pub tool_calls: IntCounterVec,
    /// `meai_tool_approvals_total{toolkit, event}`: approvals `requested`, `approved`, `denied`,
    /// `expired`.
    pub tool_approvals: IntCounterVec,
    /// Semantic recall within a turn (embedding + vector search).
    pub recall_latency: Histogram,
    /// `meai_turn_stage_seconds{stage}`: the backend's time before a turn's first token, stage
    /// by stage ([`meai_core::turn::Stage`]).
    pub turn_stage: HistogramVec,
    /// `meai_errors_total{kind}`: `http_5xx`, `model`, `turn`, `tool`, `recall`, `run_registry`...
    pub errors: IntCounterVec,
    /// `meai_rate_limited_total{limit}`: requests and messages refused by a limit.
    pub rate_limited: IntCounterVec,
}

/// Latency buckets from 5 ms to 30 s: fast REST calls and slow model answers alike.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Stage buckets from 10 µs to 2.5 s: the stages before a first token take micro- to
/// milliseconds, a slow provider connect seconds.
const STAGE_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn histogram(registry: &Registry, name: &str, help: &str) -> Histogram {
    let h =
        Histogram::with_opts(HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec())).expect("valid metric");
    registry.register(Box::new(h.clone())).expect("unique metric");
    h
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    registry.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "meai_http_request_duration_seconds",
                "HTTP request latency by route template",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(http_latency.clone()))
            .expect("unique metric");
        let turn_stage = HistogramVec::new(
            HistogramOpts::new(
                "meai_turn_stage_seconds",
                "The backend's time before a turn's first token, by stage",
            )
            .buckets(STAGE_BUCKETS.to_vec()),
            &["stage"],
        )
        .expect("valid metric");
        registry.register(Box::new(turn_stage.clone())).expect("unique metric");
        // Every stage is exported from the start, so a scrape shows them before the first turn.
        for stage in meai_core::turn::Stage::ALL {
            turn_stage.with_label_values(&[stage.as_str()]);
        }
        Self {
            turn_stage,
            http_requests: counter(
                &registry,
                "meai_http_requests_total",
                "HTTP requests by route template and status",
                &["method", "route", "status"],
            ),
            http_latency,
            active_sockets: gauge(&registry, "meai_active_sockets", "Connected Socket.IO sockets"),
            active_runs: gauge(
                &registry,
                "meai_active_runs",
                "Assistant turns running on this instance",
            ),
            time_to_first_token: histogram(
                &registry,
                "meai_time_to_first_token_seconds",
                "From the start of a turn to its first streamed chunk",
            ),
            model_tokens: counter(
                &registry,
                "meai_model_tokens_total",
                "Model tokens by direction",
                &["direction"],
            ),
            tool_calls: counter(
                &registry,
                "meai_tool_calls_total",
                "Tool calls by toolkit and outcome",
                &["toolkit", "outcome"],
            ),
            tool_approvals: counter(
                &registry,
                "meai_tool_approvals_total",
                "Tool call approvals by toolkit and what happened to them",
                &["toolkit", "event"],
            ),
            recall_latency: histogram(
                &registry,
                "meai_recall_duration_seconds",
                "Semantic recall latency in a turn",
            ),
            errors: counter(&registry, "meai_errors_total", "Errors by kind", &["kind"]),
            rate_limited: counter(&registry, "meai_rate_limited_total", "Refusals by limit", &["limit"]),
            registry,
        }
    }

    pub fn error(&self, kind: &str) {
        self.errors.with_label_values(&[kind]).inc();
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// The route label of a request: the matched template when routing found one, else the path
/// with numeric segments replaced (ids), and a fixed label for 404s so that scanners probing
/// random paths cannot blow up the series count.
pub fn route_label(pattern: Option<&str>, path: &str, status: u16) -> String {
    if let Some(p) = pattern {
        return p.to_owned();
    }
    if status == 404 {
        return "unmatched".into();
    }
    if path.starts_with("/socket.io") {
        return "/socket.io".into();
    }
    path.split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                ":id"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_have_bounded_cardinality() {
        assert_eq!(
            route_label(Some("/conversations/:id"), "/conversations/7", 200),
            "/conversations/:id"
        );
        assert_eq!(
            route_label(None, "/conversations/12/messages", 401),
            "/conversations/:id/messages"
        );
        assert_eq!(route_label(None, "/wp-admin/x.php", 404), "unmatched");
        assert_eq!(route_label(None, "/socket.io/", 200), "/socket.io");
    }

    #[test]
    fn render_lists_every_series() {
        let m = metrics();
        m.http_requests.with_label_values(&["GET", "/health", "200"]).inc();
        m.error("test");
        m.model_tokens.with_label_values(&["in"]).inc_by(0);
        m.tool_calls.with_label_values(&["GMAIL", "ok"]).inc_by(0);
        let text = m.render();
        for name in [
            "meai_http_requests_total",
            "meai_active_sockets",
            "meai_active_runs",
            "meai_errors_total",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}

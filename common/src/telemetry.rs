//! Telemetry bootstrap: `tracing` with JSON or pretty output, W3C trace context in and out,
//! and OpenTelemetry OTLP export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (nothing otherwise).

use std::sync::OnceLock;

use http::HeaderMap;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat};

/// Flushes exported spans when dropped; keep it alive for the life of `main`.
#[must_use = "dropping the guard stops span export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("flushing traces at shutdown failed: {error}");
        }
    }
}

static INSTALLED: OnceLock<()> = OnceLock::new();

/// Installs the process-wide subscriber. Later calls (tests, the all-in-one launcher) keep the
/// first one and return a guard that does nothing.
pub fn init(service_name: &str, log: &LogConfig) -> anyhow::Result<TelemetryGuard> {
    if INSTALLED.get().is_some() {
        return Ok(TelemetryGuard { provider: None });
    }
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .map_err(|e| anyhow::anyhow!("invalid log filter `{}`: {e}", log.filter))?;
    let provider = tracer_provider(service_name)?;
    let installed = install(provider.clone(), filter, log.format, false);
    if installed {
        let _ = INSTALLED.set(());
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
            tracing::info!("exporting traces over OTLP");
        }
        Ok(TelemetryGuard {
            provider: Some(provider),
        })
    } else {
        Ok(TelemetryGuard { provider: None })
    }
}

/// For tests: trace context works, log lines are shown only when `TEST_LOG` is set.
pub fn init_for_tests() {
    if INSTALLED.get().is_some() {
        return;
    }
    let provider = SdkTracerProvider::builder().build();
    let filter = if std::env::var_os("TEST_LOG").is_some() {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"))
    } else {
        EnvFilter::new("off")
    };
    if install(provider, filter, LogFormat::Pretty, true) {
        let _ = INSTALLED.set(());
    }
}

fn tracer_provider(service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        use opentelemetry_otlp::WithExportConfig as _;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()
            .map_err(|e| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT is set but unusable: {e}"))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

fn install(
    provider: SdkTracerProvider,
    filter: EnvFilter,
    format: LogFormat,
    test_writer: bool,
) -> bool {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("nordform");
    opentelemetry::global::set_tracer_provider(provider);
    // Spans always reach OpenTelemetry (trace context must flow even when logs are quiet);
    // the log filter only decides what is printed.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(LevelFilter::INFO);
    let fmt = match (format, test_writer) {
        (_, true) => tracing_subscriber::fmt::layer().with_test_writer().boxed(),
        (LogFormat::Json, false) => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        (LogFormat::Pretty, false) => tracing_subscriber::fmt::layer().boxed(),
    };
    tracing_subscriber::registry()
        .with(otel)
        .with(fmt.with_filter(filter))
        .try_init()
        .is_ok()
}

/// Makes the W3C `traceparent` of an incoming request the parent of `span`.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(headers))
    });
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The trace id of `span` as 32 hex digits, when it has one.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

//! `http-sink`: Confluent's HTTP sink connector (`io.confluent.connect.http.HttpSinkConnector`)
//! as a Sluice plugin: record values go to a web API in the body of `POST`/`PUT`/`PATCH`
//! requests, several records per request.
//!
//! Design decision: the plugin sends through `wasi:http` (the SDK's `http` client), so the
//! host decides what it may reach — the connector's `wasm.network.allow` — and bounds sizes
//! and times (`wasm.http.*`); a put's requests are all answered before the put returns (see
//! [`delivery`]). The parts: [`config`], [`body`] (values, bodies, URLs), [`delivery`]
//! (batching, retries, outcomes) over the SDK's [`transport`] trait, and [`WasiHttp`], the
//! transport the component uses.

pub mod body;
pub mod config;
pub mod delivery;
pub use sluice_plugin_sdk::transport;

use std::time::Duration;

use sluice_plugin_sdk::http::{Error as HttpError, Request};
use sluice_plugin_sdk::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use sluice_plugin_sdk::{
    log, Config, ConfigProblem, PluginSpec, Record, RecordFailure, Sink, TaskError,
};

/// The SDK's blocking `wasi:http` client as a [`Transport`].
pub struct WasiHttp {
    timeout: Duration,
}

impl Transport for WasiHttp {
    fn send(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut r = Request::new(&request.method, &request.url)
            .timeout(self.timeout)
            .max_redirects(0)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            r = r.header(name, value);
        }
        match r.send() {
            Ok(response) => Ok(HttpResponse {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }),
            Err(e @ (HttpError::Denied(_) | HttpError::Url(_) | HttpError::Header(_))) => {
                Err(TransportError::Refused(e.to_string()))
            }
            Err(e) => Err(TransportError::Failed(e.to_string())),
        }
    }
}

/// One HTTP sink task.
pub struct HttpSink {
    delivery: delivery::Delivery<WasiHttp, delivery::RealSleep>,
}

impl Sink for HttpSink {
    fn spec() -> PluginSpec {
        let mut spec = PluginSpec::new("io.confluent.connect.http.HttpSinkConnector", "0.1.0")
            .alias("HttpSinkConnector")
            .alias("http-sink")
            .description(
                "Sends record values to an HTTP API, several per request, as Confluent's HTTP \
                 sink does; needs wasm.network.allow for the API's host:port.",
            );
        for def in config::defs() {
            spec = spec.config(def);
        }
        spec
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        config::compile(config).err().unwrap_or_default()
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let c =
            config::compile(&config).map_err(|problems| TaskError::invalid_config(&problems))?;
        if c.reporter_ignored {
            log::warn!(
                "http-sink: reporter.* is set, but responses are not written to Kafka topics \
                 by this plugin; failed records go to the dead letter queue \
                 (errors.deadletterqueue.topic.name) instead"
            );
        }
        if u64::from(c.max_retries) * c.retry_backoff_ms > 50_000 {
            log::warn!(
                "http-sink: max.retries={} x retry.backoff.ms={} waits more than 50 s in one put; \
                 the connector's wasm.call.timeout.ms (60 s by default) must be longer",
                c.max_retries,
                c.retry_backoff_ms
            );
        }
        log::info!(
            "http-sink: sending to {} with {}",
            delivery::shown_url(&c.url),
            c.method
        );
        let transport = WasiHttp {
            timeout: Duration::from_millis(c.timeout_ms),
        };
        Ok(HttpSink {
            delivery: delivery::Delivery::new(transport, delivery::RealSleep, c),
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        self.delivery.put(&records)
    }
}

sluice_plugin_sdk::export_sink!(HttpSink);

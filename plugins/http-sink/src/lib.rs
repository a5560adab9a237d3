//! `http-sink`: Confluent's HTTP sink connector (`io.confluent.connect.http.HttpSinkConnector`)
//! as a Sluice plugin: record values go to a web API in the body of `POST`/`PUT`/`PATCH`
//! requests, several records per request.
//!
//! Design decision: the plugin sends through `wasi:http` (the SDK's `http` client), so the
//! host decides what it may reach — the connector's `wasm.network.allow` — and bounds sizes
//! and times (`wasm.http.*`); a put's requests are all answered before the put returns (see
//! [`delivery`]). The parts: [`config`], [`body`] (values, bodies, URLs), [`delivery`]
//! (batching, retries, outcomes) over the SDK's [`transport`] trait; the component sends with the
//! SDK's [`WasiHttp`] transport. Responses and failures go to the connector's `reporter.*`
//! topics through the SDK's [`reporter`], which the worker writes.

pub mod body;
pub mod config;
pub mod delivery;
pub use sluice_plugin_sdk::transport;

use std::time::Duration;

use sluice_plugin_sdk::reporter;
use sluice_plugin_sdk::transport::WasiHttp;
use sluice_plugin_sdk::{
    log, Config, ConfigProblem, PluginSpec, Record, RecordFailure, Sink, TaskError,
};

/// One HTTP sink task.
pub struct HttpSink {
    delivery: delivery::Delivery<WasiHttp, delivery::RealSleep>,
}

impl Sink for HttpSink {
    fn spec() -> PluginSpec {
        PluginSpec::new("io.confluent.connect.http.HttpSinkConnector", "0.1.0")
            .alias("HttpSinkConnector")
            .alias("http-sink")
            .description(
                "Sends record values to an HTTP API, several per request, as Confluent's HTTP \
                 sink does; needs wasm.network.allow for the API's host:port.",
            )
            .configs(config::defs())
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        config::compile(config).err().unwrap_or_default()
    }

    fn open(config: Config) -> Result<Self, TaskError> {
        let c =
            config::compile(&config).map_err(|problems| TaskError::invalid_config(&problems))?;
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
            timeout: Some(Duration::from_millis(c.timeout_ms)),
        };
        Ok(HttpSink {
            delivery: delivery::Delivery::new(transport, delivery::RealSleep, c),
        })
    }

    fn put(&mut self, records: Vec<Record>) -> Result<Vec<RecordFailure>, TaskError> {
        let failures = self.delivery.put(&records);
        // Reported even when the put fails: the worker drops the reports of a failed put (the
        // batch is reported when it is put again).
        let delivery::Reports { results, errors } = self.delivery.take_reports();
        reporter::results(results);
        reporter::errors(errors);
        failures
    }
}

sluice_plugin_sdk::export_sink!(HttpSink);

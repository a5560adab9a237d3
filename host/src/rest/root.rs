//! `GET /`: the worker's version information.
//!
//! We report Kafka Connect's REST API version (`3.9.0`), not Sluice's: clients and tooling
//! (connect CLI tools, UIs, Terraform providers) use this field to decide which endpoints and
//! shapes to expect, and Sluice implements the 3.9 API. Sluice's own version is in `commit`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::runtime::status::Herder;

/// The Kafka Connect REST API version Sluice is compatible with.
pub const KAFKA_API_VERSION: &str = "3.9.0";

pub(super) fn routes() -> Router<Arc<dyn Herder>> {
    Router::new().route("/", get(server_info))
}

async fn server_info(State(herder): State<Arc<dyn Herder>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "version": KAFKA_API_VERSION,
        "commit": concat!("sluice-", env!("CARGO_PKG_VERSION")),
        "kafka_cluster_id": herder.kafka_cluster_id(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{request, start};

    #[tokio::test]
    async fn root_reports_kafka_api_version() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({
                "version": "3.9.0",
                "commit": format!("sluice-{}", env!("CARGO_PKG_VERSION")),
                "kafka_cluster_id": "abc123"
            })
        );
    }
}

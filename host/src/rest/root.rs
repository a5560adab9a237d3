//! `GET /`: the worker's version information.
//!
//! We report Kafka Connect's REST API version (`3.9.0`), not Sluice's: clients and tooling
//! (connect CLI tools, UIs, Terraform providers) use this field to decide which endpoints and
//! shapes to expect, and Sluice implements the 3.9 API. Sluice's own version is in `commit`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;

use super::Routes;
use crate::runtime::herder::Herder;

/// The Kafka Connect REST API version Sluice is compatible with.
pub const KAFKA_API_VERSION: &str = "3.9.0";

pub(super) fn routes(r: Routes) -> Routes {
    r.add("/", &["GET"], get(server_info))
        .add("/health", &["GET"], get(health))
        .add("/openapi.json", &["GET"], get(openapi))
}

/// The OpenAPI 3 document of this API (docs/openapi.json, checked against the routes by a
/// test).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// `GET /health` (KIP-1017, Kafka 4.0's shape): 200 once the worker has started its
/// connectors, 503 before.
async fn health(State(herder): State<Arc<dyn Herder>>) -> Response {
    if herder.is_ready() {
        let body = serde_json::json!({
            "status": "healthy",
            "message": "Worker has completed startup and is ready to handle requests."
        });
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let body = serde_json::json!({
            "status": "starting",
            "message": "Worker is still starting up."
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
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
    use crate::rest::test_herder::{request, start};

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

//! Requests another worker must answer: in distributed mode a follower relays writes to the
//! leader (and the leader a restart to the worker running the connector), and answers 409
//! while no worker can take them — Kafka Connect's `HerderRequestHandler`.
//!
//! Design decisions:
//! - The decision is the herder's ([`Herder::route`], by method and path), the relaying is
//!   this middleware's, before any handler runs: the forwarded request is the client's own
//!   (method, path, query, body), and the answer is relayed as it came (status, body,
//!   `Location`), so a follower's answer equals the leader's byte for byte.
//! - Kafka's two-hop rule, through the same `forward` query parameter: a client's request is
//!   forwarded with `forward=true` (the receiver may forward once more: leader → owner), a
//!   forwarded one with `forward=false`; a request marked `forward=false` that would have to
//!   move again is a 409, so workers with stale views never bounce a request in a loop.
//! - The forwarded call is blocking HTTP (`ureq`, already the CLI's client) on a blocking
//!   thread, never on an async one.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{blocking, body, ApiError};
use crate::runtime::herder::{Herder, Route};

pub use crate::runtime::herder::CONFLICTING_OPERATION;

/// Kafka's own bound on a forwarded request is its 90 s request timeout.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);

pub(super) async fn route_request(
    State(herder): State<Arc<dyn Herder>>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    // With the query: it can decide where a request goes (a KIP-745 restart is the leader's).
    let target = request
        .uri()
        .query()
        .map_or(path.clone(), |q| format!("{path}?{q}"));
    let base = match herder.route(&method, &target) {
        Route::Here => return next.run(request).await,
        Route::Conflict(message) => {
            return ApiError::new(StatusCode::CONFLICT, message).into_response()
        }
        Route::Unavailable(message) => {
            return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, message).into_response()
        }
        Route::Forward(base) => base,
    };
    let query = request.uri().query().unwrap_or_default().to_string();
    let next_forward = match forward_flag(&query) {
        None => "true",
        Some(true) => "false",
        Some(false) => {
            tracing::warn!(%method, %path, "a forwarded request found no worker to take it within two hops");
            return ApiError::new(StatusCode::CONFLICT, CONFLICTING_OPERATION).into_response();
        }
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    // With basic authentication on, the worker that answers checks the client's credentials
    // too (Kafka's RestClient forwards the Authorization header the same way).
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = match axum::body::to_bytes(request.into_body(), body::MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "Request body is larger than the limit of {} bytes",
                    body::MAX_BODY_BYTES
                ),
            )
            .into_response()
        }
    };
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some("forward"))
        .collect();
    let flag = format!("forward={next_forward}");
    kept.push(&flag);
    let url = format!("{}{}?{}", base.trim_end_matches('/'), path, kept.join("&"));
    tracing::debug!(%method, %url, "forwarding the request");
    let relayed = blocking(move || {
        send(
            &method,
            &url,
            &content_type,
            authorization.as_deref(),
            &bytes,
        )
    })
    .await;
    match relayed {
        Ok(Ok(response)) => response,
        Ok(Err(e)) | Err(e) => e.into_response(),
    }
}

/// The request's `forward` parameter: `None` when absent (a client's own request).
fn forward_flag(query: &str) -> Option<bool> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .rfind(|(k, _)| *k == "forward")
        .map(|(_, v)| v.eq_ignore_ascii_case("true"))
}

fn send(
    method: &str,
    url: &str,
    content_type: &str,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        // The other worker's 4xx/5xx are answers to relay.
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(FORWARD_TIMEOUT))
        .build()
        .into();
    let io_error = |e: ureq::Error| {
        // Kafka's RestClient words a forwarding failure this way (500).
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("IO Error trying to forward REST request: {e}"),
        )
    };
    let result = match method {
        "GET" | "DELETE" => {
            let mut request = if method == "GET" {
                agent.get(url)
            } else {
                agent.delete(url)
            }
            .header("Accept", "application/json");
            if let Some(a) = authorization {
                request = request.header("Authorization", a);
            }
            request.call()
        }
        m => {
            let mut request = match m {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => agent.patch(url),
            }
            .header("Accept", "application/json");
            if let Some(a) = authorization {
                request = request.header("Authorization", a);
            }
            if body.is_empty() {
                request.send_empty()
            } else {
                request.content_type(content_type).send(body)
            }
        }
    };
    let mut response = result.map_err(io_error)?;
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers: Vec<(header::HeaderName, HeaderValue)> = [header::CONTENT_TYPE, header::LOCATION]
        .into_iter()
        .filter_map(|name| {
            let value = response.headers().get(name.as_str())?.to_str().ok()?;
            Some((name, HeaderValue::from_str(value).ok()?))
        })
        .collect();
    let bytes = response.body_mut().read_to_vec().map_err(io_error)?;
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    for (name, value) in headers {
        out.headers_mut().insert(name, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::test_herder::{send, send_json, start_with, FakeHerder};

    /// A herder that sends every write elsewhere (or refuses it), answering reads itself.
    struct Routed {
        inner: FakeHerder,
        route: Route,
    }

    impl Herder for Routed {
        fn worker_id(&self) -> String {
            self.inner.worker_id()
        }
        fn kafka_cluster_id(&self) -> Option<String> {
            None
        }
        fn connectors(&self) -> Vec<String> {
            self.inner.connectors()
        }
        fn connector_status(&self, name: &str) -> Option<crate::runtime::herder::ConnectorStatus> {
            self.inner.connector_status(name)
        }
        fn connector_config(&self, name: &str) -> Option<crate::spec::Config> {
            self.inner.connector_config(name)
        }
        fn route(&self, method: &str, _: &str) -> Route {
            if method == "GET" {
                Route::Here
            } else {
                self.route.clone()
            }
        }
    }

    #[test]
    fn the_forward_flag_reads_like_kafka() {
        assert_eq!(forward_flag(""), None);
        assert_eq!(forward_flag("expand=status"), None);
        assert_eq!(forward_flag("includeTasks=true&forward=true"), Some(true));
        assert_eq!(forward_flag("forward=false"), Some(false));
    }

    /// A follower relays a write to the leader and the leader's answer comes back unchanged
    /// (status, body, Location); a request already forwarded twice is Kafka's 409; a herder
    /// that knows no leader answers its 409.
    #[tokio::test]
    async fn writes_are_relayed_to_the_leader_with_its_answer() {
        let leader = Arc::new(FakeHerder::default());
        let (leader_addr, _stop_leader, _l) = start_with(leader).await;
        let follower = Arc::new(Routed {
            inner: FakeHerder::default(),
            route: Route::Forward(format!("http://{leader_addr}/")),
        });
        let (addr, _stop, _h) = start_with(follower).await;

        let body = r#"{"name":"via-follower","config":{"connector.class":"FileStreamSource"}}"#;
        let direct = send(
            leader_addr,
            "POST",
            "/connectors",
            body.replace("via-follower", "direct").as_bytes(),
        )
        .await;
        let relayed = send(addr, "POST", "/connectors", body.as_bytes()).await;
        assert_eq!(relayed.0, 201, "{relayed:?}");
        assert!(
            relayed.1.contains("location: /connectors/via-follower\r\n"),
            "{}",
            relayed.1
        );
        assert_eq!(
            relayed.2.replace("via-follower", "direct"),
            direct.2,
            "the same body as the leader's own answer"
        );
        // The leader's errors come back as they are.
        let (status, _, json) = send_json(addr, "POST", "/connectors", body).await;
        assert_eq!(
            (status, json),
            (
                409,
                serde_json::json!({"error_code": 409, "message": "Connector via-follower already exists"})
            )
        );
        // Reads are answered here, not forwarded.
        let (status, _, _) = send_json(addr, "GET", "/connectors/via-follower", "").await;
        assert_eq!(
            status, 404,
            "the follower's own (fake) view does not have it"
        );

        // Two hops at most.
        let (status, _, json) =
            send_json(addr, "PUT", "/connectors/alpha-src/pause?forward=false", "").await;
        assert_eq!(
            (status, json),
            (
                409,
                serde_json::json!({"error_code": 409, "message": CONFLICTING_OPERATION})
            )
        );

        let refusing = Arc::new(Routed {
            inner: FakeHerder::default(),
            route: Route::Conflict("no leader".into()),
        });
        let (addr, _stop2, _h2) = start_with(refusing).await;
        let (status, _, json) = send_json(addr, "DELETE", "/connectors/alpha-src", "").await;
        assert_eq!(
            (status, json),
            (
                409,
                serde_json::json!({"error_code": 409, "message": "no leader"})
            )
        );

        // A leader that cannot be reached: Kafka's 500, naming the failure.
        let gone = Arc::new(Routed {
            inner: FakeHerder::default(),
            route: Route::Forward("http://127.0.0.1:1/".into()),
        });
        let (addr, _stop3, _h3) = start_with(gone).await;
        let (status, _, json) = send_json(addr, "DELETE", "/connectors/alpha-src", "").await;
        assert_eq!(status, 500);
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("IO Error trying to forward REST request: ")),
            "{json}"
        );
    }
}

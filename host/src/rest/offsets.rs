//! `GET/PATCH/DELETE /connectors/{name}/offsets` (KIP-875) and `GET /connectors/{name}/topics`,
//! `PUT /connectors/{name}/topics/reset` (KIP-558), in Kafka Connect's shapes.
//!
//! The decision to know: Kafka deserialises the PATCH body with Jackson and answers a body of
//! the wrong shape with a 500 ("Cannot deserialize value…"); Sluice answers 400 with a message
//! naming the offending field, and keeps Kafka's 400 texts for the cases Kafka itself checks
//! (no offsets, connector not STOPPED, malformed sink partitions/offsets).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::Json;
use serde_json::{json, Map, Value as JsonValue};

use super::body::{self, bad_request};
use super::connectors::Herd;
use super::{blocking, ApiError, Routes};
use crate::offsets::OffsetPatch;
use crate::runtime::herder::Herder;

pub(super) fn routes(r: Routes) -> Routes {
    r.add(
        "/connectors/{name}/offsets",
        &["GET", "PATCH", "DELETE"],
        get(offsets).patch(alter).delete(reset),
    )
    .add("/connectors/{name}/topics", &["GET"], get(topics))
    .add(
        "/connectors/{name}/topics/reset",
        &["PUT"],
        put(reset_topics),
    )
}

/// `GET /connectors/{name}/offsets`: `{"offsets":[{"partition":{…},"offset":{…}}]}`.
async fn offsets(
    State(herder): Herd,
    Path(name): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let list = blocking(move || herder.connector_offsets(&name)).await??;
    let offsets: Vec<JsonValue> = list
        .into_iter()
        .map(|o| json!({"partition": o.partition, "offset": o.offset}))
        .collect();
    Ok(Json(json!({ "offsets": offsets })))
}

const NO_OFFSETS: &str = "Partitions / offsets need to be provided for an alter offsets request";

/// The PATCH body's entries; `None` for a JSON null or a missing field.
fn parse_patch(body: &JsonValue) -> Result<Vec<OffsetPatch>, ApiError> {
    let request = body::object(body, "The request body")?;
    for key in request.keys() {
        if key != "offsets" {
            return Err(bad_request(format!(
                "Unrecognized field {key:?} in the request body; expected {{\"offsets\":[{{\"partition\":{{…}},\"offset\":{{…}}}}]}}"
            )));
        }
    }
    let list = match request.get("offsets") {
        None | Some(JsonValue::Null) => return Err(bad_request(NO_OFFSETS)),
        Some(JsonValue::Array(list)) if list.is_empty() => return Err(bad_request(NO_OFFSETS)),
        Some(JsonValue::Array(list)) => list,
        Some(other) => {
            return Err(bad_request(format!(
                "\"offsets\" must be an array of {{\"partition\":{{…}},\"offset\":{{…}}}} objects, not {}",
                body::kind(other)
            )))
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let JsonValue::Object(entry) = entry else {
            return Err(bad_request(format!(
                "offsets[{i}] must be an object {{\"partition\":{{…}},\"offset\":{{…}}}}, not {}",
                body::kind(entry)
            )));
        };
        for key in entry.keys() {
            if key != "partition" && key != "offset" {
                return Err(bad_request(format!(
                    "Unrecognized field {key:?} in offsets[{i}]; expected \"partition\" and \"offset\""
                )));
            }
        }
        let map = |field: &str| -> Result<Option<Map<String, JsonValue>>, ApiError> {
            match entry.get(field) {
                None | Some(JsonValue::Null) => Ok(None),
                Some(JsonValue::Object(m)) => Ok(Some(m.clone())),
                Some(other) => Err(bad_request(format!(
                    "offsets[{i}].{field} must be an object or null, not {}",
                    body::kind(other)
                ))),
            }
        };
        out.push(OffsetPatch {
            partition: map("partition")?,
            offset: map("offset")?,
        });
    }
    Ok(out)
}

/// `PATCH /connectors/{name}/offsets`: 200 `{"message":…}`.
async fn alter(
    State(herder): Herd,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<JsonValue>, ApiError> {
    let body = body::json(body)?;
    let patch = parse_patch(&body)?;
    let message = blocking(move || herder.alter_offsets(&name, patch)).await??;
    Ok(Json(json!({ "message": message })))
}

/// `DELETE /connectors/{name}/offsets`: 200 `{"message":…}`.
async fn reset(State(herder): Herd, Path(name): Path<String>) -> Result<Json<JsonValue>, ApiError> {
    let message = blocking(move || herder.reset_offsets(&name)).await??;
    Ok(Json(json!({ "message": message })))
}

/// `GET /connectors/{name}/topics`: `{"<name>":{"topics":[…]}}`.
async fn topics(
    State(herder): Herd,
    Path(name): Path<String>,
) -> Result<Json<JsonValue>, ApiError> {
    let topics = herder.active_topics(&name)?;
    let mut out = Map::new();
    out.insert(name, json!({ "topics": topics }));
    Ok(Json(JsonValue::Object(out)))
}

/// `PUT /connectors/{name}/topics/reset`: 202, empty.
async fn reset_topics(
    State(herder): State<Arc<dyn Herder>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    herder.reset_active_topics(&name)?;
    Ok(StatusCode::ACCEPTED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::test_herder::{request, start};

    #[tokio::test]
    async fn offsets_topics_and_health_in_kafka_shapes() {
        let (addr, _stop, _h) = start().await;
        let (status, body) = request(addr, "GET", "/connectors/alpha-src/offsets").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"offsets": [{"partition": {"filename": "/tmp/a.txt"}, "offset": {"position": 42}}]})
        );
        let (status, body) = request(addr, "GET", "/connectors/ghost/offsets").await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error_code": 404, "message": "Connector ghost not found"})
            )
        );
        let (status, body) = request(addr, "GET", "/connectors/alpha-src/topics").await;
        assert_eq!(status, 200);
        assert_eq!(body, json!({"alpha-src": {"topics": ["t1", "t2"]}}));
        let (status, body) = request(addr, "GET", "/health").await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
        );
    }

    #[test]
    fn patch_bodies_are_checked_field_by_field() {
        let cases = [
            (json!({}), NO_OFFSETS.to_string()),
            (json!({"offsets": []}), NO_OFFSETS.to_string()),
            (json!({"offsets": null}), NO_OFFSETS.to_string()),
            (json!([]), "The request body must be a JSON object of string keys and values, not an array".to_string()),
            (json!({"offsets": {}}), "\"offsets\" must be an array of {\"partition\":{…},\"offset\":{…}} objects, not an object".to_string()),
            (json!({"offsets": [123]}), "offsets[0] must be an object {\"partition\":{…},\"offset\":{…}}, not a number".to_string()),
            (json!({"offsets": [{"key": "val"}]}), "Unrecognized field \"key\" in offsets[0]; expected \"partition\" and \"offset\"".to_string()),
            (json!({"offsets": [{"partition": []}]}), "offsets[0].partition must be an object or null, not an array".to_string()),
            (json!({"key": []}), "Unrecognized field \"key\" in the request body; expected {\"offsets\":[{\"partition\":{…},\"offset\":{…}}]}".to_string()),
        ];
        for (body, message) in cases {
            let e = parse_patch(&body).expect_err("invalid");
            assert_eq!((e.status.as_u16(), e.message), (400, message), "{body}");
        }
        let ok = parse_patch(&json!({"offsets": [{"partition": {"f": "a"}, "offset": null}, {}]}))
            .expect("valid");
        assert_eq!(ok.len(), 2);
        assert_eq!(
            ok[0].partition.as_ref().map(|m| m["f"].clone()),
            Some(json!("a"))
        );
        assert!(ok[0].offset.is_none() && ok[1].partition.is_none());
    }
}

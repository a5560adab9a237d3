//! The registry's API over real HTTP (an in-memory registry on a loopback port), and the
//! AvroConverter against it. The `_schemas` topic and other clients are covered by the
//! integration tests (`tests/integration/avro.rs`).

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value as Json};

use super::*;
use crate::convert::{AvroConverter, Converter};
use crate::data::{Data, Field, Schema, SchemaType, Value};

/// Serves `registry` on a free loopback port from a thread of its own.
fn serve(registry: SchemaRegistry) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (addr, handle) = rest::serve(
                "http://127.0.0.1:0",
                Arc::new(registry),
                std::future::pending(),
            )
            .await
            .unwrap();
            tx.send(addr).unwrap();
            let _ = handle.await;
        });
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    fn new(addr: SocketAddr) -> Api {
        Api {
            base: format!("http://{addr}"),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Json>) -> (u16, Json) {
        let url = format!("{}{path}", self.base);
        let r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            ("POST", b) => self
                .agent
                .post(&url)
                .content_type("application/vnd.schemaregistry.v1+json")
                .send(b.unwrap_or(json!({})).to_string().as_bytes()),
            (_, b) => self
                .agent
                .put(&url)
                .content_type("application/json")
                .send(b.unwrap_or(json!({})).to_string().as_bytes()),
        };
        let mut r = r.unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Json::String(text)),
        )
    }
}

fn record(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"R","namespace":"a","fields":[{fields}]}}"#)
}

fn code(answer: &(u16, Json)) -> (u16, i64) {
    (answer.0, answer.1["error_code"].as_i64().unwrap_or(0))
}

#[test]
fn subjects_versions_ids_and_errors() {
    let api = Api::new(serve(SchemaRegistry::in_memory()));
    let v1 = record(r#"{"name":"id","type":"long"}"#);
    let v2 = record(
        r#"{"name":"id","type":"long"},{"name":"n","type":["null","string"],"default":null}"#,
    );

    assert_eq!(api.call("GET", "/subjects", None), (200, json!([])));
    let r = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v1})),
    );
    assert_eq!(r, (200, json!({"id": 1})));
    // The same schema again: same id, no new version.
    let r = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v1})),
    );
    assert_eq!(r, (200, json!({"id": 1})));
    // The same schema under another subject: the same id, version 1 there.
    let r = api.call(
        "POST",
        "/subjects/other/versions",
        Some(json!({"schema": v1})),
    );
    assert_eq!(r, (200, json!({"id": 1})));
    let r = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v2})),
    );
    assert_eq!(r, (200, json!({"id": 2})));

    assert_eq!(
        api.call("GET", "/subjects", None),
        (200, json!(["other", "t-value"]))
    );
    assert_eq!(
        api.call("GET", "/subjects/t-value/versions", None),
        (200, json!([1, 2]))
    );
    let latest = api.call("GET", "/subjects/t-value/versions/latest", None);
    assert_eq!(latest.0, 200);
    assert_eq!(latest.1["version"], 2);
    assert_eq!(latest.1["id"], 2);
    assert_eq!(latest.1["subject"], "t-value");
    let stored: Json = serde_json::from_str(latest.1["schema"].as_str().unwrap()).unwrap();
    assert_eq!(stored, serde_json::from_str::<Json>(&v2).unwrap());
    let by_id = api.call("GET", "/schemas/ids/1", None);
    assert_eq!(
        serde_json::from_str::<Json>(by_id.1["schema"].as_str().unwrap()).unwrap(),
        serde_json::from_str::<Json>(&v1).unwrap()
    );
    assert_eq!(
        api.call("GET", "/schemas/ids/1/versions", None),
        (
            200,
            json!([{"subject": "other", "version": 1}, {"subject": "t-value", "version": 1}])
        )
    );
    let found = api.call("POST", "/subjects/t-value", Some(json!({"schema": v1})));
    assert_eq!(
        (found.1["version"].clone(), found.1["id"].clone()),
        (json!(1), json!(1))
    );

    // Confluent's error codes.
    assert_eq!(
        code(&api.call("GET", "/subjects/nope/versions", None)),
        (404, 40401)
    );
    assert_eq!(
        code(&api.call("GET", "/subjects/t-value/versions/9", None)),
        (404, 40402)
    );
    assert_eq!(
        code(&api.call("GET", "/schemas/ids/99", None)),
        (404, 40403)
    );
    assert_eq!(
        code(&api.call(
            "POST",
            "/subjects/t-value",
            Some(json!({"schema": "\"int\""}))
        )),
        (404, 40403)
    );
    assert_eq!(
        code(&api.call("GET", "/subjects/t-value/versions/zero", None)),
        (422, 42202)
    );
    let bad = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": "{\"type\":\"recrd\"}"})),
    );
    assert_eq!(code(&bad), (422, 42201));
    let bad = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": "\"int\"", "schemaType": "PROTOBUF"})),
    );
    assert_eq!(code(&bad), (422, 42201));
    assert_eq!(api.call("GET", "/nowhere", None).0, 404);
}

#[test]
fn compatibility_levels_accept_and_refuse() {
    let api = Api::new(serve(SchemaRegistry::in_memory()));
    let v1 = record(r#"{"name":"id","type":"long"}"#);
    let add_optional = record(
        r#"{"name":"id","type":"long"},{"name":"n","type":["null","string"],"default":null}"#,
    );
    let add_required = record(r#"{"name":"id","type":"long"},{"name":"m","type":"string"}"#);
    assert_eq!(
        api.call("GET", "/config", None),
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    api.call("POST", "/subjects/s/versions", Some(json!({"schema": v1})));

    // BACKWARD (default): adding a required field is refused with 409.
    let test = api.call(
        "POST",
        "/compatibility/subjects/s/versions/latest?verbose=true",
        Some(json!({"schema": add_required})),
    );
    assert_eq!(test.1["is_compatible"], false, "{test:?}");
    assert!(!test.1["messages"].as_array().unwrap().is_empty());
    let refused = api.call(
        "POST",
        "/subjects/s/versions",
        Some(json!({"schema": add_required})),
    );
    assert_eq!(code(&refused), (409, 409));
    assert!(refused.1["message"]
        .as_str()
        .unwrap()
        .contains("incompatible"));
    let test = api.call(
        "POST",
        "/compatibility/subjects/s/versions/1",
        Some(json!({"schema": add_optional})),
    );
    assert_eq!(test, (200, json!({"is_compatible": true})));
    assert_eq!(
        code(&api.call(
            "POST",
            "/compatibility/subjects/none/versions/latest",
            Some(json!({"schema": v1}))
        )),
        (404, 40401)
    );

    // FORWARD on the subject: the required field is now fine.
    assert_eq!(
        api.call(
            "PUT",
            "/config/s",
            Some(json!({"compatibility": "FORWARD"}))
        ),
        (200, json!({"compatibility": "FORWARD"}))
    );
    assert_eq!(
        api.call("GET", "/config/s", None).1,
        json!({"compatibilityLevel": "FORWARD"})
    );
    assert_eq!(code(&api.call("GET", "/config/other", None)), (404, 40408));
    assert_eq!(
        api.call("GET", "/config/other?defaultToGlobal=true", None)
            .1,
        json!({"compatibilityLevel": "BACKWARD"})
    );
    assert_eq!(
        api.call(
            "POST",
            "/subjects/s/versions",
            Some(json!({"schema": add_required}))
        )
        .0,
        200
    );
    assert_eq!(
        code(&api.call("PUT", "/config", Some(json!({"compatibility": "SIDEWAYS"})))),
        (422, 42203)
    );
    assert_eq!(
        api.call("DELETE", "/config/s", None),
        (200, json!({"compatibilityLevel": "FORWARD"}))
    );

    // READONLY refuses registrations.
    assert_eq!(
        api.call("PUT", "/mode", Some(json!({"mode": "READONLY"}))),
        (200, json!({"mode": "READONLY"}))
    );
    assert_eq!(
        api.call("GET", "/mode", None).1,
        json!({"mode": "READONLY"})
    );
    assert_eq!(
        code(&api.call(
            "POST",
            "/subjects/s/versions",
            Some(json!({"schema": add_optional}))
        )),
        (422, 42205)
    );
    assert_eq!(
        code(&api.call("PUT", "/mode", Some(json!({"mode": "NAP"})))),
        (422, 42204)
    );
}

#[test]
fn soft_and_hard_deletes() {
    let api = Api::new(serve(SchemaRegistry::in_memory()));
    let v1 = record(r#"{"name":"id","type":"long"}"#);
    let v2 = record(
        r#"{"name":"id","type":"long"},{"name":"n","type":["null","string"],"default":null}"#,
    );
    api.call("POST", "/subjects/s/versions", Some(json!({"schema": v1})));
    api.call("POST", "/subjects/s/versions", Some(json!({"schema": v2})));

    assert_eq!(
        code(&api.call("DELETE", "/subjects/s/versions/1?permanent=true", None)),
        (404, 40407)
    );
    assert_eq!(
        api.call("DELETE", "/subjects/s/versions/1", None),
        (200, json!(1))
    );
    assert_eq!(
        code(&api.call("DELETE", "/subjects/s/versions/1", None)),
        (404, 40406)
    );
    assert_eq!(api.call("GET", "/subjects/s/versions", None).1, json!([2]));
    assert_eq!(
        api.call("GET", "/subjects/s/versions?deleted=true", None).1,
        json!([1, 2])
    );
    // A soft-deleted version's id still resolves (records written with it stay readable).
    assert_eq!(api.call("GET", "/schemas/ids/1", None).0, 200);
    assert_eq!(
        api.call("DELETE", "/subjects/s/versions/1?permanent=true", None),
        (200, json!(1))
    );
    assert_eq!(code(&api.call("GET", "/schemas/ids/1", None)), (404, 40403));

    assert_eq!(
        code(&api.call("DELETE", "/subjects/s?permanent=true", None)),
        (404, 40405)
    );
    assert_eq!(api.call("DELETE", "/subjects/s", None), (200, json!([2])));
    assert_eq!(code(&api.call("DELETE", "/subjects/s", None)), (404, 40404));
    assert_eq!(api.call("GET", "/subjects", None).1, json!([]));
    assert_eq!(
        api.call("GET", "/subjects?deleted=true", None).1,
        json!(["s"])
    );
    assert_eq!(
        api.call("DELETE", "/subjects/s?permanent=true", None),
        (200, json!([2]))
    );
    assert_eq!(
        code(&api.call("GET", "/subjects/s/versions?deleted=true", None)),
        (404, 40401)
    );
    // Ids are never reused: the next new schema gets 3.
    let r = api.call(
        "POST",
        "/subjects/s/versions",
        Some(json!({"schema": "\"string\""})),
    );
    assert_eq!(r, (200, json!({"id": 3})));
}

fn avro(addr: SocketAddr, is_key: bool, extra: &[(&str, &str)]) -> AvroConverter {
    let mut props: crate::config::Config =
        vec![("schema.registry.url".into(), format!("http://{addr}"))];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    AvroConverter::from_props(&props, is_key).unwrap()
}

#[test]
fn avro_converter_round_trips_through_the_registry() {
    let addr = serve(SchemaRegistry::in_memory());
    let api = Api::new(addr);
    let writer = avro(addr, false, &[]);
    let (schema, value) = crate::convert::avro_every_type();
    let data = Data::new(Some(schema.clone()), value.clone());
    let bytes = writer.from_connect("orders", &data).unwrap().unwrap();
    assert_eq!(bytes[0], 0, "magic byte");
    assert_eq!(&bytes[1..5], &1i32.to_be_bytes(), "the registered id");
    assert_eq!(
        api.call("GET", "/subjects", None).1,
        json!(["orders-value"])
    );
    // A second converter (another task, another worker) reads it through the registry.
    let reader = avro(addr, false, &[]);
    let back = reader.to_connect("orders", Some(&bytes)).unwrap();
    assert_eq!(back.value, value);
    assert_eq!(back.schema.as_deref(), Some(&*schema));
    // Tombstones stay tombstones.
    assert_eq!(writer.from_connect("orders", &Data::NULL).unwrap(), None);
    assert_eq!(reader.to_connect("orders", None).unwrap(), Data::NULL);

    // Keys go to <topic>-key.
    let key = avro(addr, true, &[]);
    let k = Data::new(
        Some(Schema::new(SchemaType::String).into_ref()),
        Value::from("k1"),
    );
    let kb = key.from_connect("orders", &k).unwrap().unwrap();
    assert_eq!(key.to_connect("orders", Some(&kb)).unwrap(), k);
    assert_eq!(
        api.call("GET", "/subjects", None).1,
        json!(["orders-key", "orders-value"])
    );
}

#[test]
fn avro_converter_asks_the_registry_once_per_topic_and_schema() {
    let addr = serve(SchemaRegistry::in_memory());
    let api = Api::new(addr);
    let c = avro(addr, false, &[]);
    let (schema, value) = crate::convert::avro_every_type();
    let first = c
        .from_connect("orders", &Data::new(Some(schema.clone()), value.clone()))
        .unwrap()
        .unwrap();
    // With the subject gone from the registry, only the converter's cache can frame the
    // record: by the same `Arc`, or by an equal schema built anew.
    assert_eq!(
        api.call("DELETE", "/subjects/orders-value", None).0,
        200,
        "soft delete"
    );
    let same = c
        .from_connect("orders", &Data::new(Some(schema.clone()), value.clone()))
        .unwrap()
        .unwrap();
    let rebuilt = Arc::new((*schema).clone());
    let equal = c
        .from_connect("orders", &Data::new(Some(rebuilt), value.clone()))
        .unwrap()
        .unwrap();
    assert_eq!((&same, &equal), (&first, &first));
    assert_eq!(api.call("GET", "/subjects", None).1, json!([]));
    // Another topic is another subject: registered.
    c.from_connect("payments", &Data::new(Some(schema), value))
        .unwrap();
    assert_eq!(
        api.call("GET", "/subjects", None).1,
        json!(["payments-value"])
    );
}

#[test]
fn avro_converter_bad_input_is_a_record_error() {
    let addr = serve(SchemaRegistry::in_memory());
    let c = avro(addr, false, &[]);
    let schema = Schema::structure(vec![Field {
        name: "a".into(),
        schema: Schema::new(SchemaType::String).into_ref(),
    }])
    .into_ref();
    let good = c
        .from_connect(
            "t",
            &Data::new(Some(schema), Value::Struct(vec![Value::from("xyz")])),
        )
        .unwrap()
        .unwrap();
    let e = c.to_connect("t", Some(&[1, 0, 0, 0, 1, 0])).unwrap_err();
    assert!(e.0.contains("Unknown magic byte"), "{e}");
    let e = c.to_connect("t", Some(&[0, 0, 0, 0, 77, 0])).unwrap_err();
    assert!(!e.is_transient(), "an unknown id is the record's fault");
    assert!(e.0.contains("id 77") && e.0.contains("40403"), "{e}");
    let e = c
        .to_connect("t", Some(&good[..good.len() - 1]))
        .unwrap_err();
    assert!(e.0.contains("truncated"), "{e}");
    let e = c.to_connect("t", Some(&[0, 0])).unwrap_err();
    assert!(e.0.contains("fewer than the 5"), "{e}");
    assert!(c.to_connect("t", Some(&[])).is_err());
    // Schemaless data cannot be Avro.
    let e = c
        .from_connect("t", &Data::schemaless(Value::from("x")))
        .unwrap_err();
    assert!(e.0.contains("needs a schema"), "{e}");
}

#[test]
fn avro_converter_lookup_only_and_latest_version() {
    let addr = serve(SchemaRegistry::in_memory());
    let schema = Schema::new(SchemaType::Int64).into_ref();
    let data = Data::new(Some(schema.clone()), Value::Int64(1));
    // auto.register.schemas=false: the schema must be registered already.
    let strict = avro(addr, false, &[("auto.register.schemas", "false")]);
    let e = strict.from_connect("t", &data).unwrap_err();
    assert!(e.0.contains("looking up") && e.0.contains("40401"), "{e}");
    let registering = avro(addr, false, &[]);
    registering.from_connect("t", &data).unwrap();
    assert!(strict.from_connect("t", &data).is_ok());
    let latest = avro(
        addr,
        false,
        &[
            ("use.latest.version", "true"),
            ("auto.register.schemas", "false"),
        ],
    );
    let bytes = latest.from_connect("t", &data).unwrap().unwrap();
    assert_eq!(&bytes[1..5], &1i32.to_be_bytes());
    let other = Data::new(
        Some(Schema::new(SchemaType::String).into_ref()),
        Value::from("s"),
    );
    // The latest (a long) cannot read the record's string: refused, as Confluent refuses it
    // (latest.compatibility.strict=true), and unwritable without the check too.
    let e = latest.from_connect("t", &other).unwrap_err();
    assert!(
        e.0.contains("use.latest.version")
            && e.0.contains("not backward compatible")
            && e.0.contains("latest.compatibility.strict=false"),
        "{e}"
    );
    assert!(!e.is_transient());
    let lenient = avro(
        addr,
        false,
        &[
            ("use.latest.version", "true"),
            ("latest.compatibility.strict", "false"),
        ],
    );
    let e = lenient.from_connect("t", &other).unwrap_err();
    assert!(
        e.0.contains("cannot be written as the latest schema's long"),
        "{e}"
    );
    // No registry at all: a clear error naming the URL.
    let gone = avro("127.0.0.1:9".parse().unwrap(), false, &[]);
    let e = gone.from_connect("t", &data).unwrap_err();
    assert!(
        e.0.contains("no schema registry could be reached") && e.0.contains("127.0.0.1:9"),
        "{e}"
    );
    assert!(e.is_transient(), "an outage is retried, not a record error");
}

/// `use.latest.version=true`: records of an older schema are framed with the subject's latest
/// id and written in the latest schema (its defaults for the fields they lack), readable by any
/// consumer of the latest schema; `latest.compatibility.strict` refuses a latest schema that
/// cannot read the record's, and `false` skips that check.
#[test]
fn avro_converter_use_latest_version_writes_in_the_latest_schema() {
    let addr = serve(SchemaRegistry::in_memory());
    let api = Api::new(addr);
    let v1 = Schema::structure(vec![Field {
        name: "id".into(),
        schema: Schema::new(SchemaType::Int64).into_ref(),
    }])
    .with_name("a.R")
    .into_ref();
    let record_of = |id: i64| Data::new(Some(v1.clone()), Value::Struct(vec![Value::Int64(id)]));
    let plain = avro(addr, false, &[]);
    plain.from_connect("t", &record_of(1)).unwrap();
    // v2, registered by another producer: an optional field more.
    let v2 = record(
        r#"{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}"#,
    );
    let r = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v2})),
    );
    assert_eq!(r.0, 200, "{r:?}");
    let id2 = r.1["id"].as_i64().unwrap() as i32;
    let latest = avro(
        addr,
        false,
        &[
            ("use.latest.version", "true"),
            ("auto.register.schemas", "false"),
        ],
    );
    for n in [42, 43] {
        let bytes = latest.from_connect("t", &record_of(n)).unwrap().unwrap();
        assert_eq!(&bytes[1..5], &id2.to_be_bytes());
        let back = plain.to_connect("t", Some(&bytes)).unwrap();
        assert_eq!(
            back.value,
            Value::Struct(vec![Value::Int64(n), Value::Null])
        );
        assert_eq!(back.schema.unwrap().fields[1].name, "email");
    }
    // No new version was registered.
    assert_eq!(
        api.call("GET", "/subjects/t-value/versions", None).1,
        json!([1, 2])
    );

    // v3 narrows id to an int (compatibility NONE lets it in): the latest cannot read v1's
    // long, so strict refuses; without the check, values that fit are written.
    api.call(
        "PUT",
        "/config/t-value",
        Some(json!({"compatibility": "NONE"})),
    );
    let v3 = record(r#"{"name":"id","type":"int"}"#);
    let r = api.call(
        "POST",
        "/subjects/t-value/versions",
        Some(json!({"schema": v3})),
    );
    let id3 = r.1["id"].as_i64().unwrap() as i32;
    let strict = avro(addr, false, &[("use.latest.version", "true")]);
    let e = strict.from_connect("t", &record_of(5)).unwrap_err();
    assert!(
        e.0.contains("not backward compatible") && e.0.contains("\"t-value\""),
        "{e}"
    );
    let lenient = avro(
        addr,
        false,
        &[
            ("use.latest.version", "true"),
            ("latest.compatibility.strict", "false"),
        ],
    );
    let bytes = lenient.from_connect("t", &record_of(5)).unwrap().unwrap();
    assert_eq!(&bytes[1..5], &id3.to_be_bytes());
    assert_eq!(
        plain.to_connect("t", Some(&bytes)).unwrap().value,
        Value::Struct(vec![Value::Int32(5)])
    );
    // A value that does not fit: a per-record error, the next record still written.
    let e = lenient.from_connect("t", &record_of(1 << 40)).unwrap_err();
    assert!(!e.is_transient());
    assert!(e.0.contains("\"id\"") && e.0.contains("int32"), "{e}");
    assert!(lenient.from_connect("t", &record_of(6)).is_ok());
}

#[test]
fn basic_auth_credentials_never_show() {
    let props: crate::config::Config = vec![
        ("schema.registry.url".into(), "http://127.0.0.1:9".into()),
        ("basic.auth.credentials.source".into(), "USER_INFO".into()),
        ("basic.auth.user.info".into(), "user:s3cret-pw".into()),
    ];
    let c = AvroConverter::from_props(&props, false).unwrap();
    let data = Data::new(
        Some(Schema::new(SchemaType::Int64).into_ref()),
        Value::Int64(1),
    );
    let e = c.from_connect("t", &data).unwrap_err();
    assert!(!e.0.contains("s3cret"), "{e}");
    let props: crate::config::Config = vec![(
        "schema.registry.url".into(),
        "http://u:s3cret-pw@127.0.0.1:9".into(),
    )];
    let c = AvroConverter::from_props(&props, false).unwrap();
    let e = c.from_connect("t", &data).unwrap_err();
    assert!(
        !e.0.contains("s3cret") && e.0.contains("127.0.0.1:9"),
        "{e}"
    );
}

fn json_schema(addr: SocketAddr, extra: &[(&str, &str)]) -> crate::convert::JsonSchemaConverter {
    let mut props: crate::config::Config =
        vec![("schema.registry.url".into(), format!("http://{addr}"))];
    props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    crate::convert::JsonSchemaConverter::from_props(&props, false).unwrap()
}

#[test]
fn json_schema_converter_round_trips_through_the_registry() {
    let addr = serve(SchemaRegistry::in_memory());
    let api = Api::new(addr);
    let writer = json_schema(addr, &[]);
    let schema = Schema::structure(vec![
        Field {
            name: "id".into(),
            schema: Schema::new(SchemaType::Int64).into_ref(),
        },
        Field {
            name: "note".into(),
            schema: Schema::new(SchemaType::String).optional().into_ref(),
        },
    ])
    .with_name("Row")
    .into_ref();
    let value = Value::Struct(vec![Value::Int64(1), Value::from("n")]);
    let data = Data::new(Some(schema.clone()), value.clone());
    let bytes = writer.from_connect("rows", &data).unwrap().unwrap();
    assert_eq!(&bytes[..5], &[0, 0, 0, 0, 1], "magic byte and id");
    assert_eq!(&bytes[5..], br#"{"id":1,"note":"n"}"#);
    let (status, registered) = api.call("GET", "/subjects/rows-value/versions/1", None);
    assert_eq!((status, &registered["schemaType"]), (200, &json!("JSON")));
    assert_eq!(
        api.call("GET", "/schemas/ids/1", None).1["schemaType"],
        "JSON"
    );
    // Another converter reads it through the registry; the second record costs no call.
    let reader = json_schema(addr, &[]);
    let back = reader.to_connect("rows", Some(&bytes)).unwrap();
    assert_eq!(
        (back.schema.as_deref(), &back.value),
        (Some(&*schema), &value)
    );
    let again = writer.from_connect("rows", &data).unwrap().unwrap();
    assert_eq!(again, bytes);
    // The same text registered as Avro is another schema with another id.
    let text = registered["schema"].as_str().unwrap().to_string();
    let r = api.call(
        "POST",
        "/subjects/other/versions",
        Some(json!({"schema": text})),
    );
    assert_eq!(code(&r), (422, 42201), "not an Avro schema: {r:?}");

    // Evolution: under BACKWARD a changed JSON Schema is refused (its rules are not
    // implemented), under NONE it is registered.
    let v2 = json!({"type": "object", "properties": {"id": {"type": "integer"}}}).to_string();
    let body = json!({"schema": v2, "schemaType": "JSON"});
    let r = api.call("POST", "/subjects/rows-value/versions", Some(body.clone()));
    assert_eq!(code(&r), (409, 409), "{r:?}");
    assert!(r.1["message"].as_str().unwrap().contains("NONE"), "{r:?}");
    let r = api.call(
        "POST",
        "/compatibility/subjects/rows-value/versions/latest",
        Some(body.clone()),
    );
    assert_eq!(r.1["is_compatible"], false, "{r:?}");
    api.call(
        "PUT",
        "/config/rows-value",
        Some(json!({"compatibility": "NONE"})),
    );
    let r = api.call("POST", "/subjects/rows-value/versions", Some(body));
    assert_eq!(r, (200, json!({"id": 2})));
    // use.latest.version with a latest schema other than the record's: refused while
    // latest.compatibility.strict (no JSON Schema rules to check it with); without the check,
    // the record's JSON framed with the latest id.
    let latest = json_schema(addr, &[("use.latest.version", "true")]);
    let e = latest.from_connect("rows", &data).unwrap_err();
    assert!(
        e.0.contains("use.latest.version") && e.0.contains("latest.compatibility.strict=false"),
        "{e}"
    );
    let lenient = json_schema(
        addr,
        &[
            ("use.latest.version", "true"),
            ("latest.compatibility.strict", "false"),
        ],
    );
    let framed = lenient.from_connect("rows", &data).unwrap().unwrap();
    assert_eq!(&framed[..5], &[0, 0, 0, 0, 2]);
    assert_eq!(&framed[5..], &bytes[5..]);
    assert_eq!(
        api.call("GET", "/schemas/types", None).1,
        json!(["AVRO", "JSON", "PROTOBUF"])
    );

    // Bad input: per-record errors, never a panic.
    let e = reader
        .to_connect("rows", Some(&[1, 0, 0, 0, 1]))
        .unwrap_err();
    assert!(e.0.contains("Unknown magic byte 1"), "{e}");
    let e = reader
        .to_connect("rows", Some(&[0, 0, 0, 0, 99, b'{']))
        .unwrap_err();
    assert!(e.0.contains("id 99") && e.0.contains("40403"), "{e}");
    let e = reader
        .to_connect("rows", Some(&bytes[..bytes.len() - 2]))
        .unwrap_err();
    assert!(e.0.contains("truncated") && !e.is_transient(), "{e}");
    // An Avro id read by the JSON Schema converter is refused, not misread.
    let avro_id = avro(addr, false, &[])
        .from_connect(
            "a",
            &Data::new(
                Some(Schema::new(SchemaType::Int32).into_ref()),
                Value::Int32(1),
            ),
        )
        .unwrap()
        .unwrap();
    let e = reader.to_connect("a", Some(&avro_id)).unwrap_err();
    assert!(e.0.contains("AVRO schema, not JSON"), "{e}");
}

#[test]
fn protobuf_converter_round_trips_through_the_registry() {
    let addr = serve(SchemaRegistry::in_memory());
    let api = Api::new(addr);
    let props: crate::config::Config =
        vec![("schema.registry.url".into(), format!("http://{addr}"))];
    let writer = crate::convert::ProtobufConverter::from_props(&props, false).unwrap();
    let schema = Schema::structure(vec![
        Field {
            name: "id".into(),
            schema: Schema::new(SchemaType::Int64).into_ref(),
        },
        Field {
            name: "at".into(),
            schema: Schema::timestamp().into_ref(),
        },
    ])
    .with_name("shop.Row")
    .into_ref();
    let value = Value::Struct(vec![Value::Int64(300), Value::Int64(1_000)]);
    let bytes = writer
        .from_connect("rows", &Data::new(Some(schema.clone()), value.clone()))
        .unwrap()
        .unwrap();
    // Magic byte, id 1, the message-index shortcut 0, then id = 300 and at = {seconds: 1}.
    assert_eq!(
        bytes,
        [0, 0, 0, 0, 1, 0, 0x08, 0xac, 0x02, 0x12, 0x02, 0x08, 0x01]
    );
    let (status, stored) = api.call("GET", "/subjects/rows-value/versions/latest", None);
    assert_eq!((status, &stored["schemaType"]), (200, &json!("PROTOBUF")));
    let text = stored["schema"].as_str().unwrap().to_string();
    assert!(
        text.contains("package shop;") && text.contains("message Row {"),
        "{text}"
    );
    // Confluent's clients ask for the schema as a base64 FileDescriptorProto.
    let serialized = api.call("GET", "/schemas/ids/1?format=serialized", None).1;
    let b64 = serialized["schema"].as_str().unwrap().to_string();
    assert!(!b64.contains(' ') && b64 != text, "{b64}");
    let serialized_version = api.call(
        "GET",
        "/subjects/rows-value/versions/1?format=serialized",
        None,
    );
    assert_eq!(serialized_version.1["schema"], json!(b64));
    // ...and register schemas in that form: the same schema, the same id.
    let r = api.call(
        "POST",
        "/subjects/rows-value/versions",
        Some(json!({"schema": b64, "schemaType": "PROTOBUF"})),
    );
    assert_eq!(r, (200, json!({"id": 1})));
    let reader = crate::convert::ProtobufConverter::from_props(&props, false).unwrap();
    let back = reader.to_connect("rows", Some(&bytes)).unwrap();
    assert_eq!(back.value, value);
    assert_eq!(back.schema.as_ref().unwrap().name.as_deref(), Some("Row"));
    // Bad input is a record error.
    let e = reader
        .to_connect("rows", Some(&bytes[..bytes.len() - 1]))
        .unwrap_err();
    assert!(e.0.contains("truncated") && !e.is_transient(), "{e}");
    let e = reader
        .to_connect("rows", Some(&[0, 0, 0, 0, 7, 0]))
        .unwrap_err();
    assert!(e.0.contains("id 7") && e.0.contains("40403"), "{e}");
    let bad = api.call(
        "POST",
        "/subjects/x/versions",
        Some(json!({"schema": "syntax = \"proto3\"; message A { B b = 1; }", "schemaType": "PROTOBUF"})),
    );
    assert_eq!(code(&bad), (422, 42201), "{bad:?}");
}

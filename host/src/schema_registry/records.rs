//! The `_schemas` topic's record format, as Confluent Schema Registry writes it, so a real
//! registry can later adopt the topic (and Sluice workers share it):
//!
//! - schema: key `{"keytype":"SCHEMA","subject":S,"version":V,"magic":1}`, value
//!   `{"subject":S,"version":V,"id":I,"schemaType":T,"references":[..],"schema":"..","deleted":false}`
//!   (`schemaType` omitted for Avro); a hard delete is a tombstone of the key.
//! - compatibility: key `{"keytype":"CONFIG","subject":S|null,"magic":0}`, value
//!   `{"compatibilityLevel":"BACKWARD"}`; a tombstone removes a subject's level.
//! - mode: key `{"keytype":"MODE","subject":S|null,"magic":0}`, value `{"mode":"READWRITE"}`.
//! - `DELETE_SUBJECT` / `CLEAR_SUBJECT` and `NOOP` keys are read and need no action here: the
//!   per-version records carry the deletions.

use serde_json::{json, Value as Json};

/// One record of the topic, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Schema {
        subject: String,
        version: i32,
        /// `None`: a hard delete (tombstone).
        value: Option<SchemaValue>,
    },
    Config {
        subject: Option<String>,
        /// `None`: removed.
        level: Option<String>,
    },
    Mode {
        subject: Option<String>,
        mode: Option<String>,
    },
    /// A key type that changes nothing here.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchemaValue {
    pub id: i32,
    pub schema_type: String,
    pub references: Vec<Json>,
    pub schema: String,
    pub deleted: bool,
}

impl Record {
    /// Key and value bytes of this record.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        let (key, value) = match self {
            Record::Schema {
                subject,
                version,
                value,
            } => (
                json!({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1}),
                value.as_ref().map(|v| {
                    let mut o = serde_json::Map::new();
                    o.insert("subject".into(), json!(subject));
                    o.insert("version".into(), json!(version));
                    o.insert("id".into(), json!(v.id));
                    if v.schema_type != "AVRO" {
                        o.insert("schemaType".into(), json!(v.schema_type));
                    }
                    o.insert("references".into(), Json::Array(v.references.clone()));
                    o.insert("schema".into(), json!(v.schema));
                    o.insert("deleted".into(), json!(v.deleted));
                    Json::Object(o)
                }),
            ),
            Record::Config { subject, level } => (
                json!({"keytype": "CONFIG", "subject": subject, "magic": 0}),
                level.as_ref().map(|l| json!({"compatibilityLevel": l})),
            ),
            Record::Mode { subject, mode } => (
                json!({"keytype": "MODE", "subject": subject, "magic": 0}),
                mode.as_ref().map(|m| json!({"mode": m})),
            ),
            Record::Other => (json!({"keytype": "NOOP", "magic": 0}), None),
        };
        (
            key.to_string().into_bytes(),
            value.map(|v| v.to_string().into_bytes()),
        )
    }

    /// Decodes a record; `Err` for one that is not in the registry's format.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Record, String> {
        let key: Json =
            serde_json::from_slice(key).map_err(|e| format!("the key is not JSON: {e}"))?;
        let value: Option<Json> = match value {
            None => None,
            Some(v) => {
                Some(serde_json::from_slice(v).map_err(|e| format!("the value is not JSON: {e}"))?)
            }
        };
        let subject = key
            .get("subject")
            .and_then(Json::as_str)
            .map(str::to_string);
        match key.get("keytype").and_then(Json::as_str) {
            Some("SCHEMA") => {
                let subject = subject.ok_or("a SCHEMA key without a subject")?;
                let version = key
                    .get("version")
                    .and_then(Json::as_i64)
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or("a SCHEMA key without a version")?;
                let value = match value {
                    None => None,
                    Some(v) => Some(SchemaValue {
                        id: v
                            .get("id")
                            .and_then(Json::as_i64)
                            .and_then(|i| i32::try_from(i).ok())
                            .ok_or("a SCHEMA value without an id")?,
                        schema_type: v
                            .get("schemaType")
                            .and_then(Json::as_str)
                            .unwrap_or("AVRO")
                            .to_string(),
                        references: v
                            .get("references")
                            .and_then(Json::as_array)
                            .cloned()
                            .unwrap_or_default(),
                        schema: v
                            .get("schema")
                            .and_then(Json::as_str)
                            .ok_or("a SCHEMA value without a schema")?
                            .to_string(),
                        deleted: v.get("deleted").and_then(Json::as_bool).unwrap_or(false),
                    }),
                };
                Ok(Record::Schema {
                    subject,
                    version,
                    value,
                })
            }
            Some("CONFIG") => Ok(Record::Config {
                subject,
                level: value.and_then(|v| {
                    v.get("compatibilityLevel")
                        .and_then(Json::as_str)
                        .map(str::to_string)
                }),
            }),
            Some("MODE") => Ok(Record::Mode {
                subject,
                mode: value.and_then(|v| v.get("mode").and_then(Json::as_str).map(str::to_string)),
            }),
            Some(_) => Ok(Record::Other),
            None => Err("a key without a keytype".into()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn confluent_records_round_trip() {
        // As Confluent Schema Registry 7.x writes them.
        let key = br#"{"keytype":"SCHEMA","subject":"t-value","version":1,"magic":1}"#;
        let value =
            br#"{"subject":"t-value","version":1,"id":3,"schema":"\"string\"","deleted":false}"#;
        let r = Record::decode(key, Some(value)).unwrap();
        assert_eq!(
            r,
            Record::Schema {
                subject: "t-value".into(),
                version: 1,
                value: Some(SchemaValue {
                    id: 3,
                    schema_type: "AVRO".into(),
                    references: vec![],
                    schema: "\"string\"".into(),
                    deleted: false
                })
            }
        );
        let (k, v) = r.encode();
        assert_eq!(Record::decode(&k, v.as_deref()).unwrap(), r);
        let key = br#"{"keytype":"CONFIG","subject":null,"magic":0}"#;
        assert_eq!(
            Record::decode(key, Some(br#"{"compatibilityLevel":"FULL"}"#)).unwrap(),
            Record::Config {
                subject: None,
                level: Some("FULL".into())
            }
        );
        assert_eq!(
            Record::decode(br#"{"keytype":"NOOP","magic":0}"#, None).unwrap(),
            Record::Other
        );
        assert!(Record::decode(b"x", None).is_err());
    }
}

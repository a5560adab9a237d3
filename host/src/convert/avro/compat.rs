//! Avro schema parsing and compatibility levels, checked with the `apache-avro` crate's
//! `SchemaCompatibility` (a port of Avro Java's, which Confluent's registry uses): BACKWARD
//! means the new schema can read data written with the old one, FORWARD the reverse, FULL both;
//! the `_TRANSITIVE` forms check every earlier version instead of the latest only.

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::Schema as AvroSchema;

/// A compatibility level (`/config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

pub const DEFAULT_LEVEL: Level = Level::Backward;

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "NONE" => Level::None,
            "BACKWARD" => Level::Backward,
            "BACKWARD_TRANSITIVE" => Level::BackwardTransitive,
            "FORWARD" => Level::Forward,
            "FORWARD_TRANSITIVE" => Level::ForwardTransitive,
            "FULL" => Level::Full,
            "FULL_TRANSITIVE" => Level::FullTransitive,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::None => "NONE",
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn transitive(self) -> bool {
        matches!(
            self,
            Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive
        )
    }

    /// Problems of `new` against the existing versions (oldest first), as the level says; empty
    /// when compatible.
    pub fn check(self, new: &AvroSchema, existing: &[AvroSchema]) -> Vec<String> {
        if self == Level::None {
            return Vec::new();
        }
        let against: &[AvroSchema] = if self.transitive() {
            existing
        } else {
            existing.last().map(std::slice::from_ref).unwrap_or(&[])
        };
        let backward = !matches!(self, Level::Forward | Level::ForwardTransitive);
        let forward = !matches!(self, Level::Backward | Level::BackwardTransitive);
        let mut problems = Vec::new();
        for old in against {
            if backward {
                if let Err(e) = SchemaCompatibility::can_read(old, new) {
                    problems.push(format!(
                        "the new schema cannot read data written with an earlier one (BACKWARD): {e}"
                    ));
                }
            }
            if forward {
                if let Err(e) = SchemaCompatibility::can_read(new, old) {
                    problems.push(format!(
                        "an earlier schema cannot read data written with the new one (FORWARD): {e}"
                    ));
                }
            }
        }
        problems
    }
}

/// Parses an Avro schema with the schemas of its references (named types it uses).
pub fn parse(schema: &str, references: &[String]) -> Result<AvroSchema, String> {
    if references.is_empty() {
        return AvroSchema::parse_str(schema).map_err(|e| e.to_string());
    }
    let refs: Vec<&str> = references.iter().map(String::as_str).collect();
    AvroSchema::parse_str_with_list(schema, &refs)
        .map(|(s, _)| s)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(fields: &str) -> AvroSchema {
        parse(
            &format!(r#"{{"type":"record","name":"R","namespace":"a","fields":[{fields}]}}"#),
            &[],
        )
        .unwrap()
    }

    /// The rules Confluent documents for Avro (schema evolution and compatibility).
    #[test]
    fn evolution_as_confluent_documents_it() {
        let v1 = record(r#"{"name":"id","type":"long"}"#);
        let add_optional = record(
            r#"{"name":"id","type":"long"},{"name":"n","type":["null","string"],"default":null}"#,
        );
        let add_required = record(r#"{"name":"id","type":"long"},{"name":"n","type":"string"}"#);
        let promoted = record(r#"{"name":"id","type":"double"}"#);
        let renamed_type = record(r#"{"name":"id","type":"string"}"#);

        // Adding a field with a default, removing one: fine both ways.
        assert!(Level::Full
            .check(&add_optional, std::slice::from_ref(&v1))
            .is_empty());
        assert!(Level::Full
            .check(&v1, std::slice::from_ref(&add_optional))
            .is_empty());
        // Adding a field without a default: forward only (old readers ignore it).
        assert!(!Level::Backward
            .check(&add_required, std::slice::from_ref(&v1))
            .is_empty());
        assert!(Level::Forward
            .check(&add_required, std::slice::from_ref(&v1))
            .is_empty());
        // Removing a field without a default: backward only.
        assert!(Level::Backward
            .check(&v1, std::slice::from_ref(&add_required))
            .is_empty());
        assert!(!Level::Forward
            .check(&v1, std::slice::from_ref(&add_required))
            .is_empty());
        // long -> double is a promotion readers may make; string is not.
        assert!(Level::Backward
            .check(&promoted, std::slice::from_ref(&v1))
            .is_empty());
        assert!(!Level::Backward
            .check(&renamed_type, std::slice::from_ref(&v1))
            .is_empty());
        assert!(Level::None
            .check(&renamed_type, std::slice::from_ref(&v1))
            .is_empty());
        // Transitive levels check every version, the others the latest only.
        let history = [add_required.clone(), v1.clone()];
        let drop_all = record(r#"{"name":"n","type":["null","string"],"default":null}"#);
        assert!(!Level::Forward.check(&drop_all, &history).is_empty());
        // x was an int in v1, gone in v2, a string in v3: v3 reads v2's data but not v1's.
        let with_int = record(r#"{"name":"id","type":"long"},{"name":"x","type":"int"}"#);
        let with_string =
            record(r#"{"name":"id","type":"long"},{"name":"x","type":"string","default":""}"#);
        let history = [with_int, v1.clone()];
        assert!(Level::Backward.check(&with_string, &history).is_empty());
        assert!(!Level::BackwardTransitive
            .check(&with_string, &history)
            .is_empty());
        assert_eq!(Level::parse("full_transitive"), Some(Level::FullTransitive));
        assert_eq!(Level::parse("sideways"), None);
    }
}

//! mask-upper in Rust: masks some fields of a record value and upper-cases others.
//!
//! The same transform exists in JavaScript (examples/js-mask-upper) and Python
//! (examples/python-mask-upper); the integration test and the benchmark run all three.
//!
//! Works on struct values (data with a schema, e.g. datagen's users) and on schemaless maps
//! (JsonConverter with `schemas.enable=false`). A record whose value is neither, or whose
//! named field is not a string, fails on its own (dead letter queue with
//! `errors.tolerance=all`); tombstones (null values) pass unchanged.
//!
//! It counts the records it let through in its own metric, `records_kept` (published by the
//! worker as `kafka_connect_plugins_records_kept_total{connector,task}`).

use sluice_plugin_sdk::{
    log, metrics, Config, ConfigDef, ConfigProblem, Outcome, PluginSpec, Record, Transform, Value,
};

const MASK: &str = "****";

#[derive(Clone, Copy)]
enum Edit {
    Mask,
    Upper,
}

impl Edit {
    fn apply(self, s: &str) -> String {
        match self {
            Edit::Mask => MASK.to_string(),
            Edit::Upper => s.to_uppercase(),
        }
    }
}

pub struct MaskUpper {
    edits: Vec<(String, Edit)>,
}

impl Transform for MaskUpper {
    fn spec() -> PluginSpec {
        PluginSpec::new("example.rust.MaskUpper", "0.1.0")
            .alias("rust-mask-upper")
            .description(
                "Replaces the values of mask.fields with **** and upper-cases upper.fields.",
            )
            .config(
                ConfigDef::list("mask.fields")
                    .default("")
                    .doc("Fields whose string value is replaced by ****."),
            )
            .config(
                ConfigDef::list("upper.fields")
                    .default("")
                    .doc("Fields whose string value is upper-cased."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        let empty = |key| config.list(key).map(|l| l.is_empty()).unwrap_or(true);
        if empty("mask.fields") && empty("upper.fields") {
            return vec![ConfigProblem {
                key: "mask.fields".into(),
                message: "name at least one field in mask.fields or upper.fields".into(),
            }];
        }
        Vec::new()
    }

    fn create(_class: &str, config: Config) -> Result<Self, String> {
        if let Some(p) = Self::validate(&config).into_iter().next() {
            return Err(format!("config `{}`: {}", p.key, p.message));
        }
        let mut edits = Vec::new();
        for f in config.list("mask.fields")? {
            edits.push((f, Edit::Mask));
        }
        for f in config.list("upper.fields")? {
            edits.push((f, Edit::Upper));
        }
        log::info!("mask-upper (rust): {} field edits", edits.len());
        Ok(MaskUpper { edits })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        let outcome = self.edit(record);
        if matches!(outcome, Outcome::Keep(_)) {
            // A refused update (it cannot be: the name is valid) must not fail the record.
            let _ = metrics::counter_add("records_kept", 1);
        }
        outcome
    }
}

impl MaskUpper {
    fn edit(&self, mut record: Record) -> Outcome {
        for (field, edit) in &self.edits {
            let slot = match &mut record.value {
                Value::Null => return Outcome::Keep(record),
                Value::Struct(s) => match s.get(field) {
                    None | Some(Value::Null) => continue,
                    Some(Value::String(v)) => {
                        let new = edit.apply(v);
                        // The field exists (just read), so put cannot fail.
                        let _ = s.put(field, new);
                        continue;
                    }
                    Some(_) => return Outcome::Fail(format!("field \"{field}\" is not a string")),
                },
                Value::Map(entries) => entries
                    .iter_mut()
                    .find(|(k, _)| k.as_str() == Some(field.as_str()))
                    .map(|(_, v)| v),
                other => {
                    return Outcome::Fail(format!(
                        "mask-upper needs a struct or map value, got {other:?}"
                    ))
                }
            };
            match slot {
                None | Some(Value::Null) => {}
                Some(Value::String(v)) => *v = edit.apply(v),
                Some(_) => return Outcome::Fail(format!("field \"{field}\" is not a string")),
            }
        }
        Outcome::Keep(record)
    }
}

sluice_plugin_sdk::export_transform!(MaskUpper);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::{Schema, Struct};

    fn transform(mask: &str, upper: &str) -> MaskUpper {
        let config = Config::with_defs(
            vec![
                ("mask.fields".into(), mask.into()),
                ("upper.fields".into(), upper.into()),
            ],
            &MaskUpper::spec().config,
        );
        MaskUpper::create("rust-mask-upper", config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn masks_and_upper_cases_struct_and_map_fields() {
        let schema = Schema::struct_builder()
            .field("name", Schema::string())
            .field("email", Schema::string())
            .build_ref();
        let mut user = Struct::new(schema.clone()).unwrap();
        user.put("name", "ada")
            .unwrap()
            .put("email", "ada@example.com")
            .unwrap();
        let mut t = transform("email", "name");
        let Outcome::Keep(r) = t.apply(Record::new("t").with_value(Some(schema), user)) else {
            panic!("kept")
        };
        let s = r.value.as_struct().unwrap();
        assert_eq!(s.get("name"), Some(&Value::from("ADA")));
        assert_eq!(s.get("email"), Some(&Value::from(MASK)));

        let map = Value::Map(vec![(Value::from("name"), Value::from("bob"))]);
        let Outcome::Keep(r) = t.apply(Record::new("t").with_value(None, map)) else {
            panic!("kept")
        };
        assert_eq!(
            r.value,
            Value::Map(vec![(Value::from("name"), Value::from("BOB"))])
        );
    }

    #[test]
    fn fails_non_string_fields_and_non_struct_values() {
        let mut t = transform("", "n");
        let map = Value::Map(vec![(Value::from("n"), Value::Int64(1))]);
        assert_eq!(
            t.apply(Record::new("t").with_value(None, map)),
            Outcome::Fail("field \"n\" is not a string".into())
        );
        assert!(matches!(
            t.apply(Record::new("t").with_value(None, "plain")),
            Outcome::Fail(m) if m.contains("struct or map")
        ));
        assert!(
            MaskUpper::create("x", Config::with_defs(vec![], &MaskUpper::spec().config)).is_err()
        );
    }
}

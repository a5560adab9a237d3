//! {{name}}: a Sluice transform. Upper-cases the string field `field` of each record value
//! (a struct, or a schemaless map); fails a record whose field is not a string.

use sluice_plugin_sdk::{log, Config, ConfigDef, Outcome, PluginSpec, Record, Transform, Value};

pub struct Plugin {
    field: String,
}

impl Transform for Plugin {
    fn spec() -> PluginSpec {
        PluginSpec::new("{{plugin_name}}", "0.1.0")
            .description("Upper-cases one string field of the record value.")
            .config(ConfigDef::string("field").required().doc("The field to upper-case."))
    }

    fn create(_class: &str, config: Config) -> Result<Self, String> {
        let field = config.required_str("field")?.to_string();
        log::info!("{{name}}: upper-casing `{field}`");
        Ok(Plugin { field })
    }

    fn apply(&mut self, mut record: Record) -> Outcome {
        let slot = match &mut record.value {
            Value::Struct(s) => match s.get(&self.field) {
                Some(Value::String(v)) => {
                    let upper = v.to_uppercase();
                    // The field exists (just read), so put cannot fail.
                    let _ = s.put(&self.field, upper);
                    return Outcome::Keep(record);
                }
                None | Some(Value::Null) => return Outcome::Keep(record),
                Some(_) => None,
            },
            Value::Map(entries) => match entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(self.field.as_str()))
            {
                Some((_, Value::String(v))) => Some(v),
                None | Some((_, Value::Null)) => return Outcome::Keep(record),
                Some(_) => None,
            },
            _ => return Outcome::Keep(record),
        };
        match slot {
            Some(v) => {
                *v = v.to_uppercase();
                Outcome::Keep(record)
            }
            None => Outcome::Fail(format!("field `{}` is not a string", self.field)),
        }
    }
}

sluice_plugin_sdk::export_transform!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_cases_the_field_and_fails_non_strings() {
        let config = Config::new(vec![("field".into(), "name".into())]);
        let mut t = Plugin::create("{{plugin_name}}", config).unwrap();
        let map = |v: Value| Value::Map(vec![(Value::from("name"), v)]);
        let out = t.apply(Record::new("t").with_value(None, map(Value::from("ada"))));
        assert_eq!(out, Outcome::Keep(Record::new("t").with_value(None, map(Value::from("ADA")))));
        let out = t.apply(Record::new("t").with_value(None, map(Value::Int64(1))));
        assert!(matches!(out, Outcome::Fail(_)));
    }
}

//! Kafka's `ExtractField$Key` / `ExtractField$Value`: replaces the key/value with one of its
//! fields. One plugin serves both classes; `$Key` selects the record key.
//!
//! `field.syntax.version=V2` (Kafka 3.8+, KIP-821) reads `field` as a dotted path into nested
//! structs/maps, with backticks quoting names that contain dots; the path parser follows
//! Kafka's `SingleFieldPath` exactly, including its escape rules. With a schema, the result
//! schema is the field's schema and is looked up in the operating schema even for a null
//! value, so a tombstone comes out null but with the field's schema.

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.ExtractField");
const PURPOSE: &str = "field extraction";

pub struct ExtractField {
    side: Side,
    /// The path steps; V1 is always a single step.
    steps: Vec<String>,
    original: String,
    replace_null_with_default: bool,
}

fn incomplete_backtick(path: &str, pos: usize) -> String {
    format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {pos} to escape it"
    )
}

/// Kafka's `SingleFieldPath.buildFieldPathV2`, on char indices (Java strings index UTF-16
/// units; positions in error messages only differ for astral characters).
fn parse_v2(path: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = path.chars().collect();
    let len = chars.len();
    let find = |c: char, from: usize| {
        chars[from.min(len)..]
            .iter()
            .position(|&x| x == c)
            .map(|p| p + from)
    };
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let mut steps = Vec::new();
    let mut i = 0usize;
    while i < len {
        if chars[i] != '`' {
            let start = i;
            match find('.', i) {
                Some(dot) => {
                    steps.push(text(start, dot));
                    i = dot + 1;
                }
                None => {
                    steps.push(text(start, len));
                    break;
                }
            }
        } else {
            let opening = i;
            i += 1;
            let mut name = String::new();
            let mut start = i;
            loop {
                let Some(tick) = find('`', i) else {
                    return Err(incomplete_backtick(path, opening));
                };
                i = tick;
                let escaped = chars[i - 1] == '\\';
                if i >= len - 1 {
                    // The closing backtick ends the path.
                    if escaped {
                        return Err(incomplete_backtick(path, opening));
                    }
                    name.push_str(&text(start, i));
                    steps.push(name);
                    i += 1;
                    break;
                }
                if chars[i + 1] != '.' {
                    // A backtick inside the name.
                    i += 1;
                    continue;
                }
                if escaped {
                    name.push_str(&text(start, i - 1));
                    name.push('`');
                    i += 1;
                    start = i;
                    continue;
                }
                name.push_str(&text(start, i));
                steps.push(name);
                i += 2;
                break;
            }
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

impl ExtractField {
    fn field_schema(&self, schema: &SchemaRef) -> Result<Option<SchemaRef>, String> {
        let mut current = schema.clone();
        let (last, parents) = self.steps.split_last().expect("at least one step");
        for step in parents {
            if current.ty != SchemaType::Struct {
                return Err("Cannot look up fields on non-struct type".into());
            }
            match current.field(step) {
                Some((_, f)) => current = f.schema.clone(),
                None => return Ok(None),
            }
        }
        if current.ty != SchemaType::Struct {
            return Err("Cannot look up fields on non-struct type".into());
        }
        Ok(current.field(last).map(|(_, f)| f.schema.clone()))
    }

    fn struct_value(&self, mut s: &Struct) -> Result<Value, String> {
        let (last, parents) = self.steps.split_last().expect("at least one step");
        for step in parents {
            match s.get_or_default(step) {
                None | Some(Value::Null) => return Ok(Value::Null),
                Some(Value::Struct(inner)) => s = inner,
                Some(other) => {
                    let schema = s.schema().field(step).map(|(_, f)| f.schema.clone());
                    return Err(format!(
                        "Only Struct objects supported for [nested field access], found: {}",
                        other.java_class_name(schema.as_deref())
                    ));
                }
            }
        }
        let v = if self.replace_null_with_default {
            s.get_or_default(last)
        } else {
            s.get(last)
        };
        Ok(v.cloned().unwrap_or(Value::Null))
    }

    fn map_value(&self, entries: Vec<(Value, Value)>) -> Result<Value, String> {
        let (last, parents) = self.steps.split_last().expect("at least one step");
        let lookup = |entries: Vec<(Value, Value)>, name: &str| {
            entries
                .into_iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map_or(Value::Null, |(_, v)| v)
        };
        let mut current = entries;
        for step in parents {
            match lookup(current, step) {
                Value::Null => return Ok(Value::Null),
                Value::Map(inner) => current = inner,
                other => {
                    return Err(format!(
                        "Only Map objects supported in absence of schema for [nested field access], found: {}",
                        other.java_class_name(None)
                    ))
                }
            }
        }
        Ok(lookup(current, last))
    }

    fn extract(
        &self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        match schema {
            None => match value {
                Value::Null => Ok((None, Value::Null)),
                Value::Map(entries) => Ok((None, self.map_value(entries)?)),
                other => Err(format!(
                    "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                    other.java_class_name(None)
                )),
            },
            Some(schema) => {
                if !matches!(value, Value::Null | Value::Struct(_)) {
                    return Err(format!(
                        "Only Struct objects supported for [{PURPOSE}], found: {}",
                        value.java_class_name(Some(&schema))
                    ));
                }
                let Some(field_schema) = self.field_schema(&schema)? else {
                    return Err(format!("Unknown field: {}", self.original));
                };
                let out = match &value {
                    Value::Struct(s) => self.struct_value(s)?,
                    _ => Value::Null,
                };
                Ok((Some(field_schema), out))
            }
        }
    }
}

impl Transform for ExtractField {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Extract the specified field from a Struct when schema present, or a Map in the case of schemaless data. Any null values are passed through unmodified.")
            .config(
                ConfigDef::string("field")
                    .required()
                    .importance(Importance::Medium)
                    .doc("Field name to extract."),
            )
            .config(
                ConfigDef::boolean("replace.null.with.default")
                    .default(true)
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
            .config(
                ConfigDef::string("field.syntax.version")
                    .default("V1")
                    .importance(Importance::High)
                    .recommended(["V1", "V2"])
                    .doc("Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\"."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: if message.contains("field.syntax.version") {
                    "field.syntax.version".into()
                } else {
                    "field".into()
                },
                message,
            }],
        }
    }

    fn create(class: &str, config: Config) -> Result<Self, String> {
        let Some(field) = config.get("field") else {
            return Err(
                "Missing required configuration \"field\" which has no default value.".into(),
            );
        };
        let version = config.get("field.syntax.version").unwrap_or("V1");
        let steps = match version.to_ascii_uppercase().as_str() {
            "V1" => vec![field.to_string()],
            "V2" => parse_v2(field)?,
            _ => {
                return Err(format!(
                    "Invalid value {version} for configuration field.syntax.version: String must be one of (case insensitive): V1, V2"
                ))
            }
        };
        if steps.is_empty() {
            // An empty V2 path: Kafka fails on its first record (no last step); fail early.
            return Err("Invalid value  for configuration field: the field path is empty".into());
        }
        Ok(ExtractField {
            side: Side::of_class(class),
            steps,
            original: field.to_string(),
            replace_null_with_default: config.bool("replace.null.with.default")?,
        })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.extract(s, v))
    }
}

sluice_plugin_sdk::export_transform!(ExtractField);

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &ExtractField::spec().config)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn apply(t: &mut ExtractField, r: Record) -> Result<Record, String> {
        match t.apply(r) {
            Outcome::Keep(r) => Ok(r),
            Outcome::Fail(m) => Err(m),
            Outcome::Drop => panic!("ExtractField never drops"),
        }
    }

    #[test]
    fn v2_paths_parse_like_kafka() {
        let p = |s: &str| parse_v2(s).unwrap();
        assert_eq!(p("a.b.c"), ["a", "b", "c"]);
        assert_eq!(p("`foo.bar`.baz"), ["foo.bar", "baz"]);
        assert_eq!(p("a."), ["a", ""]);
        assert_eq!(p("`a\\`.b`.c"), ["a`.b", "c"]);
        assert_eq!(p("`a`b`"), ["a`b"]);
        assert_eq!(
            parse_v2("`abc").unwrap_err(),
            "Incomplete backtick pair in path: [`abc], consider adding a backslash before backtick at position 0 to escape it"
        );
    }

    #[test]
    fn schemaless_nested_and_missing() {
        let mut t = ExtractField::create(
            CLASS.key,
            cfg(&[("field", "a.b"), ("field.syntax.version", "v2")]),
        )
        .unwrap();
        let k = map(&[("a", map(&[("b", Value::Int64(5))]))]);
        let out = apply(&mut t, Record::new("t").with_key(None, k)).unwrap();
        assert_eq!(out.key, Value::Int64(5));
        let out = apply(&mut t, Record::new("t").with_key(None, map(&[]))).unwrap();
        assert_eq!(out.key, Value::Null);
        let mut v1 = ExtractField::create(CLASS.key, cfg(&[("field", "a.b")])).unwrap();
        let k = map(&[("a.b", Value::from("dotted"))]);
        let out = apply(&mut v1, Record::new("t").with_key(None, k)).unwrap();
        assert_eq!(out.key, Value::from("dotted"));
        assert_eq!(
            apply(&mut v1, Record::new("t").with_key(None, "s")).unwrap_err(),
            "Only Map objects supported in absence of schema for [field extraction], found: java.lang.String"
        );
    }

    #[test]
    fn with_schema_result_schema_is_the_field_schema() {
        let inner = Schema::struct_builder()
            .optional()
            .field("id", Schema::int64().optional().with_default(9i64))
            .build_ref();
        let schema = Schema::struct_builder()
            .field("user", inner.clone())
            .field("n", Schema::int32())
            .build_ref();
        let user = Struct::from_values(inner.clone(), vec![Value::Null]).unwrap();
        let st =
            Struct::from_values(schema.clone(), vec![Value::Struct(user), 1i32.into()]).unwrap();
        let mut t = ExtractField::create(
            CLASS.value,
            cfg(&[("field", "user.id"), ("field.syntax.version", "V2")]),
        )
        .unwrap();
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema.clone()), Value::Struct(st.clone())),
        )
        .unwrap();
        assert_eq!(out.value, Value::Int64(9));
        assert_eq!(out.value_schema.as_deref(), Some(&*inner.fields[0].schema));
        // Tombstone: null value, field schema.
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema.clone()), Value::Null),
        )
        .unwrap();
        assert_eq!(out.value, Value::Null);
        assert_eq!(out.value_schema.as_deref(), Some(&*inner.fields[0].schema));

        let mut unknown = ExtractField::create(CLASS.value, cfg(&[("field", "nope")])).unwrap();
        assert_eq!(
            apply(
                &mut unknown,
                Record::new("t").with_value(Some(schema), Value::Struct(st))
            )
            .unwrap_err(),
            "Unknown field: nope"
        );
    }
}

//! Kafka's `ReplaceField$Key` / `ReplaceField$Value`: drops (`exclude`), keeps (`include`) and
//! renames (`renames`) top-level fields. One plugin serves both classes; `$Key` selects the
//! record key.
//!
//! Filtering uses the original field names and happens before renaming, as in Kafka 3.9. The
//! deprecated `blacklist`/`whitelist` keys are still accepted (Kafka 3.x translates them to
//! `exclude`/`include`; the new key wins when both are set). A null key/value passes through.
//! With a schema, the rebuilt struct schema keeps the name, version, doc and parameters but,
//! like Kafka's `SchemaUtil.copySchemaBasics`, not optionality or the default.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.ReplaceField");
const PURPOSE: &str = "field replacement";
/// Kafka keeps the last 16 updated schemas per instance; so do we.
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: HashMap<String, String>,
    reverse_renames: HashMap<String, String>,
    replace_null_with_default: bool,
    /// The updated schema per input schema.
    cache: SchemaCache,
    /// For the last input schema seen: where each updated field's value comes from.
    plan: Option<Plan>,
}

/// Per input schema, the updated schema and each of its fields' source: an index into the
/// input struct, or the error Kafka raises for it. Computed once per schema (in practice
/// once per batch) instead of two name lookups and a clone per field of every record.
struct Plan {
    input: SchemaRef,
    updated: SchemaRef,
    sources: Vec<Result<usize, String>>,
    /// No input field feeds two output fields, so values can be moved out.
    distinct: bool,
}

/// Java's `String.split(":")`: trailing empty strings are removed.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() {
        // "".split(":") is [""] in Java; keep it (one part, an invalid mapping).
        return parts;
    }
    parts
}

fn parse_renames(items: &[String]) -> Result<HashMap<String, String>, String> {
    let mut map = HashMap::new();
    for item in items {
        let parts = java_split(item, ':');
        if parts.len() != 2 {
            return Err(format!(
                "Invalid value [{}] for configuration renames: Invalid rename mapping: {item}",
                items.join(", ")
            ));
        }
        map.insert(parts[0].to_string(), parts[1].to_string());
    }
    Ok(map)
}

impl ReplaceField {
    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|e| e == name)
            && (self.include.is_empty() || self.include.iter().any(|i| i == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames.get(name).map_or(name, String::as_str)
    }

    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.reverse_renames.get(name).map_or(name, String::as_str)
    }

    fn updated_schema(&mut self, schema: &SchemaRef) -> Result<SchemaRef, String> {
        if let Some(hit) = self.cache.get(schema) {
            return Ok(hit);
        }
        let mut fields: Vec<Field> = Vec::new();
        for f in &schema.fields {
            if !self.keeps(&f.name) {
                continue;
            }
            let name = self.renamed(&f.name);
            if fields.iter().any(|existing| existing.name == name) {
                return Err(format!(
                    "Cannot create field because of field name duplication {name}"
                ));
            }
            fields.push(Field {
                name: name.to_string(),
                schema: f.schema.clone(),
            });
        }
        // copySchemaBasics: name, version, doc, parameters; a fresh builder is required.
        let updated = Arc::new(Schema {
            fields,
            optional: false,
            default: None,
            ..Schema::new(SchemaType::Struct).with_basics_of(schema)
        });
        self.cache.insert(schema.clone(), updated.clone());
        Ok(updated)
    }

    /// The plan for `input`, reused while consecutive records share its `Arc`.
    fn plan(&mut self, input: &SchemaRef) -> Result<&Plan, String> {
        let hit = self
            .plan
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(&p.input, input));
        if !hit {
            let updated = self.updated_schema(input)?;
            let sources: Vec<Result<usize, String>> = updated
                .fields
                .iter()
                .map(|f| {
                    let original = self.reverse_renamed(&f.name);
                    input
                        .field(original)
                        .map(|(i, _)| i)
                        .ok_or_else(|| format!("{original} is not a valid field name"))
                })
                .collect();
            let mut seen: Vec<usize> = sources.iter().filter_map(|s| s.clone().ok()).collect();
            seen.sort_unstable();
            let distinct = seen.windows(2).all(|w| w[0] != w[1]);
            self.plan = Some(Plan {
                input: input.clone(),
                updated,
                sources,
                distinct,
            });
        }
        self.plan
            .as_ref()
            .ok_or_else(|| "internal error: no field plan".to_string())
    }

    fn replace(
        &mut self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        match (schema, value) {
            (schema, Value::Null) => Ok((schema, Value::Null)),
            (None, Value::Map(entries)) => {
                let mut out: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let Value::String(name) = &k else {
                        return Err(format!(
                            "class {} cannot be cast to class java.lang.String",
                            k.java_class_name(None)
                        ));
                    };
                    if !self.keeps(name) {
                        continue;
                    }
                    let new_name = Value::String(self.renamed(name).to_string());
                    // A HashMap put: a later field renamed onto an existing name replaces it.
                    match out.iter_mut().find(|(existing, _)| *existing == new_name) {
                        Some(slot) => slot.1 = v,
                        None => out.push((new_name, v)),
                    }
                }
                Ok((None, Value::Map(out)))
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                other.java_class_name(None)
            )),
            (Some(_), Value::Struct(s)) => {
                let replace_null = self.replace_null_with_default;
                let plan = self.plan(s.schema())?;
                let updated = plan.updated.clone();
                let (input, mut inputs) = s.into_parts();
                let mut values = Vec::with_capacity(plan.sources.len());
                for source in &plan.sources {
                    let i = *source.as_ref().map_err(Clone::clone)?;
                    let v = if plan.distinct {
                        std::mem::replace(&mut inputs[i], Value::Null)
                    } else {
                        inputs[i].clone()
                    };
                    // `Struct.get`: a null with a field default reads as the default.
                    let v = match (v, &input.fields[i].schema.default) {
                        (Value::Null, Some(d)) if replace_null => d.clone(),
                        (v, _) => v,
                    };
                    values.push(v);
                }
                let st = Struct::from_values(updated.clone(), values).map_err(|e| e.to_string())?;
                Ok((Some(updated), Value::Struct(st)))
            }
            (Some(schema), other) => Err(format!(
                "Only Struct objects supported for [{PURPOSE}], found: {}",
                other.java_class_name(Some(&schema))
            )),
        }
    }
}

/// Copies what Kafka's `SchemaUtil.copySchemaBasics` copies.
trait WithBasics {
    fn with_basics_of(self, source: &Schema) -> Self;
}

impl WithBasics for Schema {
    fn with_basics_of(mut self, source: &Schema) -> Schema {
        self.name = source.name.clone();
        self.version = source.version;
        self.doc = source.doc.clone();
        self.parameters = source.parameters.clone();
        self
    }
}

impl Transform for ReplaceField {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Filter or rename fields.")
            .config(
                ConfigDef::list("exclude")
                    .default("")
                    .doc("Fields to exclude. This takes precedence over the fields to include."),
            )
            .config(
                ConfigDef::list("blacklist")
                    .importance(Importance::Low)
                    .doc("Deprecated. Use exclude instead."),
            )
            .config(
                ConfigDef::list("include")
                    .default("")
                    .doc("Fields to include. If specified, only these fields will be used."),
            )
            .config(
                ConfigDef::list("whitelist")
                    .importance(Importance::Low)
                    .doc("Deprecated. Use include instead."),
            )
            .config(
                ConfigDef::list("renames")
                    .default("")
                    .doc("Field rename mappings, e.g. foo:bar,abc:xyz."),
            )
            .config(
                ConfigDef::boolean("replace.null.with.default")
                    .default(true)
                    .doc("Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used."),
            )
    }

    fn validate(config: &Config) -> Vec<ConfigProblem> {
        match Self::create(CLASS.value, config.clone()) {
            Ok(_) => Vec::new(),
            Err(message) => vec![ConfigProblem {
                key: if message.contains("renames") {
                    "renames".into()
                } else {
                    "replace.null.with.default".into()
                },
                message,
            }],
        }
    }

    fn create(class: &str, config: Config) -> Result<Self, String> {
        // ConfigUtils.translateDeprecatedConfigs: the deprecated key only counts when the
        // new one is absent.
        let pick = |new: &str, old: &str| {
            if !config.contains(new) && config.contains(old) {
                config.list(old)
            } else {
                config.list(new)
            }
        };
        let exclude = pick("exclude", "blacklist")?;
        let include = pick("include", "whitelist")?;
        let renames = parse_renames(&config.list("renames")?)?;
        let reverse_renames = renames
            .iter()
            .map(|(k, v)| (v.clone(), k.clone()))
            .collect();
        Ok(ReplaceField {
            side: Side::of_class(class),
            exclude,
            include,
            renames,
            reverse_renames,
            replace_null_with_default: config.bool("replace.null.with.default")?,
            cache: SchemaCache::new(),
            plan: None,
        })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.replace(s, v))
    }
}

impl StructPlans for ReplaceField {
    fn plan_side(&self) -> Side {
        self.side
    }

    /// The same field plan as `replace`, for the SDK to apply to the bytes; a schema with a
    /// field Kafka rejects has none, so its records fail through `apply`.
    fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
        let null_as_default = self.replace_null_with_default;
        let plan = self.plan(input).ok()?;
        let fields = plan
            .sources
            .iter()
            .map(|source| {
                Some(FieldSource::Input {
                    index: *source.as_ref().ok()?,
                    null_as_default,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(StructPlan::new(plan.updated.clone(), fields))
    }
}

sluice_plugin_sdk::export_transform!(ReplaceField: StructPlans);

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &ReplaceField::spec().config)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn kept(t: &mut ReplaceField, r: Record) -> Record {
        match t.apply(r) {
            Outcome::Keep(r) => r,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn schemaless_filters_on_original_names_then_renames() {
        let mut t = ReplaceField::create(
            CLASS.value,
            cfg(&[("exclude", "b"), ("renames", "a:x,b:y,c:z")]),
        )
        .unwrap();
        let r = Record::new("t").with_value(
            None,
            map(&[
                ("a", Value::Int64(1)),
                ("b", Value::Int64(2)),
                ("c", Value::Null),
            ]),
        );
        assert_eq!(
            kept(&mut t, r).value,
            map(&[("x", Value::Int64(1)), ("z", Value::Null)])
        );
        let mut only =
            ReplaceField::create(CLASS.value, cfg(&[("include", "a,c"), ("exclude", "c")]))
                .unwrap();
        let r = Record::new("t").with_value(
            None,
            map(&[
                ("a", Value::Int64(1)),
                ("b", Value::Int64(2)),
                ("c", 3i64.into()),
            ]),
        );
        assert_eq!(kept(&mut only, r).value, map(&[("a", Value::Int64(1))]));
    }

    #[test]
    fn deprecated_aliases_apply_only_without_the_new_key() {
        let mut t = ReplaceField::create(CLASS.value, cfg(&[("blacklist", "a")])).unwrap();
        let r = Record::new("t").with_value(None, map(&[("a", 1i64.into()), ("b", 2i64.into())]));
        assert_eq!(kept(&mut t, r).value, map(&[("b", 2i64.into())]));
        let mut t = ReplaceField::create(CLASS.value, cfg(&[("whitelist", "a"), ("include", "b")]))
            .unwrap();
        let r = Record::new("t").with_value(None, map(&[("a", 1i64.into()), ("b", 2i64.into())]));
        assert_eq!(kept(&mut t, r).value, map(&[("b", 2i64.into())]));
    }

    #[test]
    fn struct_key_keeps_order_and_defaults_and_drops_optionality() {
        let schema = Schema::struct_builder()
            .name("com.example.Key")
            .optional()
            .field("id", Schema::int32())
            .field("name", Schema::string().optional().with_default("anon"))
            .field("secret", Schema::string())
            .build_ref();
        let st = Struct::from_values(
            schema.clone(),
            vec![Value::Int32(7), Value::Null, Value::from("s")],
        )
        .unwrap();
        let mut t = ReplaceField::create(
            CLASS.key,
            cfg(&[("exclude", "secret"), ("renames", "id:key_id")]),
        )
        .unwrap();
        let out = kept(
            &mut t,
            Record::new("t").with_key(Some(schema.clone()), Value::Struct(st.clone())),
        );
        let ks = out.key_schema.unwrap();
        assert_eq!(ks.name.as_deref(), Some("com.example.Key"));
        assert!(!ks.optional);
        let names: Vec<&str> = ks.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["key_id", "name"]);
        let s = out.key.as_struct().unwrap();
        assert_eq!(s.get("key_id"), Some(&Value::Int32(7)));
        assert_eq!(s.get("name"), Some(&Value::from("anon")));

        let mut keep_null =
            ReplaceField::create(CLASS.key, cfg(&[("replace.null.with.default", "false")]))
                .unwrap();
        let out = kept(
            &mut keep_null,
            Record::new("t").with_key(Some(schema), Value::Struct(st)),
        );
        assert_eq!(out.key.as_struct().unwrap().get("name"), Some(&Value::Null));
    }

    #[test]
    fn errors_match_kafka() {
        let err = ReplaceField::create(CLASS.value, cfg(&[("renames", "a:b,c")]))
            .err()
            .unwrap();
        assert_eq!(
            err,
            "Invalid value [a:b, c] for configuration renames: Invalid rename mapping: c"
        );
        let mut t = ReplaceField::create(CLASS.value, cfg(&[])).unwrap();
        let Outcome::Fail(m) = t.apply(Record::new("t").with_value(None, "x")) else {
            panic!()
        };
        assert_eq!(
            m,
            "Only Map objects supported in absence of schema for [field replacement], found: java.lang.String"
        );
        let Outcome::Fail(m) =
            t.apply(Record::new("t").with_value(Some(Schema::int32().into_ref()), 5i32))
        else {
            panic!()
        };
        assert_eq!(
            m,
            "Only Struct objects supported for [field replacement], found: java.lang.Integer"
        );
        let schema = Schema::struct_builder()
            .field("a", Schema::int32())
            .field("b", Schema::int32())
            .build_ref();
        let st = Struct::from_values(schema.clone(), vec![1i32.into(), 2i32.into()]).unwrap();
        let mut dup = ReplaceField::create(CLASS.value, cfg(&[("renames", "a:b")])).unwrap();
        let Outcome::Fail(m) =
            dup.apply(Record::new("t").with_value(Some(schema), Value::Struct(st)))
        else {
            panic!()
        };
        assert_eq!(m, "Cannot create field because of field name duplication b");
        // Tombstones pass through, schema and all.
        let r =
            Record::new("t").with_value(Some(Schema::string().optional().into_ref()), Value::Null);
        assert_eq!(kept(&mut t, r.clone()), r);
    }
    /// A class, its config, and how many of the payment records its plans rewrite.
    type PlanCase = (&'static str, &'static [(&'static str, &'static str)], usize);

    #[test]
    fn struct_plans_give_what_apply_gives() {
        let records = testing::payment_records();
        let configs: [PlanCase; 4] = [
            (
                CLASS.value,
                &[
                    ("renames", "cust_id:customer_id,amt:amount"),
                    ("exclude", "internal_note"),
                ],
                4,
            ),
            (
                CLASS.value,
                &[
                    ("include", "id,internal_note,tags"),
                    ("replace.null.with.default", "false"),
                ],
                4,
            ),
            (CLASS.key, &[("renames", "id:key_id")], 2),
            // Two fields renamed to one name: no plan, `apply` fails them as Kafka does.
            (CLASS.value, &[("renames", "id:x,name:x")], 0),
        ];
        for (class, pairs, want) in configs {
            let (_, planned) =
                testing::check_struct_plans::<ReplaceField>(class, &cfg(pairs), &records);
            assert_eq!(planned, want, "{class} {pairs:?}");
        }
    }
}

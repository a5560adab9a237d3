//! Kafka's `MaskField$Key` / `MaskField$Value`: replaces the listed fields with a "null value"
//! of their type (0, 0.0, false, "", empty array/map, epoch 0 for Date/Time/Timestamp, 0 for
//! Decimal), or with a custom `replacement` converted to the field's type (numbers and strings
//! only). One plugin serves both classes; `$Key` selects the record key.
//!
//! Kafka decides the mask by the Java class of the value, not by the schema; we derive that
//! class from the schema's logical name and the value variant. Unlike most SMTs, MaskField has
//! no null guard: a tombstone fails exactly as in Kafka ("Only Map objects supported ...,
//! found: null"). Schemaless, every listed field is written, so an absent one appears as null.

use sluice_plugin_sdk::*;

const CLASS: KeyValueClass = key_value_class!("org.apache.kafka.connect.transforms.MaskField");
const PURPOSE: &str = "mask fields";

pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

/// A number written the way `new java.math.BigDecimal(String)` accepts it.
struct ParsedDecimal {
    negative: bool,
    digits: String,
    /// Digits after the point minus the exponent (BigDecimal's scale).
    scale: i64,
}

fn parse_big_decimal(s: &str) -> Option<ParsedDecimal> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || !all_digits(body) {
                return None;
            }
            e.parse().ok()?
        }
    };
    Some(ParsedDecimal {
        negative,
        digits: format!("{int_part}{frac_part}"),
        scale: frac_part.len() as i64 - exp,
    })
}

impl ParsedDecimal {
    /// The integer part (truncated toward zero), modulo 2^128: enough for Java's narrowing
    /// `byteValue()`..`longValue()`, which keep only the low-order bits.
    fn truncated_low_bits(&self) -> i128 {
        let keep = self.digits.len() as i64 - self.scale.max(0);
        let mut n: i128 = 0;
        for b in self.digits.bytes().take(keep.max(0) as usize) {
            n = n.wrapping_mul(10).wrapping_add(i128::from(b - b'0'));
        }
        for _ in 0..(-self.scale).clamp(0, 200) {
            n = n.wrapping_mul(10);
        }
        if self.negative {
            n.wrapping_neg()
        } else {
            n
        }
    }

    fn as_f64(&self) -> f64 {
        let text = format!(
            "{}0.{}e{}",
            if self.negative { "-" } else { "" },
            self.digits,
            self.digits.len() as i64 - self.scale
        );
        text.parse().unwrap_or(0.0)
    }

    /// The unscaled value, if it fits the SDK's Decimal encoding.
    fn unscaled(&self) -> Option<i128> {
        let n: i128 = self.digits.parse().ok()?;
        Some(if self.negative { -n } else { n })
    }
}

fn decimal_scale(schema: &Schema) -> i64 {
    schema
        .parameter(logical::DECIMAL_SCALE)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl MaskField {
    /// `masked(value)` in Kafka, given the value's (field) schema when there is one.
    fn masked(&self, value: &Value, schema: Option<&SchemaRef>) -> Result<Value, String> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let class = value.java_class_name(schema.map(|s| &**s));
        match &self.replacement {
            None => mask_with_null_value(value, class, schema),
            Some(r) => mask_with_replacement(value, class, schema, r),
        }
    }

    fn mask(
        &self,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> Result<(Option<SchemaRef>, Value), String> {
        match (schema, value) {
            (None, Value::Map(mut entries)) => {
                for name in &self.fields {
                    let key = Value::String(name.clone());
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some(slot) => slot.1 = self.masked(&slot.1, None)?,
                        None => entries.push((key, Value::Null)),
                    }
                }
                Ok((None, Value::Map(entries)))
            }
            (None, other) => Err(format!(
                "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                other.java_class_name(None)
            )),
            (Some(schema), Value::Struct(s)) => {
                // Field values are moved, in schema order (no lookup by name); only a
                // substituted default is copied.
                let (struct_schema, inputs) = s.into_parts();
                let mut values = Vec::with_capacity(inputs.len());
                for (v, f) in inputs.into_iter().zip(&struct_schema.fields) {
                    // `Struct.get`: a null with a field default reads as the default.
                    let v = match (v, &f.schema.default) {
                        (Value::Null, Some(d)) if self.replace_null_with_default => d.clone(),
                        (v, _) => v,
                    };
                    if self.fields.contains(&f.name) {
                        values.push(self.masked(&v, Some(&f.schema))?);
                    } else {
                        values.push(v);
                    }
                }
                let st = Struct::from_values(struct_schema, values).map_err(|e| e.to_string())?;
                Ok((Some(schema), Value::Struct(st)))
            }
            (Some(schema), other) => Err(format!(
                "Only Struct objects supported for [{PURPOSE}], found: {}",
                other.java_class_name(Some(&schema))
            )),
        }
    }
}

/// A non-null value of `schema`'s type, standing in for any: what a mask depends on is the
/// same for all of them. `None` for a struct, which cannot be masked.
fn stand_in(schema: &Schema) -> Option<Value> {
    Some(match schema.ty {
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::Boolean => Value::Boolean(false),
        SchemaType::String => Value::String(String::new()),
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new()),
        SchemaType::Struct => return None,
    })
}

/// Connect's Decimal encoder rejects a BigDecimal whose scale differs from the schema's. In
/// Kafka that surfaces when the masked record is converted; we fail the record here, with
/// Kafka's message, rather than hand on a value the schema cannot describe.
fn scale_mismatch(schema_scale: i64, value_scale: i64) -> String {
    format!(
        "Decimal value has mismatching scale for given Decimal schema. Schema has scale {schema_scale}, value has scale {value_scale}."
    )
}

fn mask_with_null_value(
    value: &Value,
    class: &str,
    schema: Option<&SchemaRef>,
) -> Result<Value, String> {
    Ok(match value {
        // Date, Time and Timestamp become `new Date(0)`: epoch 0 in their encoding.
        Value::Int32(_) if class == "java.util.Date" => Value::Int32(0),
        Value::Int64(_) if class == "java.util.Date" => Value::Int64(0),
        Value::Bytes(_) if class == "java.math.BigDecimal" => {
            // BigDecimal.ZERO has scale 0; Connect's Decimal encoding rejects it for any
            // other scale when the record is converted.
            let scale = schema.map_or(0, |s| decimal_scale(s));
            if scale != 0 {
                return Err(scale_mismatch(scale, 0));
            }
            Value::decimal(0)
        }
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        Value::Null | Value::Bytes(_) | Value::Struct(_) => {
            return Err(format!("Cannot mask value of type: class {class}"))
        }
    })
}

fn mask_with_replacement(
    value: &Value,
    class: &str,
    schema: Option<&SchemaRef>,
    replacement: &str,
) -> Result<Value, String> {
    let number = || {
        // Connect's Values.convertTo*: parsed as a BigDecimal, then narrowed like Java.
        parse_big_decimal(replacement).ok_or_else(|| {
            format!("Unable to convert {replacement} (class java.lang.String) to a number")
        })
    };
    Ok(match value {
        Value::String(_) => Value::String(replacement.to_string()),
        Value::Bytes(_) if class == "java.math.BigDecimal" => {
            let parsed = parse_big_decimal(replacement).ok_or_else(|| {
                format!("Unable to convert {replacement} (class java.math.BigDecimal) to number")
            })?;
            let scale = schema.map_or(0, |s| decimal_scale(s));
            if parsed.scale != scale {
                return Err(scale_mismatch(scale, parsed.scale));
            }
            Value::decimal(
                parsed.unscaled().ok_or_else(|| {
                    format!("replacement {replacement} is too large for a Decimal")
                })?,
            )
        }
        Value::Int8(_) => Value::Int8(number()?.truncated_low_bits() as i8),
        Value::Int16(_) => Value::Int16(number()?.truncated_low_bits() as i16),
        Value::Int32(_) if class != "java.util.Date" => {
            Value::Int32(number()?.truncated_low_bits() as i32)
        }
        Value::Int64(_) if class != "java.util.Date" => {
            Value::Int64(number()?.truncated_low_bits() as i64)
        }
        Value::Float32(_) => Value::Float32(number()?.as_f64() as f32),
        Value::Float64(_) => Value::Float64(number()?.as_f64()),
        _ => {
            return Err(format!(
                "Cannot mask value of type class {class} with custom replacement."
            ))
        }
    })
}

impl Transform for MaskField {
    fn spec() -> PluginSpec {
        CLASS
            .spec("0.1.0")
            .description("Mask specified fields with a valid null value for the field type (i.e. 0, false, empty string, and so on).")
            .config(
                ConfigDef::list("fields")
                    .required()
                    .importance(Importance::High)
                    .doc("Names of fields to mask."),
            )
            .config(
                ConfigDef::string("replacement")
                    .importance(Importance::Low)
                    .doc("Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."),
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
            Err(message) => {
                let key = ["replacement", "replace.null.with.default"]
                    .into_iter()
                    .find(|k| message.contains(k))
                    .unwrap_or("fields");
                vec![ConfigProblem {
                    key: key.into(),
                    message,
                }]
            }
        }
    }

    fn create(class: &str, config: Config) -> Result<Self, String> {
        if config.get("fields").is_none() {
            return Err(
                "Missing required configuration \"fields\" which has no default value.".into(),
            );
        }
        let fields = config.list("fields")?;
        if fields.is_empty() {
            return Err("Invalid value [] for configuration fields: Empty list".into());
        }
        let replacement = config.get("replacement").map(str::to_string);
        if replacement.as_deref() == Some("") {
            return Err(
                "Invalid value  for configuration replacement: String must be non-empty".into(),
            );
        }
        Ok(MaskField {
            side: Side::of_class(class),
            fields,
            replacement,
            replace_null_with_default: config.bool("replace.null.with.default")?,
        })
    }

    fn apply(&mut self, record: Record) -> Outcome {
        self.side.apply(record, |s, v| self.mask(s, v))
    }
}

impl StructPlans for MaskField {
    fn plan_side(&self) -> Side {
        self.side
    }

    /// The mask of a field depends only on its schema (Kafka picks it by the value's class,
    /// which the schema fixes), so it is computed once per schema from a stand-in value. A
    /// field whose mask is an error has no plan: its records fail through `apply`.
    fn struct_plan(&mut self, input: &SchemaRef) -> Option<StructPlan> {
        let null_as_default = self.replace_null_with_default;
        let mut fields = Vec::with_capacity(input.fields.len());
        for (index, f) in input.fields.iter().enumerate() {
            fields.push(if self.fields.contains(&f.name) {
                let with = self.masked(&stand_in(&f.schema)?, Some(&f.schema)).ok()?;
                FieldSource::Replaced {
                    index,
                    with,
                    null_as_default,
                }
            } else {
                FieldSource::Input {
                    index,
                    null_as_default,
                }
            });
        }
        Some(StructPlan::new(input.clone(), fields))
    }
}

sluice_plugin_sdk::export_transform!(MaskField: StructPlans);

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &MaskField::spec().config)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn apply(t: &mut MaskField, r: Record) -> Result<Record, String> {
        match t.apply(r) {
            Outcome::Keep(r) => Ok(r),
            Outcome::Fail(m) => Err(m),
            Outcome::Drop => panic!("MaskField never drops"),
        }
    }

    #[test]
    fn schemaless_masks_by_type_and_adds_absent_fields() {
        let mut t =
            MaskField::create(CLASS.value, cfg(&[("fields", "n,s,b,l,m,f,gone,nil")])).unwrap();
        let v = map(&[
            ("n", Value::Int64(42)),
            ("s", Value::from("secret")),
            ("b", Value::Boolean(true)),
            ("l", Value::Array(vec![Value::Int64(1)])),
            ("m", map(&[("a", Value::Int64(1))])),
            ("f", Value::Float64(1.5)),
            ("nil", Value::Null),
            ("keep", Value::from("x")),
        ]);
        let out = apply(&mut t, Record::new("t").with_value(None, v)).unwrap();
        assert_eq!(
            out.value,
            map(&[
                ("n", Value::Int64(0)),
                ("s", Value::from("")),
                ("b", Value::Boolean(false)),
                ("l", Value::Array(vec![])),
                ("m", Value::Map(vec![])),
                ("f", Value::Float64(0.0)),
                ("nil", Value::Null),
                ("keep", Value::from("x")),
                ("gone", Value::Null),
            ])
        );
    }

    #[test]
    fn replacement_is_converted_like_connect_values() {
        let mut t = MaskField::create(
            CLASS.value,
            cfg(&[("fields", "a,b,c"), ("replacement", "300.7")]),
        )
        .unwrap();
        let schema = Schema::struct_builder()
            .field("a", Schema::int8())
            .field("b", Schema::float64())
            .field("c", Schema::string().optional())
            .build_ref();
        let st = Struct::from_values(
            schema.clone(),
            vec![Value::Int8(1), Value::Float64(2.0), Value::Null],
        )
        .unwrap();
        let out = apply(
            &mut t,
            Record::new("t").with_value(Some(schema.clone()), Value::Struct(st)),
        )
        .unwrap();
        let s = out.value.as_struct().unwrap();
        assert_eq!(s.get("a"), Some(&Value::Int8(44)));
        assert_eq!(s.get("b"), Some(&Value::Float64(300.7)));
        assert_eq!(s.get("c"), Some(&Value::Null));

        let mut bad =
            MaskField::create(CLASS.value, cfg(&[("fields", "a"), ("replacement", "x")])).unwrap();
        let r = Record::new("t").with_value(None, map(&[("a", Value::Int64(1))]));
        assert_eq!(
            apply(&mut bad, r).unwrap_err(),
            "Unable to convert x (class java.lang.String) to a number"
        );
        let r = Record::new("t").with_value(None, map(&[("a", Value::Boolean(true))]));
        assert_eq!(
            apply(&mut bad, r).unwrap_err(),
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
    }

    #[test]
    fn logical_types_and_errors() {
        let schema = Schema::struct_builder()
            .field("d", Schema::date())
            .field("ts", Schema::timestamp())
            .field("dec", Schema::decimal(0))
            .field("raw", Schema::bytes())
            .build_ref();
        let st = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int32(19000),
                Value::Int64(1_700_000_000_000),
                Value::decimal(1234),
                Value::Bytes(vec![1]),
            ],
        )
        .unwrap();
        let mut t = MaskField::create(CLASS.key, cfg(&[("fields", "d,ts,dec")])).unwrap();
        let out = apply(
            &mut t,
            Record::new("t").with_key(Some(schema.clone()), Value::Struct(st.clone())),
        )
        .unwrap();
        let s = out.key.as_struct().unwrap();
        assert_eq!(s.get("d"), Some(&Value::Int32(0)));
        assert_eq!(s.get("ts"), Some(&Value::Int64(0)));
        assert_eq!(s.get("dec"), Some(&Value::decimal(0)));

        let mut raw = MaskField::create(CLASS.key, cfg(&[("fields", "raw")])).unwrap();
        assert_eq!(
            apply(
                &mut raw,
                Record::new("t").with_key(Some(schema), Value::Struct(st))
            )
            .unwrap_err(),
            "Cannot mask value of type: class [B"
        );
        // No tombstone guard in Kafka's MaskField.
        assert_eq!(
            apply(&mut raw, Record::new("t")).unwrap_err(),
            "Only Map objects supported in absence of schema for [mask fields], found: null"
        );
        assert_eq!(
            MaskField::create(CLASS.value, cfg(&[])).err().unwrap(),
            "Missing required configuration \"fields\" which has no default value."
        );
    }
    /// A class, its config, and how many of the payment records its plans rewrite.
    type PlanCase = (&'static str, &'static [(&'static str, &'static str)], usize);

    #[test]
    fn struct_plans_give_what_apply_gives() {
        let records = testing::payment_records();
        let configs: [PlanCase; 5] = [
            (
                CLASS.value,
                &[(
                    "fields",
                    "ssn,credit_card,internal_note,when,tags,attrs,flag,small",
                )],
                4,
            ),
            (
                CLASS.value,
                &[
                    ("fields", "ssn,internal_note"),
                    ("replace.null.with.default", "false"),
                ],
                4,
            ),
            (
                CLASS.value,
                &[("fields", "cust_id,small,amt"), ("replacement", "12.5")],
                4,
            ),
            (
                CLASS.key,
                &[("fields", "name,ssn"), ("replacement", "***")],
                2,
            ),
            // Decimal with scale 2 cannot take BigDecimal.ZERO: no plan, `apply` fails them.
            (CLASS.value, &[("fields", "price")], 0),
        ];
        for (class, pairs, want) in configs {
            let (_, planned) =
                testing::check_struct_plans::<MaskField>(class, &cfg(pairs), &records);
            assert_eq!(planned, want, "{class} {pairs:?}");
        }
    }
}

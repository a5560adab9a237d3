//! Avro schema -> Parquet schema, as parquet-avro's `AvroSchemaConverter` does it for the
//! schemas Confluent's `AvroData` produces (records, nullable unions, arrays, maps, the
//! primitives and the logical types date, time-millis, timestamp-millis and decimal).
//!
//! The input is the Avro schema tree of [`crate::avro::schema::to_avro`]: the Connect -> Avro
//! mapping is AvroFormat's, not repeated here, exactly as Confluent's ParquetFormat goes
//! Connect -> Avro (`AvroData`) -> Parquet (parquet-avro).
//!
//! - `record` -> group (the top-level record is the message, named by its full name);
//!   `["null", T]` / `[T, "null"]` -> optional T; anything else required.
//! - `boolean`, `int`, `long`, `float`, `double` -> BOOLEAN, INT32, INT64, FLOAT, DOUBLE;
//!   `string` -> BINARY (STRING); `bytes` -> BINARY.
//! - `date` -> INT32 (DATE); `time-millis` -> INT32 (TIME(MILLIS, UTC));
//!   `timestamp-millis` -> INT64 (TIMESTAMP(MILLIS, UTC)); `decimal` -> BINARY
//!   (DECIMAL(precision, scale)).
//! - `array` -> `group (LIST) { repeated <item> array; }` (parquet-avro's old list structure,
//!   its default), or, when some array of the schema has nullable items (Confluent then sets
//!   `parquet.avro.write-old-list-structure=false`), the three-level
//!   `group (LIST) { repeated group list { <item> element; } }` for every array.
//! - `map` -> `group (MAP) { repeated group key_value { required binary key (STRING);
//!   <values> value; } }`. (Connect maps with non-string keys are Avro arrays of `MapEntry`
//!   records, so lists of groups.)

use std::collections::HashMap;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::schema::types::{Type, TypePtr};

use crate::avro::schema::Json;

/// One node of the schema, as the shredder walks it next to the Connect schema.
#[derive(Debug)]
pub struct Node {
    pub repetition: Repetition,
    pub shape: Shape,
}

#[derive(Debug)]
pub enum Shape {
    /// A column: its index among the leaves.
    Leaf(usize),
    /// A struct (or a map entry: its key and value).
    Record(Vec<Node>),
    /// A list: the repeated child takes each element (or each entry of a map whose keys are
    /// not strings).
    List(Box<Node>),
    /// A string-keyed map: the repeated `key_value` record takes each entry.
    Map(Box<Node>),
    /// The repeated `list` group of the three-level list: passes each element to `element`.
    Element(Box<Node>),
}

/// A column's physical type, its levels and its dotted path (for messages).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub physical: Physical,
    pub max_def: i16,
    pub max_rep: i16,
    pub path: String,
}

/// The Parquet form of a value schema.
#[derive(Debug)]
pub struct ParquetSchema {
    pub message: TypePtr,
    /// The top-level record's fields.
    pub fields: Vec<Node>,
    pub leaves: Vec<Leaf>,
}

/// Converts the Avro schema of a record (a nullable record is taken as the record).
pub fn convert(avro: &Json) -> Result<ParquetSchema, String> {
    let mut c = Converter {
        named: HashMap::new(),
        new_lists: has_array_of_nullable_items(avro),
        leaves: Vec::new(),
    };
    let record = match avro {
        Json::Arr(branches) => single_branch(branches)?,
        other => other,
    };
    let record = c.resolve(record)?;
    if type_name(&record) != Some("record") {
        return Err(format!(
            "a Parquet file holds records; the value schema is {} (use a Struct value schema)",
            type_name(&record).unwrap_or("not a record")
        ));
    }
    let full = c.register(&record);
    let (fields, types) = c.fields(&record, 0, 0, "")?;
    let message = Type::group_type_builder(&full)
        .with_fields(types)
        .build()
        .map_err(|e| format!("Parquet schema: {e}"))?;
    Ok(ParquetSchema {
        message: Arc::new(message),
        fields,
        leaves: c.leaves,
    })
}

struct Converter {
    /// Records by full name (Avro refers to a record defined before by its name).
    named: HashMap<String, Json>,
    new_lists: bool,
    leaves: Vec<Leaf>,
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

fn get<'a>(obj: &'a Json, key: &str) -> Option<&'a Json> {
    match obj {
        Json::Obj(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn get_str<'a>(obj: &'a Json, key: &str) -> Option<&'a str> {
    match get(obj, key) {
        Some(Json::Str(s)) => Some(s),
        _ => None,
    }
}

fn type_name(node: &Json) -> Option<&str> {
    match node {
        Json::Str(s) => Some(s),
        other => get_str(other, "type"),
    }
}

fn is_null(node: &Json) -> bool {
    type_name(node) == Some("null")
}

/// The non-null branch of a nullable union (the only unions `AvroData` writes).
fn single_branch(branches: &[Json]) -> Result<&Json, String> {
    let mut rest = branches.iter().filter(|b| !is_null(b));
    match (branches.len(), rest.next(), rest.next()) {
        (2, Some(b), None) => Ok(b),
        _ => Err("only nullable unions ([\"null\", T]) have a Parquet form".into()),
    }
}

/// Confluent's `schemaHasArrayOfOptionalItems`, on the Avro form: an array whose items are
/// a nullable union.
fn has_array_of_nullable_items(node: &Json) -> bool {
    match node {
        Json::Arr(items) => items.iter().any(has_array_of_nullable_items),
        Json::Obj(_) => {
            if type_name(node) == Some("array") && matches!(get(node, "items"), Some(Json::Arr(_)))
            {
                return true;
            }
            ["items", "values", "type"]
                .iter()
                .filter_map(|k| get(node, k))
                .chain(match get(node, "fields") {
                    Some(Json::Arr(fields)) => fields.iter().collect::<Vec<_>>(),
                    _ => Vec::new(),
                })
                .any(has_array_of_nullable_items)
        }
        _ => false,
    }
}

impl Converter {
    /// A named reference -> its definition; anything else as it is.
    fn resolve(&self, node: &Json) -> Result<Json, String> {
        match node {
            Json::Str(s) if !PRIMITIVES.contains(&s.as_str()) => {
                self.named.get(s).cloned().ok_or_else(|| {
                    format!("the Avro schema refers to '{s}', which it does not define")
                })
            }
            other => Ok(other.clone()),
        }
    }

    /// Remembers a record under its full name; returns the name.
    fn register(&mut self, record: &Json) -> String {
        let name = get_str(record, "name").unwrap_or_default();
        let full = match get_str(record, "namespace") {
            Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_string(),
        };
        self.named.insert(full.clone(), record.clone());
        full
    }

    /// The fields of a record whose group has levels (`def`, `rep`).
    fn fields(
        &mut self,
        record: &Json,
        def: i16,
        rep: i16,
        path: &str,
    ) -> Result<(Vec<Node>, Vec<TypePtr>), String> {
        let Some(Json::Arr(fields)) = get(record, "fields") else {
            return Err("an Avro record without fields".into());
        };
        let mut nodes = Vec::with_capacity(fields.len());
        let mut types = Vec::with_capacity(fields.len());
        for f in fields {
            let name = get_str(f, "name").ok_or("an Avro field without a name")?;
            let ty = get(f, "type").ok_or("an Avro field without a type")?;
            let (node, t) = self.node(name, ty, Repetition::REQUIRED, def, rep, path)?;
            nodes.push(node);
            types.push(t);
        }
        Ok((nodes, types))
    }

    /// The node and Parquet type of field `name` with Avro schema `avro`, under a parent with
    /// levels (`def`, `rep`).
    fn node(
        &mut self,
        name: &str,
        avro: &Json,
        repetition: Repetition,
        def: i16,
        rep: i16,
        parent: &str,
    ) -> Result<(Node, TypePtr), String> {
        if let Json::Arr(branches) = avro {
            let branch = single_branch(branches)?;
            return self.node(name, branch, Repetition::OPTIONAL, def, rep, parent);
        }
        let path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        let def = def + i16::from(repetition != Repetition::REQUIRED);
        let rep = rep + i16::from(repetition == Repetition::REPEATED);
        let avro = self.resolve(avro)?;
        let ty = type_name(&avro)
            .ok_or_else(|| format!("{path}: an Avro schema without a type"))?
            .to_string();
        let group = |fields: Vec<TypePtr>, logical: Option<LogicalType>| {
            Type::group_type_builder(name)
                .with_repetition(repetition)
                .with_logical_type(logical)
                .with_fields(fields)
                .build()
                .map(Arc::new)
                .map_err(|e| format!("{path}: {e}"))
        };
        let (shape, t) = match ty.as_str() {
            "record" => {
                self.register(&avro);
                let (fields, types) = self.fields(&avro, def, rep, &path)?;
                (Shape::Record(fields), group(types, None)?)
            }
            "array" => {
                let items = get(&avro, "items").ok_or_else(|| format!("{path}: no items"))?;
                let (child, t) = if self.new_lists {
                    let (element, et) = self.node(
                        "element",
                        items,
                        Repetition::REQUIRED,
                        def + 1,
                        rep + 1,
                        &format!("{path}.list"),
                    )?;
                    let list = Type::group_type_builder("list")
                        .with_repetition(Repetition::REPEATED)
                        .with_fields(vec![et])
                        .build()
                        .map_err(|e| format!("{path}: {e}"))?;
                    let node = Node {
                        repetition: Repetition::REPEATED,
                        shape: Shape::Element(Box::new(element)),
                    };
                    (node, Arc::new(list))
                } else {
                    self.node("array", items, Repetition::REPEATED, def, rep, &path)?
                };
                (
                    Shape::List(Box::new(child)),
                    group(vec![t], Some(LogicalType::List))?,
                )
            }
            "map" => {
                let values = get(&avro, "values").ok_or_else(|| format!("{path}: no values"))?;
                let kv_path = format!("{path}.key_value");
                let (key, kt) = self.leaf(
                    "key",
                    "string",
                    None,
                    Repetition::REQUIRED,
                    def + 1,
                    rep + 1,
                    &kv_path,
                )?;
                let (value, vt) = self.node(
                    "value",
                    values,
                    Repetition::REQUIRED,
                    def + 1,
                    rep + 1,
                    &kv_path,
                )?;
                let kv = Type::group_type_builder("key_value")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![kt, vt])
                    .build()
                    .map_err(|e| format!("{path}: {e}"))?;
                let entry = Node {
                    repetition: Repetition::REPEATED,
                    shape: Shape::Record(vec![key, value]),
                };
                (
                    Shape::Map(Box::new(entry)),
                    group(vec![Arc::new(kv)], Some(LogicalType::Map))?,
                )
            }
            primitive => {
                // `leaf` counts the levels itself.
                let (def, rep) = (
                    def - i16::from(repetition != Repetition::REQUIRED),
                    rep - i16::from(repetition == Repetition::REPEATED),
                );
                return self.leaf(name, primitive, Some(&avro), repetition, def, rep, parent);
            }
        };
        Ok((Node { repetition, shape }, t))
    }

    /// A primitive column under a parent with levels (`def`, `rep`).
    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        name: &str,
        primitive: &str,
        avro: Option<&Json>,
        repetition: Repetition,
        def: i16,
        rep: i16,
        parent: &str,
    ) -> Result<(Node, TypePtr), String> {
        let path = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        };
        let logical_name = avro.and_then(|a| get_str(a, "logicalType"));
        let (physical, logical) = match (primitive, logical_name) {
            ("boolean", _) => (Physical::BOOLEAN, None),
            ("int", Some("date")) => (Physical::INT32, Some(LogicalType::Date)),
            ("int", Some("time-millis")) => (
                Physical::INT32,
                Some(LogicalType::time(true, TimeUnit::MILLIS)),
            ),
            ("int", _) => (Physical::INT32, None),
            ("long", Some("timestamp-millis")) => (
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::MILLIS)),
            ),
            ("long", _) => (Physical::INT64, None),
            ("float", _) => (Physical::FLOAT, None),
            ("double", _) => (Physical::DOUBLE, None),
            ("string", _) => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            ("bytes", Some("decimal")) => {
                let num = |k: &str| match avro.and_then(|a| get(a, k)) {
                    Some(Json::Num(n)) => n.parse::<i32>().ok(),
                    _ => None,
                };
                let (Some(scale), Some(precision)) = (num("scale"), num("precision")) else {
                    return Err(format!("{path}: a decimal without scale or precision"));
                };
                (
                    Physical::BYTE_ARRAY,
                    Some(LogicalType::decimal(scale, precision)),
                )
            }
            ("bytes", _) => (Physical::BYTE_ARRAY, None),
            (other, _) => {
                return Err(format!(
                    "{path}: Avro type '{other}' has no Parquet form here"
                ))
            }
        };
        let mut builder = Type::primitive_type_builder(name, physical)
            .with_repetition(repetition)
            .with_logical_type(logical.clone());
        if let Some(LogicalType::Decimal(d)) = &logical {
            builder = builder.with_precision(d.precision).with_scale(d.scale);
        }
        let t = builder.build().map_err(|e| format!("{path}: {e}"))?;
        self.leaves.push(Leaf {
            physical,
            max_def: def + i16::from(repetition != Repetition::REQUIRED),
            max_rep: rep + i16::from(repetition == Repetition::REPEATED),
            path,
        });
        Ok((
            Node {
                repetition,
                shape: Shape::Leaf(self.leaves.len() - 1),
            },
            Arc::new(t),
        ))
    }
}

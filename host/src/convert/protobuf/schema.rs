//! Connect schemas <-> Protobuf, as Confluent's `ProtobufData` maps them: a STRUCT is a
//! `proto3` message (named after the struct, in the package of its namespace; unnamed:
//! `ConnectDefault1`), fields numbered by position (or their `io.confluent.connect.protobuf.Tag`
//! parameter), ARRAY as `repeated`, MAP as a repeated `<Field>Entry` message with `key` = 1 and
//! `value` = 2, nested structs and enums as nested definitions, INT8/INT16 as `int32` with a
//! `connect.type` param in `confluent.field_meta`, Decimal as `confluent.type.Decimal` (scale and
//! precision params), Date as `google.type.Date`, Time as `google.type.TimeOfDay`, Timestamp as
//! `google.protobuf.Timestamp`.
//!
//! Reading goes the other way, as Confluent reads: every field is optional and carries its
//! `Tag`; unsigned and 64-bit types are INT64; enums are STRINGs with Confluent's `Enum`
//! parameters; absent proto3 scalars read as their zero value (only `optional` fields and
//! messages read as null).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use crate::convert::ConvertError;
use crate::data::{logical, Field, Schema, SchemaRef, SchemaType, Value};

use super::proto_file::{self, DATE_FILE, DECIMAL_FILE, META_FILE, TIMESTAMP_FILE, TIME_FILE};

/// A field's protobuf number.
pub(crate) const TAG: &str = "io.confluent.connect.protobuf.Tag";
/// The parameter marking a STRING that is a protobuf enum (`…Enum.<symbol>` = its number).
pub(crate) const ENUM: &str = "io.confluent.connect.protobuf.Enum";
const DEFAULT_NAME: &str = "ConnectDefault";
const DECIMAL_PRECISION: &str = "connect.decimal.precision";

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

/// The protobuf number of the `index`-th field.
pub(crate) fn field_tag(schema: &Schema, index: usize) -> Result<u32, ConvertError> {
    match schema.parameter(TAG) {
        Some(t) => t
            .trim()
            .parse()
            .map_err(|_| err(format!("the {TAG} parameter {t:?} is not a field number"))),
        None => u32::try_from(index + 1).map_err(|_| err("too many fields")),
    }
}

/// The enum number of `symbol` when `schema` is an enum STRING.
pub(crate) fn enum_number(schema: &Schema, symbol: &str) -> Result<Option<i32>, ConvertError> {
    if schema.parameter(ENUM).is_none() {
        return Ok(None);
    }
    let key = format!("{ENUM}.{symbol}");
    match schema.parameter(&key) {
        Some(n) => n
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| err(format!("the enum parameter {key}={n:?} is not a number"))),
        None => Err(err(format!("{symbol:?} is not a symbol of the enum"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Connect -> .proto
// ---------------------------------------------------------------------------------------------

/// `optional.for.nullables`: optional scalars as proto3 `optional` fields (nulls survive).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub optional_for_nullables: bool,
}

/// The package and message name of a root struct.
pub(crate) fn root_name(schema: &Schema) -> (Option<&str>, String) {
    match schema.name.as_deref() {
        Some(n) if !n.is_empty() => match n.rsplit_once('.') {
            Some((ns, simple)) => (Some(ns), simple.to_string()),
            None => (None, n.to_string()),
        },
        _ => (None, format!("{DEFAULT_NAME}1")),
    }
}

/// The `.proto` text of a STRUCT schema, as `ProtobufData.fromConnectSchema`.
pub(crate) fn to_proto(schema: &Schema, opts: Options) -> Result<String, ConvertError> {
    if schema.ty != SchemaType::Struct {
        return Err(err(format!(
            "the ProtobufConverter writes STRUCT values only (a protobuf message); this schema is {}",
            schema.ty.json_name()
        )));
    }
    let (package, name) = root_name(schema);
    let mut w = Writer {
        opts,
        imports: BTreeSet::new(),
        defined: HashMap::new(),
        defaults: 1,
    };
    let root_path = match package {
        Some(p) => format!("{p}.{name}"),
        None => name.clone(),
    };
    w.defined
        .insert(schema.name.clone().unwrap_or_default(), root_path.clone());
    let mut body = String::new();
    w.message(&mut body, &name, &root_path, schema, 0)?;
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(p) = package {
        let _ = writeln!(out, "package {p};");
    }
    if !w.imports.is_empty() {
        out.push('\n');
        for i in &w.imports {
            let _ = writeln!(out, "import \"{i}\";");
        }
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

struct Writer {
    opts: Options,
    imports: BTreeSet<&'static str>,
    /// Struct name -> full path of the message defined for it.
    defined: HashMap<String, String>,
    defaults: u32,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn capitalized(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

impl Writer {
    fn message(
        &mut self,
        out: &mut String,
        name: &str,
        path: &str,
        schema: &Schema,
        depth: usize,
    ) -> Result<(), ConvertError> {
        let mut nested = String::new();
        let mut fields = String::new();
        for (i, f) in schema.fields.iter().enumerate() {
            if !valid_name(&f.name) {
                return Err(err(format!(
                    "the field name {:?} is not a protobuf identifier ([A-Za-z_][A-Za-z0-9_]*)",
                    f.name
                )));
            }
            let tag = field_tag(&f.schema, i)?;
            self.field(
                &mut fields,
                &mut nested,
                path,
                &f.name,
                tag,
                &f.schema,
                depth + 1,
            )?;
        }
        indent(out, depth);
        let _ = writeln!(out, "message {name} {{");
        out.push_str(&fields);
        out.push_str(&nested);
        indent(out, depth);
        out.push_str("}\n");
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &mut self,
        fields: &mut String,
        nested: &mut String,
        path: &str,
        name: &str,
        tag: u32,
        schema: &Schema,
        depth: usize,
    ) -> Result<(), ConvertError> {
        let mut label = "";
        let mut params: Vec<(String, String)> = Vec::new();
        let ty = match schema.ty {
            SchemaType::Array => {
                label = "repeated ";
                let item = schema
                    .items
                    .as_deref()
                    .ok_or_else(|| err("an ARRAY schema has no element schema"))?;
                if matches!(item.ty, SchemaType::Array | SchemaType::Map) {
                    return Err(err(format!(
                        "field {name:?}: an array of {}s has no protobuf form",
                        item.ty.json_name()
                    )));
                }
                self.type_of(nested, path, name, item, &mut params, depth)?
            }
            SchemaType::Map => {
                label = "repeated ";
                let (k, v) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                    (Some(k), Some(v)) => (k, v),
                    _ => return Err(err("a MAP schema has no key or value schema")),
                };
                let entry = format!("{}Entry", capitalized(name));
                let entry_path = format!("{path}.{entry}");
                let mut entry_fields = String::new();
                let mut entry_nested = String::new();
                self.field(
                    &mut entry_fields,
                    &mut entry_nested,
                    &entry_path,
                    "key",
                    1,
                    k,
                    depth + 1,
                )?;
                self.field(
                    &mut entry_fields,
                    &mut entry_nested,
                    &entry_path,
                    "value",
                    2,
                    v,
                    depth + 1,
                )?;
                indent(nested, depth);
                let _ = writeln!(nested, "message {entry} {{");
                nested.push_str(&entry_fields);
                nested.push_str(&entry_nested);
                indent(nested, depth);
                nested.push_str("}\n");
                format!(".{entry_path}")
            }
            _ => {
                if schema.optional
                    && self.opts.optional_for_nullables
                    && !matches!(schema.ty, SchemaType::Struct)
                    && schema.name.as_deref().is_none_or(|n| {
                        ![
                            logical::DECIMAL,
                            logical::DATE,
                            logical::TIME,
                            logical::TIMESTAMP,
                        ]
                        .contains(&n)
                    })
                {
                    label = "optional ";
                }
                self.type_of(nested, path, name, schema, &mut params, depth)?
            }
        };
        indent(fields, depth);
        let _ = write!(fields, "{label}{ty} {name} = {tag}");
        if !params.is_empty() {
            self.imports.insert(META_FILE);
            let entries: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{{ key: {k:?} value: {v:?} }}"))
                .collect();
            let _ = write!(
                fields,
                " [(confluent.field_meta) = {{ params: [{}] }}]",
                entries.join(", ")
            );
        }
        fields.push_str(";\n");
        Ok(())
    }

    /// The protobuf type of a non-repeated Connect schema (defining nested types as needed).
    fn type_of(
        &mut self,
        nested: &mut String,
        path: &str,
        field_name: &str,
        schema: &Schema,
        params: &mut Vec<(String, String)>,
        depth: usize,
    ) -> Result<String, ConvertError> {
        match schema.name.as_deref() {
            Some(logical::DECIMAL) if schema.ty == SchemaType::Bytes => {
                self.imports.insert(DECIMAL_FILE);
                if let Some(p) = schema.parameter(DECIMAL_PRECISION) {
                    params.push(("precision".into(), p.to_string()));
                }
                if let Some(s) = schema.parameter(logical::DECIMAL_SCALE) {
                    params.push(("scale".into(), s.to_string()));
                }
                return Ok(".confluent.type.Decimal".into());
            }
            Some(logical::DATE) if schema.ty == SchemaType::Int32 => {
                self.imports.insert(DATE_FILE);
                return Ok(".google.type.Date".into());
            }
            Some(logical::TIME) if schema.ty == SchemaType::Int32 => {
                self.imports.insert(TIME_FILE);
                return Ok(".google.type.TimeOfDay".into());
            }
            Some(logical::TIMESTAMP) if schema.ty == SchemaType::Int64 => {
                self.imports.insert(TIMESTAMP_FILE);
                return Ok(".google.protobuf.Timestamp".into());
            }
            _ => {}
        }
        Ok(match schema.ty {
            SchemaType::Int8 => {
                params.push(("connect.type".into(), "int8".into()));
                "int32".into()
            }
            SchemaType::Int16 => {
                params.push(("connect.type".into(), "int16".into()));
                "int32".into()
            }
            SchemaType::Int32 => "int32".into(),
            SchemaType::Int64 => "int64".into(),
            SchemaType::Float32 => "float".into(),
            SchemaType::Float64 => "double".into(),
            SchemaType::Boolean => "bool".into(),
            SchemaType::Bytes => "bytes".into(),
            SchemaType::String if schema.parameter(ENUM).is_some() => {
                let enum_name = schema
                    .name
                    .as_deref()
                    .map(|n| n.rsplit('.').next().unwrap_or(n).to_string())
                    .unwrap_or_else(|| capitalized(field_name));
                let enum_path = format!("{path}.{enum_name}");
                if !self.defined.contains_key(&enum_path) {
                    self.defined.insert(enum_path.clone(), enum_path.clone());
                    let prefix = format!("{ENUM}.");
                    indent(nested, depth);
                    let _ = writeln!(nested, "enum {enum_name} {{");
                    for (k, v) in &schema.parameters {
                        if let Some(symbol) = k.strip_prefix(&prefix) {
                            indent(nested, depth + 1);
                            let _ = writeln!(nested, "{symbol} = {v};");
                        }
                    }
                    indent(nested, depth);
                    nested.push_str("}\n");
                }
                format!(".{enum_path}")
            }
            SchemaType::String => "string".into(),
            SchemaType::Struct => {
                let key = schema.name.clone().unwrap_or_else(|| {
                    let n = format!("{DEFAULT_NAME}{}", self.defaults + 1);
                    self.defaults += 1;
                    n
                });
                if let Some(p) = self.defined.get(&key) {
                    return Ok(format!(".{p}"));
                }
                let simple = key.rsplit('.').next().unwrap_or(&key).to_string();
                let msg_path = format!("{path}.{simple}");
                self.defined.insert(key, msg_path.clone());
                self.message(nested, &simple, &msg_path, schema, depth)?;
                format!(".{msg_path}")
            }
            SchemaType::Array | SchemaType::Map => {
                return Err(err(format!(
                    "field {field_name:?}: a nested {} has no protobuf form",
                    schema.ty.json_name()
                )))
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// .proto -> Connect (+ decoding plan)
// ---------------------------------------------------------------------------------------------

/// How to read one message, and the Connect struct it reads as.
#[derive(Debug)]
pub(crate) struct MessagePlan {
    pub(crate) schema: SchemaRef,
    /// In the order of the struct's fields.
    pub(crate) fields: Vec<FieldPlan>,
    /// (field number, index into `fields`), sorted by number.
    numbers: Vec<(u32, usize)>,
}

impl MessagePlan {
    pub(crate) fn index_of(&self, number: u32) -> Option<usize> {
        self.numbers
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|i| self.numbers[i].1)
    }
}

#[derive(Debug)]
pub(crate) struct FieldPlan {
    pub(crate) kind: ReadKind,
    pub(crate) repeated: bool,
    /// The value of the field when the message does not have it.
    pub(crate) absent: Value,
}

#[derive(Debug)]
pub(crate) enum ReadKind {
    /// `int32` (read into INT8/INT16/INT32).
    Int(SchemaType),
    SInt32,
    SFixed32,
    /// `int64`, `uint64`.
    Long,
    UInt32,
    SInt64,
    Fixed32,
    /// `fixed64`, `sfixed64`.
    Fixed64,
    Float,
    Double,
    Bool,
    String,
    Bytes,
    Enum(Vec<(i32, String)>),
    Message(Arc<MessagePlan>),
    /// A map field: the plan of its entry message (key, value).
    Map(Arc<MessagePlan>),
    /// `confluent.type.Decimal` with the schema's scale.
    Decimal(i32),
    Date,
    Time,
    Timestamp,
}

impl ReadKind {
    /// The wire type of a single value.
    pub(crate) fn wire(&self) -> u8 {
        match self {
            ReadKind::Int(_)
            | ReadKind::SInt32
            | ReadKind::Long
            | ReadKind::UInt32
            | ReadKind::SInt64
            | ReadKind::Bool
            | ReadKind::Enum(_) => 0,
            ReadKind::Fixed64 | ReadKind::Double => 1,
            ReadKind::SFixed32 | ReadKind::Fixed32 | ReadKind::Float => 5,
            _ => 2,
        }
    }

    /// Scalars a repeated field may pack.
    pub(crate) fn packable(&self) -> bool {
        self.wire() != 2
    }
}

/// Options of the Protobuf -> Connect mapping.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOptions {
    /// `enhanced.protobuf.schema.support`: struct names are full names (with the package).
    pub full_names: bool,
}

/// The decoding plan of `message`.
pub(crate) fn plan(
    message: &MessageDescriptor,
    opts: ReadOptions,
) -> Result<Arc<MessagePlan>, ConvertError> {
    Planner {
        opts,
        building: Vec::new(),
        done: HashMap::new(),
    }
    .message(message, true)
}

struct Planner {
    opts: ReadOptions,
    building: Vec<String>,
    done: HashMap<String, Arc<MessagePlan>>,
}

impl Planner {
    fn message(
        &mut self,
        message: &MessageDescriptor,
        root: bool,
    ) -> Result<Arc<MessagePlan>, ConvertError> {
        let full = message.full_name().to_string();
        if let Some(p) = self.done.get(&full) {
            return Ok(p.clone());
        }
        if self.building.contains(&full) {
            return Err(err(format!(
                "the protobuf message {full} is recursive; Connect schemas cannot be"
            )));
        }
        if let Some(o) = message.oneofs().find(|o| !o.is_synthetic()) {
            return Err(err(format!(
                "the protobuf message {full} has a oneof ({}); oneofs (Confluent's io.confluent.connect.protobuf.Union structs) are not supported yet",
                o.name()
            )));
        }
        self.building.push(full.clone());
        // Declaration order, as Confluent's (prost-reflect iterates by number).
        let declared: Vec<FieldDescriptor> = message
            .descriptor_proto()
            .field
            .iter()
            .filter_map(|f| message.get_field_by_name(f.name()))
            .collect();
        let mut fields = Vec::new();
        let mut plans = Vec::new();
        for f in &declared {
            let (schema, plan) = self.field(f)?;
            fields.push(Field {
                name: f.name().to_string(),
                schema: schema.into_ref(),
            });
            plans.push(plan);
        }
        self.building.pop();
        let mut numbers: Vec<(u32, usize)> = declared
            .iter()
            .enumerate()
            .map(|(i, f)| (f.number(), i))
            .collect();
        numbers.sort_unstable();
        let mut schema = Schema::structure(fields);
        schema.name = Some(if self.opts.full_names {
            full.clone()
        } else {
            message.name().to_string()
        });
        // Fields of a message are optional; the record's root struct is not.
        schema.optional = !root;
        let plan = Arc::new(MessagePlan {
            schema: schema.into_ref(),
            fields: plans,
            numbers,
        });
        self.done.insert(full, plan.clone());
        Ok(plan)
    }

    fn field(&mut self, f: &FieldDescriptor) -> Result<(Schema, FieldPlan), ConvertError> {
        let params = proto_file::field_params(f);
        let param = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        // `map<K, V>`, or a repeated `<Field>Entry` message with `key` = 1 and `value` = 2
        // (how Confluent writes maps), is a MAP.
        let entry_message = match f.kind() {
            Kind::Message(m) if f.is_list() || f.is_map() => {
                let names: Vec<(String, u32)> = m
                    .fields()
                    .map(|x| (x.name().to_string(), x.number()))
                    .collect();
                let is_entry = f.is_map()
                    || (m.name().ends_with("Entry")
                        && names == [("key".to_string(), 1), ("value".to_string(), 2)]);
                is_entry.then_some(m)
            }
            _ => None,
        };
        if let Some(entry) = entry_message {
            let entry_plan = self.message(&entry, false)?;
            let k = entry_plan.schema.fields[0].schema.clone();
            let v = entry_plan.schema.fields[1].schema.clone();
            let schema = Schema::map(k, v)
                .optional()
                .with_parameter(TAG, f.number().to_string());
            return Ok((
                schema,
                FieldPlan {
                    kind: ReadKind::Map(entry_plan),
                    repeated: true,
                    absent: Value::Map(Vec::new()),
                },
            ));
        }
        let (mut schema, kind, zero) = match f.kind() {
            Kind::Int32 => {
                let ty = match param("connect.type") {
                    Some("int8") => SchemaType::Int8,
                    Some("int16") => SchemaType::Int16,
                    _ => SchemaType::Int32,
                };
                let zero = match ty {
                    SchemaType::Int8 => Value::Int8(0),
                    SchemaType::Int16 => Value::Int16(0),
                    _ => Value::Int32(0),
                };
                (Schema::new(ty), ReadKind::Int(ty), zero)
            }
            Kind::Sint32 => (
                Schema::new(SchemaType::Int32),
                ReadKind::SInt32,
                Value::Int32(0),
            ),
            Kind::Sfixed32 => (
                Schema::new(SchemaType::Int32),
                ReadKind::SFixed32,
                Value::Int32(0),
            ),
            Kind::Int64 | Kind::Uint64 => (
                Schema::new(SchemaType::Int64),
                ReadKind::Long,
                Value::Int64(0),
            ),
            Kind::Uint32 => (
                Schema::new(SchemaType::Int64),
                ReadKind::UInt32,
                Value::Int64(0),
            ),
            Kind::Sint64 => (
                Schema::new(SchemaType::Int64),
                ReadKind::SInt64,
                Value::Int64(0),
            ),
            Kind::Fixed32 => (
                Schema::new(SchemaType::Int64),
                ReadKind::Fixed32,
                Value::Int64(0),
            ),
            Kind::Fixed64 | Kind::Sfixed64 => (
                Schema::new(SchemaType::Int64),
                ReadKind::Fixed64,
                Value::Int64(0),
            ),
            Kind::Float => (
                Schema::new(SchemaType::Float32),
                ReadKind::Float,
                Value::Float32(0.0),
            ),
            Kind::Double => (
                Schema::new(SchemaType::Float64),
                ReadKind::Double,
                Value::Float64(0.0),
            ),
            Kind::Bool => (
                Schema::new(SchemaType::Boolean),
                ReadKind::Bool,
                Value::Boolean(false),
            ),
            Kind::String => (
                Schema::new(SchemaType::String),
                ReadKind::String,
                Value::from(""),
            ),
            Kind::Bytes => (
                Schema::new(SchemaType::Bytes),
                ReadKind::Bytes,
                Value::Bytes(Vec::new()),
            ),
            Kind::Enum(e) => {
                let mut s = Schema::new(SchemaType::String)
                    .with_name(e.name())
                    .with_parameter(ENUM, e.name());
                let mut symbols = Vec::new();
                for v in e.values() {
                    s = s.with_parameter(format!("{ENUM}.{}", v.name()), v.number().to_string());
                    symbols.push((v.number(), v.name().to_string()));
                }
                let zero = symbols
                    .iter()
                    .find(|(n, _)| *n == 0)
                    .or(symbols.first())
                    .map(|(_, s)| Value::String(s.clone()))
                    .unwrap_or(Value::Null);
                (s, ReadKind::Enum(symbols), zero)
            }
            Kind::Message(m) => match m.full_name() {
                "confluent.type.Decimal" => {
                    let scale: i32 = param("scale").and_then(|s| s.parse().ok()).unwrap_or(0);
                    let mut s = Schema::decimal(scale);
                    if let Some(p) = param("precision") {
                        s = s.with_parameter(DECIMAL_PRECISION, p);
                    }
                    (s, ReadKind::Decimal(scale), Value::Null)
                }
                "google.type.Date" => (Schema::date(), ReadKind::Date, Value::Null),
                "google.type.TimeOfDay" => (Schema::time(), ReadKind::Time, Value::Null),
                "google.protobuf.Timestamp" => {
                    (Schema::timestamp(), ReadKind::Timestamp, Value::Null)
                }
                _ => {
                    let p = self.message(&m, false)?;
                    ((*p.schema).clone(), ReadKind::Message(p), Value::Null)
                }
            },
        };
        schema.optional = true;
        let presence = f.supports_presence();
        let absent = if presence { Value::Null } else { zero };
        if f.is_list() {
            let schema = Schema::array(schema.into_ref())
                .optional()
                .with_parameter(TAG, f.number().to_string());
            return Ok((
                schema,
                FieldPlan {
                    kind,
                    repeated: true,
                    absent: Value::Array(Vec::new()),
                },
            ));
        }
        schema = schema.with_parameter(TAG, f.number().to_string());
        Ok((
            schema,
            FieldPlan {
                kind,
                repeated: false,
                absent,
            },
        ))
    }
}

//! Connect schemas <-> Avro schemas, as Confluent's `AvroData` maps them: with
//! `connect.meta.data=true` (its default) `connect.name`/`connect.version`/`connect.doc`/
//! `connect.parameters`/`connect.default` properties and `connect.type` for int8/int16, none
//! of them with `connect.meta.data=false`; always Decimal as `bytes` + `decimal` logical type,
//! Date/Time/Timestamp as `date`/`time-millis`/`timestamp-millis`, optional schemas as a union
//! with `null`, maps with non-string keys as arrays of `io.confluent.connect.avro.MapEntry`
//! records; with `enhanced.avro.schema.support=true`, strings carrying Avro enum parameters as
//! Avro enums again.
//!
//! Design decision: an Avro schema read from the registry is compiled once into a [`Reader`]
//! — the decoding plan, each node carrying the Connect schema it produces — so decoding a record
//! walks the bytes and the plan only. The Avro JSON is parsed here (not with the `apache-avro`
//! crate) because that crate drops properties on primitive types (`connect.type`,
//! `connect.name`), which the mapping needs.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use crate::convert::ConvertError;
use crate::data::{logical, Field, Schema, SchemaRef, SchemaType, Value};

pub(crate) const NAMESPACE: &str = "io.confluent.connect.avro";
const DEFAULT_RECORD: &str = "ConnectDefault";
const MAP_ENTRY: &str = "MapEntry";
pub(crate) const ENUM_PARAM: &str = "io.confluent.connect.avro.Enum";
const ENUM_DOC_PARAM: &str = "io.confluent.connect.avro.enum.doc.";
const ENUM_DEFAULT_PARAM: &str = "io.confluent.connect.avro.enum.default.";
const FIXED_SIZE_PARAM: &str = "connect.fixed.size";
/// Decimal's precision parameter (Confluent's `connect.decimal.precision`).
pub(crate) const DECIMAL_PRECISION: &str = "connect.decimal.precision";
/// Confluent's precision for a Decimal without the precision parameter.
const DEFAULT_DECIMAL_PRECISION: u64 = 64;

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

/// The `AvroData` settings that change the mapping (Confluent's `AvroDataConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvroOptions {
    /// `connect.meta.data` (default `true`): write the `connect.*` properties, and read
    /// `connect.doc`/`connect.parameters` and record docs back.
    pub meta: bool,
    /// `enhanced.avro.schema.support` (default `false`): a STRING schema with the
    /// `io.confluent.connect.avro.Enum` parameters is written as the Avro enum it was read from.
    pub enhanced: bool,
}

impl Default for AvroOptions {
    fn default() -> Self {
        AvroOptions {
            meta: true,
            enhanced: false,
        }
    }
}

/// The symbols of a STRING schema read from an Avro enum (its `io.confluent.connect.avro.Enum.*`
/// parameters, in order), if it has them.
pub(crate) fn enum_symbols(schema: &Schema) -> Option<impl Iterator<Item = &str>> {
    schema.parameter(ENUM_PARAM)?;
    Some(
        schema
            .parameters
            .iter()
            .filter_map(|(k, _)| k.strip_prefix(ENUM_PARAM)?.strip_prefix('.')),
    )
}

// ---------------------------------------------------------------------------------------------
// Connect -> Avro
// ---------------------------------------------------------------------------------------------

/// The Avro schema (JSON) of a Connect schema, as `AvroData.fromConnectSchema` with its
/// default settings.
pub fn to_avro(schema: &Schema) -> Result<Json, ConvertError> {
    to_avro_with(schema, AvroOptions::default())
}

/// The Avro schema (JSON) of a Connect schema, as `AvroData.fromConnectSchema` with `options`.
pub fn to_avro_with(schema: &Schema, options: AvroOptions) -> Result<Json, ConvertError> {
    let mut names = Names {
        options,
        ..Names::default()
    };
    names.avro_of(schema)
}

/// Named types already written (Avro forbids defining a name twice) and the counters of
/// generated names.
#[derive(Default)]
struct Names {
    options: AvroOptions,
    defined: HashMap<String, ()>,
    records: u32,
    entries: u32,
}

impl Names {
    /// A generated name: `io.confluent.connect.avro.<base>`, then `<base>2`, `<base>3`, ….
    fn generated(base: &str, n: u32) -> String {
        if n == 1 {
            format!("{NAMESPACE}.{base}")
        } else {
            format!("{NAMESPACE}.{base}{n}")
        }
    }

    fn avro_of(&mut self, schema: &Schema) -> Result<Json, ConvertError> {
        let base = self.base_type(schema)?;
        if !schema.optional {
            return Ok(base);
        }
        // A non-null default must be the union's first branch (Avro defaults match the first).
        Ok(match &schema.default {
            Some(d) if !d.is_null() => json!([base, "null"]),
            _ => json!(["null", base]),
        })
    }

    fn base_type(&mut self, schema: &Schema) -> Result<Json, ConvertError> {
        let mut node = Map::new();
        match schema.ty {
            SchemaType::Int8 | SchemaType::Int16 => {
                node.insert("type".into(), json!("int"));
                if self.options.meta {
                    let t = if schema.ty == SchemaType::Int8 {
                        "int8"
                    } else {
                        "int16"
                    };
                    node.insert("connect.type".into(), json!(t));
                }
            }
            SchemaType::Int32 => {
                node.insert("type".into(), json!("int"));
            }
            SchemaType::Int64 => {
                node.insert("type".into(), json!("long"));
            }
            SchemaType::Float32 => {
                node.insert("type".into(), json!("float"));
            }
            SchemaType::Float64 => {
                node.insert("type".into(), json!("double"));
            }
            SchemaType::Boolean => {
                node.insert("type".into(), json!("boolean"));
            }
            SchemaType::String => match enum_symbols(schema).filter(|_| self.options.enhanced) {
                // AvroData (enhanced support): the enum's full name from the parameter, its
                // doc and default symbol from the parameters named after the schema's simple
                // name.
                Some(symbols) => {
                    let full = schema.parameter(ENUM_PARAM).unwrap_or_default().to_string();
                    if self.defined.contains_key(&full) {
                        return Ok(json!(full));
                    }
                    self.defined.insert(full.clone(), ());
                    let (ns, simple) = split_name(&full);
                    node.insert("type".into(), json!("enum"));
                    node.insert("name".into(), json!(simple));
                    if !ns.is_empty() {
                        node.insert("namespace".into(), json!(ns));
                    }
                    let own = schema.name.as_deref().map(|n| split_name(n).1);
                    let own = own.unwrap_or(DEFAULT_RECORD);
                    if let Some(doc) = schema.parameter(&format!("{ENUM_DOC_PARAM}{own}")) {
                        node.insert("doc".into(), json!(doc));
                    }
                    node.insert("symbols".into(), json!(symbols.collect::<Vec<_>>()));
                    if let Some(d) = schema.parameter(&format!("{ENUM_DEFAULT_PARAM}{own}")) {
                        node.insert("default".into(), json!(d));
                    }
                }
                None => {
                    node.insert("type".into(), json!("string"));
                }
            },
            SchemaType::Bytes => {
                node.insert("type".into(), json!("bytes"));
                if schema.is_logical(logical::DECIMAL) {
                    let scale = decimal_scale(schema)?;
                    let precision = match schema.parameter(DECIMAL_PRECISION) {
                        None => DEFAULT_DECIMAL_PRECISION,
                        Some(p) => p.trim().parse().map_err(|_| {
                            err(format!(
                                "Decimal parameter {DECIMAL_PRECISION}={p:?} is not a number"
                            ))
                        })?,
                    };
                    node.insert("scale".into(), json!(scale));
                    node.insert("precision".into(), json!(precision));
                }
            }
            SchemaType::Array => {
                let items = schema
                    .items
                    .as_deref()
                    .ok_or_else(|| err("an ARRAY schema has no element schema"))?;
                node.insert("type".into(), json!("array"));
                node.insert("items".into(), self.avro_of(items)?);
            }
            SchemaType::Map => {
                let (keys, values) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                    (Some(k), Some(v)) => (k, v),
                    _ => return Err(err("a MAP schema has no key or value schema")),
                };
                if keys.ty == SchemaType::String && !keys.optional {
                    node.insert("type".into(), json!("map"));
                    node.insert("values".into(), self.avro_of(values)?);
                } else {
                    self.entries += 1;
                    let name = Self::generated(MAP_ENTRY, self.entries);
                    let (ns, simple) = split_name(&name);
                    let entry = json!({
                        "type": "record",
                        "name": simple,
                        "namespace": ns,
                        "fields": [
                            {"name": "key", "type": self.avro_of(keys)?, "default": field_default(keys)?},
                            {"name": "value", "type": self.avro_of(values)?, "default": field_default(values)?},
                        ],
                    });
                    let entry = drop_null_defaults(entry, &[keys, values]);
                    node.insert("type".into(), json!("array"));
                    node.insert("items".into(), entry);
                }
            }
            SchemaType::Struct => {
                let full = match &schema.name {
                    Some(n) => n.clone(),
                    None => {
                        self.records += 1;
                        Self::generated(DEFAULT_RECORD, self.records)
                    }
                };
                if self.defined.contains_key(&full) {
                    // Avro refers to a named type defined earlier by its name.
                    return Ok(json!(full));
                }
                self.defined.insert(full.clone(), ());
                let (ns, simple) = split_name(&full);
                node.insert("type".into(), json!("record"));
                node.insert("name".into(), json!(simple));
                if !ns.is_empty() {
                    node.insert("namespace".into(), json!(ns));
                }
                if let Some(doc) = schema.doc.as_ref().filter(|_| self.options.meta) {
                    node.insert("doc".into(), json!(doc));
                }
                let mut fields = Vec::with_capacity(schema.fields.len());
                for f in &schema.fields {
                    let mut field = Map::new();
                    field.insert("name".into(), json!(f.name));
                    field.insert("type".into(), self.avro_of(&f.schema)?);
                    let has_default = f.schema.default.is_some() || f.schema.optional;
                    if has_default {
                        field.insert("default".into(), field_default(&f.schema)?);
                    }
                    fields.push(Json::Object(field));
                }
                node.insert("fields".into(), Json::Array(fields));
            }
        }
        // Connect's metadata, as AvroData adds it with connect.meta.data=true (and not at all
        // with false: the record names, logical types and Decimal's scale/precision stay).
        if self.options.meta {
            self.meta(schema, &mut node)?;
        }
        let logical_type = match schema.name.as_deref() {
            Some(logical::DECIMAL) if schema.ty == SchemaType::Bytes => Some("decimal"),
            Some(logical::DATE) if schema.ty == SchemaType::Int32 => Some("date"),
            Some(logical::TIME) if schema.ty == SchemaType::Int32 => Some("time-millis"),
            Some(logical::TIMESTAMP) if schema.ty == SchemaType::Int64 => Some("timestamp-millis"),
            _ => None,
        };
        if let Some(l) = logical_type {
            node.insert("logicalType".into(), json!(l));
        }
        Ok(Json::Object(node))
    }

    /// The `connect.*` properties of `schema` (`connect.meta.data=true`).
    fn meta(&self, schema: &Schema, node: &mut Map<String, Json>) -> Result<(), ConvertError> {
        if let Some(doc) = &schema.doc {
            node.insert("connect.doc".into(), json!(doc));
        }
        if let Some(v) = schema.version {
            node.insert("connect.version".into(), json!(v));
        }
        if !schema.parameters.is_empty() {
            let params: Map<String, Json> = schema
                .parameters
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            node.insert("connect.parameters".into(), Json::Object(params));
        }
        if let Some(d) = &schema.default {
            if !d.is_null() {
                node.insert("connect.default".into(), default_to_json(schema, d)?);
            }
        }
        if let Some(name) = &schema.name {
            node.insert("connect.name".into(), json!(name));
        }
        Ok(())
    }
}

/// MapEntry fields get a default only when their schema has one (or is optional); the
/// builder above writes one always, this removes the ones that are not.
fn drop_null_defaults(mut entry: Json, schemas: &[&Schema]) -> Json {
    if let Some(fields) = entry.get_mut("fields").and_then(Json::as_array_mut) {
        for (f, s) in fields.iter_mut().zip(schemas) {
            if s.default.is_none() && !s.optional {
                if let Some(o) = f.as_object_mut() {
                    o.remove("default");
                }
            }
        }
    }
    entry
}

/// The Avro field default of a Connect field schema: its default, or null when optional.
fn field_default(schema: &Schema) -> Result<Json, ConvertError> {
    match &schema.default {
        Some(d) => default_to_json(schema, d),
        None => Ok(Json::Null),
    }
}

fn decimal_scale(schema: &Schema) -> Result<i32, ConvertError> {
    let raw = schema
        .parameter(logical::DECIMAL_SCALE)
        .ok_or_else(|| err("Decimal schema has no scale parameter"))?;
    raw.trim()
        .parse()
        .map_err(|_| err(format!("Decimal scale parameter {raw:?} is not an integer")))
}

/// `a.b.C` -> (`a.b`, `C`).
fn split_name(full: &str) -> (&str, &str) {
    match full.rsplit_once('.') {
        Some((ns, simple)) => (ns, simple),
        None => ("", full),
    }
}

/// A Connect value as an Avro JSON default (bytes as ISO-8859-1 code points, as Avro's
/// JSON encoding of defaults requires).
fn default_to_json(schema: &Schema, v: &Value) -> Result<Json, ConvertError> {
    Ok(match v {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b),
        Value::Int8(i) => json!(i),
        Value::Int16(i) => json!(i),
        Value::Int32(i) => json!(i),
        Value::Int64(i) => json!(i),
        Value::Float32(f) => json!(f),
        Value::Float64(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Bytes(b) => json!(b.iter().map(|&c| char::from(c)).collect::<String>()),
        Value::Array(items) => {
            let item_schema = schema.items.as_deref();
            Json::Array(
                items
                    .iter()
                    .map(|i| match item_schema {
                        Some(s) => default_to_json(s, i),
                        None => Err(err("array default without an element schema")),
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Map(entries) => {
            let (keys, values) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(err("map default without key/value schemas")),
            };
            if keys.ty == SchemaType::String && !keys.optional {
                let mut m = Map::new();
                for (k, v) in entries {
                    let k = k
                        .as_str()
                        .ok_or_else(|| err("map default key not a string"))?;
                    m.insert(k.to_string(), default_to_json(values, v)?);
                }
                Json::Object(m)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(json!({"key": default_to_json(keys, k)?, "value": default_to_json(values, v)?}))
                        })
                        .collect::<Result<_, ConvertError>>()?,
                )
            }
        }
        Value::Struct(values) => {
            let mut m = Map::new();
            for (f, v) in schema.fields.iter().zip(values) {
                m.insert(f.name.clone(), default_to_json(&f.schema, v)?);
            }
            Json::Object(m)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Avro -> Connect (+ decoding plan)
// ---------------------------------------------------------------------------------------------

/// How to decode one Avro node, and the Connect schema the decoded value has.
#[derive(Debug)]
pub(crate) struct Reader {
    pub(crate) schema: SchemaRef,
    pub(crate) kind: ReadKind,
}

#[derive(Debug)]
pub(crate) enum ReadKind {
    Null,
    Boolean,
    /// `int`, read into the Connect type (INT8/INT16/INT32).
    Int(SchemaType),
    Long,
    Float,
    Double,
    Bytes,
    String,
    Enum(Vec<String>),
    Fixed(usize),
    Array(Arc<Reader>),
    /// An Avro `map` (string keys).
    Map(Arc<Reader>),
    /// An array of MapEntry records: a Connect map with any key type.
    Entries(Arc<Reader>, Arc<Reader>),
    Record(Vec<Arc<Reader>>),
    /// A union of `null` and one other type: index of the null branch, and the other branch.
    Optional {
        null_index: u64,
        inner: Arc<Reader>,
    },
}

/// Compiles an Avro schema (JSON text, as the registry returns it) into a decoding plan, with
/// `connect.meta.data=true` (the converters call [`reader_with`]; the tests use this).
#[cfg(test)]
pub(crate) fn reader(avro: &str) -> Result<Arc<Reader>, ConvertError> {
    reader_with(avro, true)
}

/// [`reader`] with `connect.meta.data` = `meta`: when false, as `AvroData.toConnectSchema`,
/// `connect.doc`, `connect.parameters` and record docs are not read back (`connect.name`,
/// `connect.version`, `connect.default` and `connect.type` are, as AvroData does).
pub(crate) fn reader_with(avro: &str, meta: bool) -> Result<Arc<Reader>, ConvertError> {
    let json: Json = serde_json::from_str(avro)
        .map_err(|e| err(format!("the registry's Avro schema is not JSON: {e}")))?;
    Parser {
        meta,
        named: HashMap::new(),
    }
    .node(&json, "")
}

struct Parser {
    /// `connect.meta.data`.
    meta: bool,
    /// Named types by full name; `None` while the type is being defined (recursion).
    named: HashMap<String, Option<Arc<Reader>>>,
}

fn full_name(name: &str, namespace: &str) -> String {
    if name.contains('.') || namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}.{name}")
    }
}

impl Parser {
    fn node(&mut self, json: &Json, ns: &str) -> Result<Arc<Reader>, ConvertError> {
        match json {
            Json::String(t) => self.named_or_primitive(t, &Map::new(), ns),
            Json::Array(branches) => self.union(branches, ns),
            Json::Object(o) => match o.get("type") {
                Some(Json::String(t)) => match t.as_str() {
                    "record" | "error" => self.record(o, ns),
                    "enum" => self.enumeration(o, ns),
                    "fixed" => self.fixed(o, ns),
                    "array" => {
                        let items = o
                            .get("items")
                            .ok_or_else(|| err("an Avro array has no \"items\""))?;
                        let items = self.node(items, ns)?;
                        self.array(items, o)
                    }
                    "map" => {
                        let values = o
                            .get("values")
                            .ok_or_else(|| err("an Avro map has no \"values\""))?;
                        let values = self.node(values, ns)?;
                        let keys = Schema::new(SchemaType::String).into_ref();
                        let schema = Schema::map(keys, values.schema.clone());
                        Ok(Arc::new(Reader {
                            schema: self.with_meta(schema, o)?.into_ref(),
                            kind: ReadKind::Map(values),
                        }))
                    }
                    other => self.named_or_primitive(other, o, ns),
                },
                // {"type": {...}} or {"type": [...]}: the inner type, these props ignored.
                Some(inner) => self.node(inner, ns),
                None => Err(err(format!(
                    "an Avro schema object has no \"type\": {json}"
                ))),
            },
            other => Err(err(format!("not an Avro schema: {other}"))),
        }
    }

    fn named_or_primitive(
        &mut self,
        t: &str,
        props: &Map<String, Json>,
        ns: &str,
    ) -> Result<Arc<Reader>, ConvertError> {
        let logical_type = props.get("logicalType").and_then(Json::as_str);
        let connect_name = props.get("connect.name").and_then(Json::as_str);
        let (ty, kind) = match t {
            "null" => {
                return Ok(Arc::new(Reader {
                    schema: Schema::new(SchemaType::Bytes).optional().into_ref(),
                    kind: ReadKind::Null,
                }))
            }
            "boolean" => (SchemaType::Boolean, ReadKind::Boolean),
            "int" => {
                let ty = match props.get("connect.type").and_then(Json::as_str) {
                    Some("int8") => SchemaType::Int8,
                    Some("int16") => SchemaType::Int16,
                    _ => SchemaType::Int32,
                };
                (ty, ReadKind::Int(ty))
            }
            "long" => (SchemaType::Int64, ReadKind::Long),
            "float" => (SchemaType::Float32, ReadKind::Float),
            "double" => (SchemaType::Float64, ReadKind::Double),
            "bytes" => (SchemaType::Bytes, ReadKind::Bytes),
            "string" => (SchemaType::String, ReadKind::String),
            name => {
                let full = full_name(name, ns);
                return match self.named.get(&full).or_else(|| self.named.get(name)) {
                    Some(Some(r)) => Ok(r.clone()),
                    Some(None) => Err(err(format!(
                        "the Avro schema is recursive through {full}; Connect schemas cannot be"
                    ))),
                    None => Err(err(format!("unknown Avro type {name:?}"))),
                };
            }
        };
        let mut schema = self.with_meta(Schema::new(ty), props)?;
        match (t, logical_type) {
            ("bytes", Some("decimal")) => {
                let scale = props.get("scale").and_then(Json::as_i64).unwrap_or(0);
                schema.name = Some(logical::DECIMAL.into());
                schema.version.get_or_insert(1);
                if schema.parameter(logical::DECIMAL_SCALE).is_none() {
                    schema
                        .parameters
                        .push((logical::DECIMAL_SCALE.into(), scale.to_string()));
                }
                let precision = props.get("precision").and_then(Json::as_u64);
                if let Some(p) = precision.filter(|p| *p != DEFAULT_DECIMAL_PRECISION) {
                    if schema.parameter(DECIMAL_PRECISION).is_none() {
                        schema
                            .parameters
                            .push((DECIMAL_PRECISION.into(), p.to_string()));
                    }
                }
            }
            ("int", Some("date")) => logical_name(&mut schema, logical::DATE),
            ("int", Some("time-millis")) => logical_name(&mut schema, logical::TIME),
            ("long", Some("timestamp-millis")) => logical_name(&mut schema, logical::TIMESTAMP),
            _ => {
                if let Some(n) = connect_name {
                    schema.name = Some(n.into());
                }
            }
        }
        Ok(Arc::new(Reader {
            schema: schema.into_ref(),
            kind,
        }))
    }

    fn union(&mut self, branches: &[Json], ns: &str) -> Result<Arc<Reader>, ConvertError> {
        let readers = branches
            .iter()
            .map(|b| self.node(b, ns))
            .collect::<Result<Vec<_>, _>>()?;
        let nulls: Vec<usize> = readers
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.kind, ReadKind::Null))
            .map(|(i, _)| i)
            .collect();
        match (readers.len(), nulls.as_slice()) {
            (2, [null_index]) => {
                let inner = readers[1 - null_index].clone();
                let mut schema = (*inner.schema).clone();
                schema.optional = true;
                Ok(Arc::new(Reader {
                    schema: schema.into_ref(),
                    kind: ReadKind::Optional {
                        null_index: *null_index as u64,
                        inner,
                    },
                }))
            }
            (1, _) => Ok(readers[0].clone()),
            _ => Err(err(format!(
                "Avro unions other than [\"null\", <type>] are not supported yet (Confluent maps \
                 them to io.confluent.connect.avro.Union structs): {}",
                Json::Array(branches.to_vec())
            ))),
        }
    }

    fn array(
        &mut self,
        items: Arc<Reader>,
        props: &Map<String, Json>,
    ) -> Result<Arc<Reader>, ConvertError> {
        // An array of MapEntry records (key, value) is a Connect map with non-string keys.
        if let (ReadKind::Record(fields), Some(name)) = (&items.kind, items.schema.name.as_deref())
        {
            let is_entry = name.starts_with(&format!("{NAMESPACE}.{MAP_ENTRY}"))
                && items.schema.fields.len() == 2
                && items.schema.fields[0].name == "key"
                && items.schema.fields[1].name == "value";
            if is_entry {
                let schema = Schema::map(
                    items.schema.fields[0].schema.clone(),
                    items.schema.fields[1].schema.clone(),
                );
                return Ok(Arc::new(Reader {
                    schema: self.with_meta(schema, props)?.into_ref(),
                    kind: ReadKind::Entries(fields[0].clone(), fields[1].clone()),
                }));
            }
        }
        let schema = Schema::array(items.schema.clone());
        Ok(Arc::new(Reader {
            schema: self.with_meta(schema, props)?.into_ref(),
            kind: ReadKind::Array(items),
        }))
    }

    fn define(
        &mut self,
        o: &Map<String, Json>,
        ns: &str,
    ) -> Result<(String, String), ConvertError> {
        let name = o
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| err("an Avro named type has no \"name\""))?;
        let own_ns = o.get("namespace").and_then(Json::as_str).unwrap_or(ns);
        let full = full_name(name, own_ns);
        let inner_ns = split_name(&full).0.to_string();
        if self.named.contains_key(&full) {
            return Err(err(format!("the Avro type {full} is defined twice")));
        }
        self.named.insert(full.clone(), None);
        Ok((full, inner_ns))
    }

    fn record(&mut self, o: &Map<String, Json>, ns: &str) -> Result<Arc<Reader>, ConvertError> {
        let (full, inner_ns) = self.define(o, ns)?;
        let fields_json = o
            .get("fields")
            .and_then(Json::as_array)
            .ok_or_else(|| err(format!("the Avro record {full} has no \"fields\" array")))?;
        let mut fields = Vec::with_capacity(fields_json.len());
        let mut readers = Vec::with_capacity(fields_json.len());
        for f in fields_json {
            let name = f
                .get("name")
                .and_then(Json::as_str)
                .ok_or_else(|| err(format!("a field of the Avro record {full} has no name")))?;
            let ty = f
                .get("type")
                .ok_or_else(|| err(format!("the field {full}.{name} has no type")))?;
            let r = self.node(ty, &inner_ns)?;
            let mut schema = (*r.schema).clone();
            if schema.default.is_none() {
                if let Some(d) = f.get("default") {
                    // A union's default belongs to its first branch; null for optional.
                    if !d.is_null() {
                        schema.default = Some(default_from_json(&schema, d).map_err(|e| {
                            err(format!("the default of field {full}.{name}: {}", e.0))
                        })?);
                    }
                }
            }
            fields.push(Field {
                name: name.to_string(),
                schema: schema.into_ref(),
            });
            readers.push(r);
        }
        let mut schema = self.with_meta(Schema::structure(fields), o)?;
        let generated = full.starts_with(&format!("{NAMESPACE}.{DEFAULT_RECORD}"));
        if schema.name.is_none() && !generated {
            schema.name = Some(full.clone());
        }
        if let Some(doc) = o.get("doc").and_then(Json::as_str).filter(|_| self.meta) {
            schema.doc.get_or_insert_with(|| doc.to_string());
        }
        let reader = Arc::new(Reader {
            schema: schema.into_ref(),
            kind: ReadKind::Record(readers),
        });
        self.named.insert(full, Some(reader.clone()));
        Ok(reader)
    }

    fn enumeration(
        &mut self,
        o: &Map<String, Json>,
        ns: &str,
    ) -> Result<Arc<Reader>, ConvertError> {
        let (full, _) = self.define(o, ns)?;
        let symbols: Vec<String> = o
            .get("symbols")
            .and_then(Json::as_array)
            .ok_or_else(|| err(format!("the Avro enum {full} has no \"symbols\"")))?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| err(format!("a symbol of the Avro enum {full} is not a string")))?;
        let mut schema = self.with_meta(Schema::new(SchemaType::String), o)?;
        if schema.parameters.is_empty() {
            schema.parameters.push((ENUM_PARAM.into(), full.clone()));
            for s in &symbols {
                schema
                    .parameters
                    .push((format!("{ENUM_PARAM}.{s}"), s.clone()));
            }
        }
        schema.name.get_or_insert_with(|| full.clone());
        let reader = Arc::new(Reader {
            schema: schema.into_ref(),
            kind: ReadKind::Enum(symbols),
        });
        self.named.insert(full, Some(reader.clone()));
        Ok(reader)
    }

    fn fixed(&mut self, o: &Map<String, Json>, ns: &str) -> Result<Arc<Reader>, ConvertError> {
        let (full, _) = self.define(o, ns)?;
        let size = o
            .get("size")
            .and_then(Json::as_u64)
            .ok_or_else(|| err(format!("the Avro fixed {full} has no \"size\"")))?;
        let mut schema = self.with_meta(Schema::new(SchemaType::Bytes), o)?;
        if schema.parameter(FIXED_SIZE_PARAM).is_none() {
            schema
                .parameters
                .push((FIXED_SIZE_PARAM.into(), size.to_string()));
        }
        schema.name.get_or_insert_with(|| full.clone());
        let reader = Arc::new(Reader {
            schema: schema.into_ref(),
            kind: ReadKind::Fixed(size as usize),
        });
        self.named.insert(full, Some(reader.clone()));
        Ok(reader)
    }
}

impl Parser {
    fn with_meta(&self, schema: Schema, props: &Map<String, Json>) -> Result<Schema, ConvertError> {
        with_meta(self.meta, schema, props)
    }
}

fn logical_name(schema: &mut Schema, name: &str) {
    schema.name = Some(name.into());
    schema.version.get_or_insert(1);
}

/// Applies `connect.version`, `connect.doc`, `connect.parameters`, `connect.name` and
/// `connect.default` from an Avro node's properties.
fn with_meta(
    meta: bool,
    mut schema: Schema,
    props: &Map<String, Json>,
) -> Result<Schema, ConvertError> {
    if let Some(v) = props.get("connect.version").and_then(Json::as_i64) {
        schema.version = i32::try_from(v).ok();
    }
    if let Some(d) = props
        .get("connect.doc")
        .and_then(Json::as_str)
        .filter(|_| meta)
    {
        schema.doc = Some(d.to_string());
    }
    if let Some(Json::Object(params)) = props.get("connect.parameters").filter(|_| meta) {
        schema.parameters = params
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect();
    }
    if let Some(n) = props.get("connect.name").and_then(Json::as_str) {
        schema.name = Some(n.to_string());
    }
    if let Some(d) = props.get("connect.default") {
        schema.default = Some(default_from_json(&schema, d)?);
    }
    Ok(schema)
}

/// An Avro JSON default as a Connect value of `schema`.
fn default_from_json(schema: &Schema, d: &Json) -> Result<Value, ConvertError> {
    let bad = || {
        err(format!(
            "default {d} does not fit a {} schema",
            schema.ty.json_name()
        ))
    };
    if d.is_null() {
        return if schema.optional {
            Ok(Value::Null)
        } else {
            Err(bad())
        };
    }
    let int = || d.as_i64().ok_or_else(bad);
    Ok(match schema.ty {
        SchemaType::Int8 => Value::Int8(i8::try_from(int()?).map_err(|_| bad())?),
        SchemaType::Int16 => Value::Int16(i16::try_from(int()?).map_err(|_| bad())?),
        SchemaType::Int32 => Value::Int32(i32::try_from(int()?).map_err(|_| bad())?),
        SchemaType::Int64 => Value::Int64(int()?),
        SchemaType::Float32 => Value::Float32(d.as_f64().ok_or_else(bad)? as f32),
        SchemaType::Float64 => Value::Float64(d.as_f64().ok_or_else(bad)?),
        SchemaType::Boolean => Value::Boolean(d.as_bool().ok_or_else(bad)?),
        SchemaType::String => Value::String(d.as_str().ok_or_else(bad)?.to_string()),
        SchemaType::Bytes => Value::Bytes(
            d.as_str()
                .ok_or_else(bad)?
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| bad()))
                .collect::<Result<_, _>>()?,
        ),
        SchemaType::Array => {
            let items = schema.items.as_deref().ok_or_else(bad)?;
            Value::Array(
                d.as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|i| default_from_json(items, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        SchemaType::Map => {
            let (keys, values) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(bad()),
            };
            match d {
                Json::Object(o) => Value::Map(
                    o.iter()
                        .map(|(k, v)| Ok((Value::String(k.clone()), default_from_json(values, v)?)))
                        .collect::<Result<_, ConvertError>>()?,
                ),
                Json::Array(entries) => Value::Map(
                    entries
                        .iter()
                        .map(|e| {
                            Ok((
                                default_from_json(keys, e.get("key").ok_or_else(bad)?)?,
                                default_from_json(values, e.get("value").ok_or_else(bad)?)?,
                            ))
                        })
                        .collect::<Result<_, ConvertError>>()?,
                ),
                _ => return Err(bad()),
            }
        }
        SchemaType::Struct => {
            let o = d.as_object().ok_or_else(bad)?;
            Value::Struct(
                schema
                    .fields
                    .iter()
                    .map(|f| match o.get(&f.name) {
                        Some(v) => default_from_json(&f.schema, v),
                        None => f.schema.default.clone().ok_or_else(bad),
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
    })
}

//! Connect schemas <-> JSON Schema, as Confluent's `JsonSchemaData` maps them: integers and
//! floats as `integer`/`number` with `connect.type` (`int8` … `float64`), BYTES as `string` with
//! `connect.type: bytes` (Decimal as `number` with it), STRUCT as `object` with `properties`
//! in field order, each carrying `connect.index`, MAP with required STRING keys as `object`
//! with `additionalProperties` and `connect.type: map` (other maps as arrays of `{key, value}`
//! objects), optional schemas as `oneOf: [{"type":"null"}, …]`, and the schema's name, doc,
//! version, parameters and default as `title`, `description`, `connect.version`,
//! `connect.parameters` and `default`.
//!
//! Design decision: a JSON Schema from the registry is read once into a Connect schema; the
//! payload of every record is then read with that schema alone (JSON documents describe
//! themselves; no per-record validation against the JSON Schema, as Confluent's converter
//! with its defaults).

use serde_json::{json, Map, Value as Json};

use crate::convert::json::parser;
use crate::convert::json::read::{value_from_json, ReadOptions};
use crate::convert::json::write::{write_value, WriteOptions};
use crate::convert::ConvertError;
use crate::data::{Field, Schema, SchemaType, Value};

/// `JsonSchemaData`'s namespace: parameters under it are its own, not written back.
const NAMESPACE: &str = "io.confluent.connect.json";
/// The parameter marking a STRING read from a JSON `enum` (`…Enum.<symbol>` per symbol).
const ENUM: &str = "io.confluent.connect.json.Enum";
const CONNECT_TYPE: &str = "connect.type";
const CONNECT_INDEX: &str = "connect.index";
const CONNECT_VERSION: &str = "connect.version";
const CONNECT_PARAMETERS: &str = "connect.parameters";
/// `$ref` chains and nesting deeper than this are refused (recursive schemas).
const MAX_DEPTH: usize = 64;

fn err(message: impl Into<String>) -> ConvertError {
    ConvertError::new(message.into())
}

/// The JSON Schema options of the converter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub write: WriteOptions,
    pub read: ReadOptions,
    /// `object.additional.properties` (default true): false writes `"additionalProperties":
    /// false` on struct objects.
    pub additional_properties: bool,
    /// `use.optional.for.nonrequired` (default false): properties a schema does not list in
    /// `required` read as optional fields.
    pub optional_for_nonrequired: bool,
}

// ---------------------------------------------------------------------------------------------
// Connect -> JSON Schema
// ---------------------------------------------------------------------------------------------

/// The JSON Schema of a Connect schema, as `JsonSchemaData.fromConnectSchema`.
pub(crate) fn to_json_schema(schema: &Schema, opts: Options) -> Result<Json, ConvertError> {
    node(schema, None, opts)
}

fn node(schema: &Schema, index: Option<usize>, opts: Options) -> Result<Json, ConvertError> {
    let mut o = Map::new();
    match schema.ty {
        SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 | SchemaType::Int64 => {
            o.insert("type".into(), json!("integer"));
            o.insert(CONNECT_TYPE.into(), json!(connect_type(schema.ty)));
        }
        SchemaType::Float32 | SchemaType::Float64 => {
            o.insert("type".into(), json!("number"));
            o.insert(CONNECT_TYPE.into(), json!(connect_type(schema.ty)));
        }
        SchemaType::Boolean => {
            o.insert("type".into(), json!("boolean"));
        }
        SchemaType::String => {
            if schema.parameter(ENUM).is_some() {
                let symbols: Vec<Json> = schema
                    .parameters
                    .iter()
                    .filter(|(k, _)| k.starts_with(ENUM) && k.len() > ENUM.len() + 1)
                    .map(|(_, v)| json!(v))
                    .collect();
                o.insert("type".into(), json!("string"));
                o.insert("enum".into(), Json::Array(symbols));
            } else {
                o.insert("type".into(), json!("string"));
            }
        }
        SchemaType::Bytes => {
            let decimal = schema.is_logical(crate::data::logical::DECIMAL);
            o.insert(
                "type".into(),
                json!(if decimal { "number" } else { "string" }),
            );
            o.insert(CONNECT_TYPE.into(), json!("bytes"));
        }
        SchemaType::Array => {
            let items = schema
                .items
                .as_deref()
                .ok_or_else(|| err("an ARRAY schema has no element schema"))?;
            o.insert("type".into(), json!("array"));
            o.insert("items".into(), node(items, None, opts)?);
        }
        SchemaType::Map => {
            let (keys, values) = match (schema.keys.as_deref(), schema.values.as_deref()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Err(err("a MAP schema has no key or value schema")),
            };
            if keys.ty == SchemaType::String && !keys.optional {
                o.insert("type".into(), json!("object"));
                o.insert("additionalProperties".into(), node(values, None, opts)?);
            } else {
                let mut properties = Map::new();
                properties.insert("key".into(), node(keys, Some(0), opts)?);
                properties.insert("value".into(), node(values, Some(1), opts)?);
                o.insert("type".into(), json!("array"));
                o.insert(
                    "items".into(),
                    json!({"type": "object", "properties": properties}),
                );
            }
            o.insert(CONNECT_TYPE.into(), json!("map"));
        }
        SchemaType::Struct => {
            let mut properties = Map::new();
            for (i, f) in schema.fields.iter().enumerate() {
                properties.insert(f.name.clone(), node(&f.schema, Some(i), opts)?);
            }
            o.insert("type".into(), json!("object"));
            o.insert("properties".into(), Json::Object(properties));
            if !opts.additional_properties {
                o.insert("additionalProperties".into(), json!(false));
            }
        }
    }
    if let Some(name) = &schema.name {
        o.insert("title".into(), json!(name));
    }
    if let Some(doc) = &schema.doc {
        o.insert("description".into(), json!(doc));
    }
    if let Some(v) = schema.version {
        o.insert(CONNECT_VERSION.into(), json!(v));
    }
    let parameters: Map<String, Json> = schema
        .parameters
        .iter()
        .filter(|(k, _)| !k.starts_with(NAMESPACE))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !parameters.is_empty() {
        o.insert(CONNECT_PARAMETERS.into(), Json::Object(parameters));
    }
    if let Some(d) = schema.default.as_ref().filter(|d| !d.is_null()) {
        o.insert("default".into(), value_to_json(schema, d, opts)?);
    }
    // The index goes on the outermost node: the `oneOf` of an optional field.
    let mut out = if schema.optional {
        json!({"oneOf": [{"type": "null"}, Json::Object(o)]})
    } else {
        Json::Object(o)
    };
    if let (Some(i), Some(obj)) = (index, out.as_object_mut()) {
        obj.insert(CONNECT_INDEX.into(), json!(i));
    }
    Ok(out)
}

fn connect_type(ty: SchemaType) -> &'static str {
    match ty {
        SchemaType::Int8 => "int8",
        SchemaType::Int16 => "int16",
        SchemaType::Int32 => "int32",
        SchemaType::Int64 => "int64",
        SchemaType::Float32 => "float32",
        SchemaType::Float64 => "float64",
        _ => "bytes",
    }
}

/// A Connect value as JSON, exactly as the payload writes it (so defaults read back the same).
fn value_to_json(schema: &Schema, v: &Value, opts: Options) -> Result<Json, ConvertError> {
    let mut out = Vec::new();
    let mut required = schema.clone();
    required.optional = false;
    required.default = None;
    write_value(&mut out, Some(&required), v, opts.write)?;
    serde_json::from_slice(&out).map_err(|e| err(format!("a default value as JSON: {e}")))
}

// ---------------------------------------------------------------------------------------------
// JSON Schema -> Connect
// ---------------------------------------------------------------------------------------------

/// The Connect schema of a JSON Schema (text, as the registry returns it), as
/// `JsonSchemaData.toConnectSchema`.
pub(crate) fn to_connect(text: &str, opts: Options) -> Result<Schema, ConvertError> {
    let root: Json =
        serde_json::from_str(text).map_err(|e| err(format!("the JSON Schema is not JSON: {e}")))?;
    Reader { root: &root, opts }.schema(&root, false, 0)
}

struct Reader<'a> {
    root: &'a Json,
    opts: Options,
}

impl Reader<'_> {
    fn schema(
        &self,
        node: &Json,
        force_optional: bool,
        depth: usize,
    ) -> Result<Schema, ConvertError> {
        if depth > MAX_DEPTH {
            return Err(err(
                "the JSON Schema nests or refers deeper than 64 levels (recursive schemas have no Connect form)",
            ));
        }
        let o = match node {
            Json::Object(o) => o,
            other => {
                return Err(err(format!(
                    "unsupported JSON Schema {other}: Connect needs a typed schema object"
                )))
            }
        };
        if let Some(r) = o.get("$ref").and_then(Json::as_str) {
            let target = r
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
                .ok_or_else(|| {
                    err(format!(
                        "the JSON Schema reference {r:?} is not a local one (\"#/definitions/…\", \"#/$defs/…\") that exists; references to other schemas are not supported"
                    ))
                })?;
            return self.schema(target, force_optional, depth + 1);
        }
        for combinator in ["oneOf", "anyOf"] {
            if let Some(branches) = o.get(combinator).and_then(Json::as_array) {
                return self.union(combinator, branches, force_optional, depth);
            }
        }
        if o.contains_key("allOf") {
            return Err(err(
                "JSON Schema \"allOf\" is not supported (Confluent maps only a few allOf shapes)",
            ));
        }
        let mut optional = force_optional;
        let ty = match o.get("type") {
            Some(Json::String(t)) => t.as_str(),
            Some(Json::Array(types)) => {
                let non_null: Vec<&str> = types
                    .iter()
                    .filter_map(Json::as_str)
                    .filter(|t| *t != "null")
                    .collect();
                if non_null.len() + 1 == types.len() {
                    optional = true;
                }
                match non_null.as_slice() {
                    [t] => *t,
                    _ => {
                        return Err(err(format!(
                            "a JSON Schema \"type\" of several types ({}) is not supported; only one type, optionally with \"null\"",
                            Json::Array(types.clone())
                        )))
                    }
                }
            }
            None if o.contains_key("enum") => "string",
            None if o.contains_key("properties") => "object",
            _ => {
                return Err(err(format!(
                    "the JSON Schema {node} has no \"type\" Connect can map"
                )))
            }
        };
        let connect_type = o.get(CONNECT_TYPE).and_then(Json::as_str);
        let mut schema = match ty {
            "boolean" => Schema::new(SchemaType::Boolean),
            "integer" | "number" => Schema::new(match connect_type {
                Some("int8") => SchemaType::Int8,
                Some("int16") => SchemaType::Int16,
                Some("int32") => SchemaType::Int32,
                Some("int64") => SchemaType::Int64,
                Some("float32") => SchemaType::Float32,
                Some("float64") => SchemaType::Float64,
                Some("bytes") => SchemaType::Bytes,
                None if ty == "integer" => SchemaType::Int64,
                None => SchemaType::Float64,
                Some(other) => return Err(err(format!("unsupported connect.type {other:?}"))),
            }),
            "string" => {
                if let Some(symbols) = o.get("enum").and_then(Json::as_array) {
                    // JSON enums have no name: the marker parameter is empty, as Confluent's.
                    let mut s = Schema::new(SchemaType::String).with_parameter(ENUM, "");
                    for sym in symbols {
                        let sym = match sym {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        s = s.with_parameter(format!("{ENUM}.{sym}"), sym);
                    }
                    s
                } else if connect_type == Some("bytes") {
                    Schema::new(SchemaType::Bytes)
                } else {
                    Schema::new(SchemaType::String)
                }
            }
            "array" => {
                let items = o
                    .get("items")
                    .filter(|i| i.is_object())
                    .ok_or_else(|| err("Array schema did not specify the items type"))?;
                let entry_props = items.get("properties").and_then(Json::as_object);
                match (connect_type, entry_props) {
                    (Some("map"), Some(p)) => {
                        let part = |k: &str| -> Result<_, ConvertError> {
                            let s = p.get(k).ok_or_else(|| {
                                err(format!("a map entry schema has no {k:?} property"))
                            })?;
                            Ok(self.schema(s, false, depth + 1)?.into_ref())
                        };
                        Schema::map(part("key")?, part("value")?)
                    }
                    _ => Schema::array(self.schema(items, false, depth + 1)?.into_ref()),
                }
            }
            "object" if connect_type == Some("map") => {
                let values = o
                    .get("additionalProperties")
                    .filter(|v| v.is_object())
                    .ok_or_else(|| {
                        err("a connect.type map object has no \"additionalProperties\" schema")
                    })?;
                Schema::map(
                    Schema::new(SchemaType::String).into_ref(),
                    self.schema(values, false, depth + 1)?.into_ref(),
                )
            }
            "object" => self.structure(o, depth)?,
            other => {
                return Err(err(format!(
                    "the JSON Schema type {other:?} has no Connect form"
                )))
            }
        };
        if let Some(t) = o.get("title").and_then(Json::as_str) {
            schema.name = Some(t.to_string());
        }
        if let Some(v) = o.get(CONNECT_VERSION).and_then(Json::as_i64) {
            schema.version = i32::try_from(v).ok();
        }
        if let Some(d) = o.get("description").and_then(Json::as_str) {
            schema.doc = Some(d.to_string());
        }
        if let Some(Json::Object(params)) = o.get(CONNECT_PARAMETERS) {
            for (k, v) in params {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                schema.parameters.push((k.clone(), v));
            }
        }
        if let Some(d) = o.get("default").filter(|d| !d.is_null()) {
            let text = d.to_string();
            let doc = parser::parse(text.as_bytes())
                .map_err(|e| err(format!("the default {d}: {}", e.message)))?;
            schema.default = Some(
                value_from_json(Some(&schema), doc.root.as_ref(), self.opts.read)
                    .map_err(|e| err(format!("the default {d}: {}", e.0)))?,
            );
        }
        schema.optional = optional;
        Ok(schema)
    }

    /// `oneOf`/`anyOf`: `null` and one other schema is an optional schema; other unions
    /// (Confluent's `io.confluent.connect.json.OneOf` structs) are not supported yet.
    fn union(
        &self,
        combinator: &str,
        branches: &[Json],
        force_optional: bool,
        depth: usize,
    ) -> Result<Schema, ConvertError> {
        let is_null = |b: &Json| b.get("type").and_then(Json::as_str) == Some("null");
        let others: Vec<&Json> = branches.iter().filter(|b| !is_null(b)).collect();
        match others.as_slice() {
            [only] => self.schema(only, force_optional || others.len() < branches.len(), depth + 1),
            _ => Err(err(format!(
                "JSON Schema \"{combinator}\" of several non-null schemas is not supported yet (Confluent maps it to an io.confluent.connect.json.OneOf struct)"
            ))),
        }
    }

    fn structure(&self, o: &Map<String, Json>, depth: usize) -> Result<Schema, ConvertError> {
        let empty = Map::new();
        let properties = o
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        let required: Vec<&str> = o
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        // Fields in `connect.index` order; properties without one keep their place after.
        let mut ordered: Vec<(i64, usize, &String, &Json)> = properties
            .iter()
            .enumerate()
            .map(|(pos, (name, s))| {
                let index = s
                    .get(CONNECT_INDEX)
                    .and_then(Json::as_i64)
                    .unwrap_or(pos as i64);
                (index, pos, name, s)
            })
            .collect();
        ordered.sort_by_key(|(index, pos, _, _)| (*index, *pos));
        let mut fields = Vec::with_capacity(ordered.len());
        for (_, _, name, s) in ordered {
            let optional = self.opts.optional_for_nonrequired && !required.contains(&name.as_str());
            let schema = self
                .schema(s, optional, depth + 1)
                .map_err(|e| err(format!("property {name:?}: {}", e.0)))?;
            fields.push(Field {
                name: name.clone(),
                schema: schema.into_ref(),
            });
        }
        Ok(Schema::structure(fields))
    }
}

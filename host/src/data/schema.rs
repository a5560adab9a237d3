use std::sync::Arc;

use super::Value;

/// A shared, immutable schema. Records of one batch usually share one.
pub type SchemaRef = Arc<Schema>;

/// Connect's `Schema.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name JsonConverter writes in a schema envelope (`float`/`double`, not `float32`).
    pub fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }
}

/// Names of Connect's logical types.
pub mod logical {
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// Decimal's parameter holding the scale, as a decimal string.
    pub const DECIMAL_SCALE: &str = "scale";
}

/// A struct field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: SchemaRef,
}

/// A Connect schema. Build with the constructors and the `with_*`/`optional()` helpers.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// In insertion order (Connect keeps a LinkedHashMap; JsonConverter writes that order).
    pub parameters: Vec<(String, String)>,
    /// `Array`: element schema.
    pub items: Option<SchemaRef>,
    /// `Map`: key schema.
    pub keys: Option<SchemaRef>,
    /// `Map`: value schema.
    pub values: Option<SchemaRef>,
    /// `Struct`: fields in order.
    pub fields: Vec<Field>,
}

impl Schema {
    pub fn new(ty: SchemaType) -> Self {
        Schema {
            ty,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            items: None,
            keys: None,
            values: None,
            fields: Vec::new(),
        }
    }
    pub fn array(items: SchemaRef) -> Self {
        Schema {
            items: Some(items),
            ..Schema::new(SchemaType::Array)
        }
    }
    pub fn map(keys: SchemaRef, values: SchemaRef) -> Self {
        Schema {
            keys: Some(keys),
            values: Some(values),
            ..Schema::new(SchemaType::Map)
        }
    }
    pub fn structure(fields: Vec<Field>) -> Self {
        Schema {
            fields,
            ..Schema::new(SchemaType::Struct)
        }
    }
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    pub fn with_version(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }
    pub fn with_default(mut self, default: Value) -> Self {
        self.default = Some(default);
        self
    }
    pub fn with_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((key.into(), value.into()));
        self
    }
    pub fn into_ref(self) -> SchemaRef {
        Arc::new(self)
    }

    /// Connect's `Decimal.schema(scale)`.
    pub fn decimal(scale: i32) -> Self {
        Schema::new(SchemaType::Bytes)
            .with_name(logical::DECIMAL)
            .with_version(1)
            .with_parameter(logical::DECIMAL_SCALE, scale.to_string())
    }
    /// Connect's `Date.SCHEMA` builder (days since epoch).
    pub fn date() -> Self {
        Schema::new(SchemaType::Int32)
            .with_name(logical::DATE)
            .with_version(1)
    }
    /// Connect's `Time.SCHEMA` builder (ms since midnight).
    pub fn time() -> Self {
        Schema::new(SchemaType::Int32)
            .with_name(logical::TIME)
            .with_version(1)
    }
    /// Connect's `Timestamp.SCHEMA` builder (epoch ms).
    pub fn timestamp() -> Self {
        Schema::new(SchemaType::Int64)
            .with_name(logical::TIMESTAMP)
            .with_version(1)
    }

    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn field(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
    pub fn is_logical(&self, logical_name: &str) -> bool {
        self.name.as_deref() == Some(logical_name)
    }
}

/// The schema table of one batch under construction, for either plugin encoding: maps each
/// schema `Arc` to its table index by pointer, with the last hit checked first (consecutive
/// records nearly always share one schema).
#[derive(Default)]
pub(crate) struct SchemaInterner {
    by_ptr: std::collections::HashMap<*const Schema, u32>,
    last: Option<(*const Schema, u32)>,
    // Keeps every interned schema alive so its address cannot be reused within the batch.
    keep: Vec<SchemaRef>,
}

impl SchemaInterner {
    /// The table index of `schema`; on first sight `add` appends it to the caller's table.
    pub(crate) fn intern(&mut self, schema: &SchemaRef, add: impl FnOnce(&Schema)) -> u32 {
        let ptr = Arc::as_ptr(schema);
        if let Some((p, i)) = self.last {
            if p == ptr {
                return i;
            }
        }
        let index = match self.by_ptr.get(&ptr) {
            Some(&i) => i,
            None => {
                // A batch beyond 4 G schemas cannot cross the boundary anyway.
                let i = u32::try_from(self.keep.len()).unwrap_or(u32::MAX);
                add(schema);
                self.by_ptr.insert(ptr, i);
                self.keep.push(schema.clone());
                i
            }
        };
        self.last = Some((ptr, index));
        index
    }

    /// How many entries the table has.
    pub(crate) fn entries(&self) -> usize {
        self.keep.len()
    }
}

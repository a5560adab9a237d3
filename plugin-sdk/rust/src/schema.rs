//! Connect schemas: [`Schema`], its builders and the logical types.
//!
//! Schemas are immutable and shared through [`SchemaRef`] (an `Arc`): build one once (for
//! example in `open`) and clone the `Arc` into every record. The SDK interns schemas per
//! batch by pointer first, so sharing one `Arc` makes lowering a batch of N records cost one
//! schema, not N.

use std::sync::Arc;

use crate::value::Value;

/// A shared, immutable schema.
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

/// Names of Connect's logical types (a base type plus one of these schema names).
pub mod logical {
    /// `Decimal`: bytes holding the unscaled two's-complement big-endian integer.
    pub const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
    /// `Date`: int32 days since 1970-01-01.
    pub const DATE: &str = "org.apache.kafka.connect.data.Date";
    /// `Time`: int32 milliseconds since midnight.
    pub const TIME: &str = "org.apache.kafka.connect.data.Time";
    /// `Timestamp`: int64 milliseconds since the Unix epoch.
    pub const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
    /// Decimal's parameter holding the scale, as a decimal string.
    pub const DECIMAL_SCALE: &str = "scale";
}

/// One field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: SchemaRef,
}

/// A Connect schema.
///
/// Build one with a constructor and chain the `with_*`/[`optional`](Schema::optional)
/// helpers; build structs with [`Schema::struct_builder`].
///
/// ```
/// use sluice_plugin_sdk::{Schema, SchemaType};
///
/// let price = Schema::decimal(2).optional().with_doc("price in EUR");
/// assert_eq!(price.ty, SchemaType::Bytes);
/// assert_eq!(price.parameter("scale"), Some("2"));
/// assert!(price.optional);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    /// Whether the value may be null.
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// In insertion order (Connect keeps a `LinkedHashMap`).
    pub parameters: Vec<(String, String)>,
    /// `Array`: the element schema.
    pub items: Option<SchemaRef>,
    /// `Map`: the key schema.
    pub keys: Option<SchemaRef>,
    /// `Map`: the value schema.
    pub values: Option<SchemaRef>,
    /// `Struct`: the fields, in order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A required schema of type `ty` with nothing else set.
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
    /// Connect's `Schema.INT8_SCHEMA`.
    pub fn int8() -> Self {
        Schema::new(SchemaType::Int8)
    }
    /// Connect's `Schema.INT16_SCHEMA`.
    pub fn int16() -> Self {
        Schema::new(SchemaType::Int16)
    }
    /// Connect's `Schema.INT32_SCHEMA`.
    pub fn int32() -> Self {
        Schema::new(SchemaType::Int32)
    }
    /// Connect's `Schema.INT64_SCHEMA`.
    pub fn int64() -> Self {
        Schema::new(SchemaType::Int64)
    }
    /// Connect's `Schema.FLOAT32_SCHEMA`.
    pub fn float32() -> Self {
        Schema::new(SchemaType::Float32)
    }
    /// Connect's `Schema.FLOAT64_SCHEMA`.
    pub fn float64() -> Self {
        Schema::new(SchemaType::Float64)
    }
    /// Connect's `Schema.BOOLEAN_SCHEMA`.
    pub fn boolean() -> Self {
        Schema::new(SchemaType::Boolean)
    }
    /// Connect's `Schema.STRING_SCHEMA`.
    pub fn string() -> Self {
        Schema::new(SchemaType::String)
    }
    /// Connect's `Schema.BYTES_SCHEMA`.
    pub fn bytes() -> Self {
        Schema::new(SchemaType::Bytes)
    }
    /// An array of `items`.
    pub fn array(items: impl Into<SchemaRef>) -> Self {
        Schema {
            items: Some(items.into()),
            ..Schema::new(SchemaType::Array)
        }
    }
    /// A map from `keys` to `values`.
    pub fn map(keys: impl Into<SchemaRef>, values: impl Into<SchemaRef>) -> Self {
        Schema {
            keys: Some(keys.into()),
            values: Some(values.into()),
            ..Schema::new(SchemaType::Map)
        }
    }
    /// Starts a struct schema (Connect's `SchemaBuilder.struct()`).
    ///
    /// ```
    /// use sluice_plugin_sdk::Schema;
    ///
    /// let user = Schema::struct_builder()
    ///     .name("com.example.User")
    ///     .field("id", Schema::int64())
    ///     .field("email", Schema::string().optional())
    ///     .build();
    /// assert_eq!(user.fields.len(), 2);
    /// assert_eq!(user.field("email").map(|(i, _)| i), Some(1));
    /// ```
    pub fn struct_builder() -> StructSchemaBuilder {
        StructSchemaBuilder {
            schema: Schema::new(SchemaType::Struct),
        }
    }
    /// Connect's `Decimal.schema(scale)`: bytes named `org.apache.kafka.connect.data.Decimal`.
    pub fn decimal(scale: i32) -> Self {
        Schema::new(SchemaType::Bytes)
            .with_name(logical::DECIMAL)
            .with_version(1)
            .with_parameter(logical::DECIMAL_SCALE, scale.to_string())
    }
    /// Connect's `Date.SCHEMA` (int32 days since the epoch).
    pub fn date() -> Self {
        Schema::new(SchemaType::Int32)
            .with_name(logical::DATE)
            .with_version(1)
    }
    /// Connect's `Time.SCHEMA` (int32 milliseconds since midnight).
    pub fn time() -> Self {
        Schema::new(SchemaType::Int32)
            .with_name(logical::TIME)
            .with_version(1)
    }
    /// Connect's `Timestamp.SCHEMA` (int64 milliseconds since the epoch).
    pub fn timestamp() -> Self {
        Schema::new(SchemaType::Int64)
            .with_name(logical::TIMESTAMP)
            .with_version(1)
    }
    /// Marks the schema optional (the value may be null).
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
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }
    pub fn with_default(mut self, default: impl Into<Value>) -> Self {
        self.default = Some(default.into());
        self
    }
    pub fn with_parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((key.into(), value.into()));
        self
    }
    /// Wraps the schema in an `Arc` to share it between records.
    pub fn into_ref(self) -> SchemaRef {
        Arc::new(self)
    }
    /// The value of a schema parameter.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// A struct field and its position, by name.
    pub fn field(&self, name: &str) -> Option<(usize, &Field)> {
        self.fields.iter().enumerate().find(|(_, f)| f.name == name)
    }
    /// Whether this is the logical type `logical_name` (see [`logical`]).
    pub fn is_logical(&self, logical_name: &str) -> bool {
        self.name.as_deref() == Some(logical_name)
    }
}

/// Builds a struct schema field by field; see [`Schema::struct_builder`].
#[derive(Debug, Clone)]
pub struct StructSchemaBuilder {
    schema: Schema,
}

impl StructSchemaBuilder {
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.schema.name = Some(name.into());
        self
    }
    pub fn version(mut self, version: i32) -> Self {
        self.schema.version = Some(version);
        self
    }
    pub fn doc(mut self, doc: impl Into<String>) -> Self {
        self.schema.doc = Some(doc.into());
        self
    }
    pub fn optional(mut self) -> Self {
        self.schema.optional = true;
        self
    }
    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.schema.parameters.push((key.into(), value.into()));
        self
    }
    /// Appends a field. A later field with the same name replaces the earlier one in place.
    pub fn field(mut self, name: impl Into<String>, schema: impl Into<SchemaRef>) -> Self {
        let name = name.into();
        let schema = schema.into();
        match self.schema.fields.iter_mut().find(|f| f.name == name) {
            Some(existing) => existing.schema = schema,
            None => self.schema.fields.push(Field { name, schema }),
        }
        self
    }
    pub fn build(self) -> Schema {
        self.schema
    }
    /// Builds and wraps in an `Arc`.
    pub fn build_ref(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}

/// A small most-recently-used map from an input schema to the schema a transform derived
/// from it (Kafka's SMTs keep an LRU cache of 16 for the same purpose).
///
/// Deriving once per input schema means every record of a batch shares one output `Arc`,
/// which the SDK then lowers once per batch instead of once per record.
///
/// ```
/// use sluice_plugin_sdk::{Schema, SchemaCache};
///
/// let mut cache = SchemaCache::new();
/// let input = Schema::struct_builder().field("a", Schema::int32()).build_ref();
/// assert!(cache.get(&input).is_none());
/// let wrapped = Schema::struct_builder().field("inner", input.clone()).build_ref();
/// cache.insert(input.clone(), wrapped.clone());
///
/// // An equal schema in another `Arc` (a later batch) hits too.
/// let same = Schema::struct_builder().field("a", Schema::int32()).build_ref();
/// assert!(std::sync::Arc::ptr_eq(&cache.get(&same).unwrap(), &wrapped));
/// ```
#[derive(Debug, Clone)]
pub struct SchemaCache {
    /// (input, derived), most recent first.
    entries: Vec<(SchemaRef, SchemaRef)>,
}

impl SchemaCache {
    /// Kafka's `LRUCache` size in its SMTs.
    pub const CAPACITY: usize = 16;

    pub fn new() -> SchemaCache {
        SchemaCache {
            entries: Vec::new(),
        }
    }

    /// The schema derived from `input` (same `Arc` or an equal schema), if cached.
    pub fn get(&mut self, input: &SchemaRef) -> Option<SchemaRef> {
        // The cache holds its input `Arc`s, so a cached pointer cannot be reused by another
        // schema: pointer equality is a safe fast path before the deep comparison.
        let pos = self
            .entries
            .iter()
            .position(|(k, _)| Arc::ptr_eq(k, input) || **k == **input)?;
        // Re-key on the newest Arc: the SDK interns schemas per batch, so the next records
        // of this batch hit the cheap pointer comparison.
        let (_, derived) = self.entries.remove(pos);
        self.entries.insert(0, (input.clone(), derived.clone()));
        Some(derived)
    }

    /// Remembers that `input` derives `derived`, evicting the least recently used entry
    /// beyond [`CAPACITY`](Self::CAPACITY).
    pub fn insert(&mut self, input: SchemaRef, derived: SchemaRef) {
        self.entries.insert(0, (input, derived));
        self.entries.truncate(Self::CAPACITY);
    }
}

impl Default for SchemaCache {
    fn default() -> Self {
        SchemaCache::new()
    }
}

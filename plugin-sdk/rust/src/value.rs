//! Connect values: the [`Value`] tree and [`Struct`].
//!
//! A [`Struct`] carries its schema so fields are addressed by name, as in Connect's Java
//! `Struct`; its field values are kept in schema order, which is also the order the WIT
//! encoding uses, so lowering a struct needs no lookups.

use std::fmt;

use crate::schema::{SchemaRef, SchemaType};

/// A Connect value. With a schema, the variant matches the schema type.
///
/// Logical types use their base representation: Decimal is `Bytes` (see
/// [`Value::decimal`]), Date and Time are `Int32`, Timestamp is `Int64`.
///
/// ```
/// use sluice_plugin_sdk::Value;
///
/// let v = Value::Array(vec![Value::from(1i32), Value::from("two"), Value::Null]);
/// assert!(matches!(&v, Value::Array(items) if items.len() == 3));
/// assert_eq!(Value::from("x").as_str(), Some("x"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in order; keys may be any value (Connect allows non-string map keys).
    Map(Vec<(Value, Value)>),
    Struct(Struct),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_struct(&self) -> Option<&Struct> {
        match self {
            Value::Struct(s) => Some(s),
            _ => None,
        }
    }
    /// Any integer variant widened to `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }
    /// The Java class Kafka Connect would hold this value as (`java.lang.Integer`,
    /// `java.util.Date` for Date/Time/Timestamp, `java.math.BigDecimal` for Decimal, ...),
    /// given its schema. Kafka's SMT error messages name that class ("Only Struct objects
    /// supported for [..], found: java.lang.String"), so plugins use this to match them.
    ///
    /// ```
    /// use sluice_plugin_sdk::{Schema, Value};
    ///
    /// assert_eq!(Value::Int32(1).java_class_name(None), "java.lang.Integer");
    /// assert_eq!(Value::Int32(1).java_class_name(Some(&Schema::date())), "java.util.Date");
    /// assert_eq!(Value::Null.java_class_name(None), "null");
    /// ```
    pub fn java_class_name(&self, schema: Option<&crate::schema::Schema>) -> &'static str {
        use crate::schema::logical;
        let logical_name = schema.and_then(|s| s.name.as_deref());
        match (self, logical_name) {
            (Value::Null, _) => "null",
            (Value::Int32(_), Some(logical::DATE | logical::TIME))
            | (Value::Int64(_), Some(logical::TIMESTAMP)) => "java.util.Date",
            (Value::Bytes(_), Some(logical::DECIMAL)) => "java.math.BigDecimal",
            (Value::Boolean(_), _) => "java.lang.Boolean",
            (Value::Int8(_), _) => "java.lang.Byte",
            (Value::Int16(_), _) => "java.lang.Short",
            (Value::Int32(_), _) => "java.lang.Integer",
            (Value::Int64(_), _) => "java.lang.Long",
            (Value::Float32(_), _) => "java.lang.Float",
            (Value::Float64(_), _) => "java.lang.Double",
            (Value::String(_), _) => "java.lang.String",
            (Value::Bytes(_), _) => "[B",
            (Value::Array(_), _) => "java.util.ArrayList",
            (Value::Map(_), _) => "java.util.HashMap",
            (Value::Struct(_), _) => "org.apache.kafka.connect.data.Struct",
        }
    }
    /// A Decimal value: `unscaled` as the minimal two's-complement big-endian byte string,
    /// exactly what Java's `BigInteger.toByteArray()` (and so Connect's `Decimal`) produces.
    ///
    /// ```
    /// use sluice_plugin_sdk::Value;
    ///
    /// // 12.34 with scale 2 is unscaled 1234 = 0x04D2.
    /// assert_eq!(Value::decimal(1234), Value::Bytes(vec![0x04, 0xD2]));
    /// assert_eq!(Value::decimal(-1), Value::Bytes(vec![0xFF]));
    /// assert_eq!(Value::decimal(128), Value::Bytes(vec![0x00, 0x80]));
    /// ```
    pub fn decimal(unscaled: i128) -> Value {
        let bytes = unscaled.to_be_bytes();
        // Drop leading bytes that only repeat the sign, keeping the sign bit correct.
        let mut start = 0;
        while start < bytes.len() - 1 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0);
            if !redundant {
                break;
            }
            start += 1;
        }
        Value::Bytes(bytes[start..].to_vec())
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v)
            }
        })*
    };
}
value_from!(bool => Boolean, i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64,
    f32 => Float32, f64 => Float64, String => String, Vec<u8> => Bytes, Struct => Struct);

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A problem building or decoding Connect data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError(pub String);

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DataError {}

/// A struct value: a struct schema plus one value per field, in schema order.
///
/// ```
/// use sluice_plugin_sdk::{Schema, Struct, Value};
///
/// let schema = Schema::struct_builder()
///     .field("id", Schema::int64())
///     .field("name", Schema::string().optional())
///     .build_ref();
/// let mut user = Struct::new(schema)?;
/// user.put("id", 7i64)?.put("name", "Ada")?;
/// assert_eq!(user.get("id"), Some(&Value::Int64(7)));
/// assert!(user.put("nope", 1i32).is_err());
/// # Ok::<(), sluice_plugin_sdk::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// An empty struct: every field holds its schema default, or null.
    pub fn new(schema: SchemaRef) -> Result<Struct, DataError> {
        if schema.ty != SchemaType::Struct {
            return Err(DataError(format!(
                "a Struct needs a struct schema, got a {:?} schema",
                schema.ty
            )));
        }
        let values = schema
            .fields
            .iter()
            .map(|f| f.schema.default.clone().unwrap_or(Value::Null))
            .collect();
        Ok(Struct { schema, values })
    }

    /// A struct from field values in schema order.
    pub fn from_values(schema: SchemaRef, values: Vec<Value>) -> Result<Struct, DataError> {
        if schema.ty != SchemaType::Struct {
            return Err(DataError(format!(
                "a Struct needs a struct schema, got a {:?} schema",
                schema.ty
            )));
        }
        if values.len() != schema.fields.len() {
            return Err(DataError(format!(
                "struct schema {} has {} fields but {} values were given",
                schema.name.as_deref().unwrap_or("(unnamed)"),
                schema.fields.len(),
                values.len()
            )));
        }
        Ok(Struct { schema, values })
    }

    /// Sets a field by name. Chains: `s.put("a", 1i32)?.put("b", "x")?`.
    pub fn put(&mut self, field: &str, value: impl Into<Value>) -> Result<&mut Struct, DataError> {
        let Some((index, _)) = self.schema.field(field) else {
            let known: Vec<&str> = self.schema.fields.iter().map(|f| f.name.as_str()).collect();
            return Err(DataError(format!(
                "struct has no field `{field}`; its fields are: {}",
                known.join(", ")
            )));
        };
        self.values[index] = value.into();
        Ok(self)
    }

    /// A field's value by name; `None` if the schema has no such field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.schema.field(field).map(|(i, _)| &self.values[i])
    }

    /// A field's value with Connect's `Struct.get` semantics: a null value reads as the
    /// field schema's default, if it has one. `None` if the schema has no such field.
    /// Kafka's SMTs read fields this way when `replace.null.with.default=true`.
    ///
    /// ```
    /// use sluice_plugin_sdk::{Schema, Struct, Value};
    ///
    /// let schema = Schema::struct_builder()
    ///     .field("region", Schema::string().optional().with_default("eu"))
    ///     .build_ref();
    /// let s = Struct::from_values(schema, vec![Value::Null])?;
    /// assert_eq!(s.get("region"), Some(&Value::Null));
    /// assert_eq!(s.get_or_default("region"), Some(&Value::from("eu")));
    /// # Ok::<(), sluice_plugin_sdk::DataError>(())
    /// ```
    pub fn get_or_default(&self, field: &str) -> Option<&Value> {
        let (i, f) = self.schema.field(field)?;
        match (&self.values[i], &f.schema.default) {
            (Value::Null, Some(default)) => Some(default),
            (v, _) => Some(v),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Field values in schema order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// `(field name, value)` pairs in schema order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.schema
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .zip(self.values.iter())
    }

    /// Splits into the schema and the field values.
    pub fn into_parts(self) -> (SchemaRef, Vec<Value>) {
        (self.schema, self.values)
    }
}

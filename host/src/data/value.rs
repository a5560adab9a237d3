/// A Connect value. With a schema, the variant matches the schema type; schemaless data
/// uses the same variants (JSON objects become `Map` with string keys).
///
/// Logical types use their base representation: Decimal is `Bytes` (unscaled big-endian
/// two's complement), Date/Time are `Int32`, Timestamp is `Int64`.
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
    /// Field values in the order of the struct schema's fields.
    Struct(Vec<Value>),
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
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

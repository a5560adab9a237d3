//! Avro binary encoding of a Connect value, walking its Connect schema (whose Avro form is
//! fixed by [`super::schema::to_avro`]); the same rules as the host's AvroConverter codec.

use sluice_plugin_sdk::{Schema, SchemaType, Value};

pub(crate) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

pub(crate) fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Int16(_) => "int16",
        Value::Int32(_) => "int32",
        Value::Int64(_) => "int64",
        Value::Float32(_) => "float32",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "bytes",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        Value::Struct(_) => "struct",
    }
}

/// Appends `value` as Avro binary of the Avro form of `schema`.
pub fn write(out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), String> {
    let value = match (value, &schema.default) {
        (Value::Null, Some(d)) if !d.is_null() => d,
        (v, _) => v,
    };
    if schema.optional {
        // The union's branch order, as to_avro writes it.
        let null_first = !matches!(&schema.default, Some(d) if !d.is_null());
        let (null_index, value_index) = if null_first { (0, 1) } else { (1, 0) };
        if value.is_null() {
            write_long(out, null_index);
            return Ok(());
        }
        write_long(out, value_index);
    } else if value.is_null() {
        return Err(format!(
            "null value for a required {:?} schema{}",
            schema.ty,
            schema
                .name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
    }
    let mismatch = || {
        format!(
            "a {} value does not fit a {:?} schema",
            kind(value),
            schema.ty
        )
    };
    match (schema.ty, value) {
        (SchemaType::Boolean, Value::Boolean(b)) => out.push(u8::from(*b)),
        (SchemaType::Int8, Value::Int8(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int16, Value::Int16(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int32, Value::Int32(i)) => write_long(out, i64::from(*i)),
        (SchemaType::Int64, Value::Int64(i)) => write_long(out, *i),
        (SchemaType::Float32, Value::Float32(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::Float64, Value::Float64(f)) => out.extend_from_slice(&f.to_le_bytes()),
        (SchemaType::String, Value::String(s)) => write_bytes(out, s.as_bytes()),
        (SchemaType::Bytes, Value::Bytes(b)) => write_bytes(out, b),
        (SchemaType::Array, Value::Array(items)) => {
            let item_schema = schema.items.as_deref().ok_or_else(mismatch)?;
            if !items.is_empty() {
                write_long(out, items.len() as i64);
                for i in items {
                    write(out, item_schema, i)?;
                }
            }
            out.push(0);
        }
        (SchemaType::Map, Value::Map(entries)) => {
            let (Some(keys), Some(values)) = (schema.keys.as_deref(), schema.values.as_deref())
            else {
                return Err(mismatch());
            };
            let string_keys = keys.ty == SchemaType::String && !keys.optional;
            if !entries.is_empty() {
                write_long(out, entries.len() as i64);
                for (k, v) in entries {
                    if string_keys {
                        let k = k.as_str().ok_or("a map key is not a string")?;
                        write_bytes(out, k.as_bytes());
                    } else {
                        write(out, keys, k)?;
                    }
                    write(out, values, v)?;
                }
            }
            out.push(0);
        }
        (SchemaType::Struct, Value::Struct(s)) => {
            let values = s.values();
            if values.len() != schema.fields.len() {
                return Err(format!(
                    "a struct value has {} fields, its schema {}",
                    values.len(),
                    schema.fields.len()
                ));
            }
            for (f, v) in schema.fields.iter().zip(values) {
                write(out, &f.schema, v).map_err(|e| format!("field {:?}: {e}", f.name))?;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sluice_plugin_sdk::Struct;

    #[test]
    fn zigzag_longs_and_struct_fields_in_order() {
        let mut out = Vec::new();
        for v in [0, -1, 1, 63, -64, 64] {
            write_long(&mut out, v);
        }
        assert_eq!(out, [0, 1, 2, 126, 127, 128, 1]);

        let schema = Schema::struct_builder()
            .field("id", Schema::int32())
            .field("name", Schema::string().optional())
            .build_ref();
        let mut s = Struct::new(schema.clone()).unwrap();
        s.put("id", 3i32).unwrap();
        let mut out = Vec::new();
        write(&mut out, &schema, &Value::Struct(s.clone())).unwrap();
        assert_eq!(out, [6, 0], "id 3, name null (union branch 0)");
        s.put("name", "ab").unwrap();
        out.clear();
        write(&mut out, &schema, &Value::Struct(s)).unwrap();
        assert_eq!(out, [6, 2, 4, b'a', b'b']);
        let e = write(&mut out, &Schema::int32(), &Value::from("x")).unwrap_err();
        assert!(e.contains("string value does not fit"), "{e}");
    }
}

//! Decoding (host -> SDK): the schema table once, then each record on its own, owned or
//! borrowing its topic and top-level strings and bytes from the batch.
//!
//! The reader never trusts a length, index or tag: broken bytes are an [`Error`] for the
//! whole payload, data that does not fit its schema a [`DataError`] for its record only.

use std::sync::Arc;

use sluice_packed::{
    outcome_tag, schema_type as st, skip_record, skip_schema, skip_value, tag, Error, Reader,
    RecordHead,
};

use crate::record::{Header, Record, RecordRef, TimestampType, ValueRef};
use crate::schema::{Field, Schema, SchemaRef, SchemaType};
use crate::transform::Outcome;
use crate::value::{DataError, Struct, Value};
use crate::wire::struct_schema;

/// Why a value could not be read: the bytes are broken (the whole payload is unusable) or
/// the data does not fit its schema (only this record fails).
pub(super) enum Failure {
    Bytes(Error),
    Data(DataError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Bytes(e)
    }
}

impl From<DataError> for Failure {
    fn from(e: DataError) -> Failure {
        Failure::Data(e)
    }
}

/// Decodes a packed batch: the schema table once, then each record on its own, so one
/// record whose data does not fit its schema fails alone.
pub(crate) fn decode_batch(bytes: &[u8]) -> Result<Vec<Result<Record, DataError>>, Error> {
    decode_with(bytes, read_record)
}

/// [`decode_batch`] into records that borrow their topic and top-level strings and bytes
/// from `bytes` (what a sink's `put_borrowed` gets).
pub(crate) fn decode_batch_borrowed(
    bytes: &[u8],
) -> Result<Vec<Result<RecordRef<'_>, DataError>>, Error> {
    decode_with(bytes, read_record_ref)
}

/// Reads a batch's records with `read`; a record only `read` finds unusable becomes its
/// `DataError` (the reader skips past it), a broken payload fails the whole batch.
fn decode_with<'a, T>(
    bytes: &'a [u8],
    read: impl Fn(&mut Reader<'a>, &[Result<SchemaRef, DataError>]) -> Result<T, Failure>,
) -> Result<Vec<Result<T, DataError>>, Error> {
    let mut r = Reader::new(bytes)?;
    let count = r.len()?;
    let n = r.len()?;
    let schemas = read_table(&mut r, n)?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(next_with(&mut r, &schemas, &read)?);
    }
    r.finish()?;
    Ok(out)
}

/// The next record of a batch; `Err(DataError)` when only this record is unusable (the
/// reader is then past it).
pub(super) fn next_record(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Result<Record, DataError>, Error> {
    next_with(r, schemas, read_record)
}

fn next_with<'a, T>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
    read: impl Fn(&mut Reader<'a>, &[Result<SchemaRef, DataError>]) -> Result<T, Failure>,
) -> Result<Result<T, DataError>, Error> {
    let at = r.clone();
    match read(r, schemas) {
        Ok(rec) => Ok(Ok(rec)),
        Err(Failure::Bytes(e)) => Err(e),
        Err(Failure::Data(e)) => {
            *r = at;
            skip_record(r, schemas.len())?;
            Ok(Err(e))
        }
    }
}

/// The `n` entries of a payload's schema table; an entry the SDK cannot use fails only the
/// records that refer to it.
pub(super) fn read_table(
    r: &mut Reader<'_>,
    n: usize,
) -> Result<Vec<Result<SchemaRef, DataError>>, Error> {
    let mut schemas: Vec<Result<SchemaRef, DataError>> = Vec::with_capacity(n);
    for i in 0..n {
        let at = r.clone();
        schemas.push(match read_schema(r, 0) {
            Ok(s) => Ok(s),
            Err(Failure::Bytes(e)) => return Err(e),
            Err(Failure::Data(e)) => {
                // Skip the rest of the entry so the next one can be read.
                *r = at;
                skip_schema(r, 0)?;
                Err(DataError(format!("schema {i} of the batch: {e}")))
            }
        });
    }
    Ok(schemas)
}

/// Decodes a packed transform output, as the host does.
pub(crate) fn decode_outcomes(bytes: &[u8]) -> Result<Vec<Outcome>, String> {
    let mut r = Reader::new(bytes).map_err(|e| e.to_string())?;
    let count = r.len().map_err(|e| e.to_string())?;
    let n = r.len().map_err(|e| e.to_string())?;
    let schemas = read_table(&mut r, n).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(match r.u8().map_err(|e| e.to_string())? {
            outcome_tag::KEEP => match next_record(&mut r, &schemas).map_err(|e| e.to_string())? {
                Ok(record) => Outcome::Keep(record),
                Err(e) => return Err(format!("kept record does not fit its schema: {e}")),
            },
            outcome_tag::DROP => Outcome::Drop,
            outcome_tag::FAIL => Outcome::Fail(r.string().map_err(|e| e.to_string())?),
            t => return Err(format!("unknown outcome tag {t}")),
        });
    }
    r.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

fn read_record(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Record, Failure> {
    read_record_ref(r, schemas).map(RecordRef::into_record)
}

/// One record, borrowing its topic and top-level string and bytes key and value.
fn read_record_ref<'a>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<RecordRef<'a>, Failure> {
    let head = RecordHead::read(r)?;
    let timestamp_type = match head.timestamp_type {
        0 => TimestampType::NoTimestampType,
        1 => TimestampType::CreateTime,
        _ => TimestampType::LogAppendTime,
    };
    let (key_schema, key) = read_data_ref(r, schemas).map_err(|e| in_data(e, "record key"))?;
    let (value_schema, value) =
        read_data_ref(r, schemas).map_err(|e| in_data(e, "record value"))?;
    let n = r.len()?;
    let mut headers = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.string()?;
        let (schema, value) =
            read_data(r, schemas).map_err(|e| in_data(e, &format!("header `{key}`")))?;
        headers.push(Header { key, schema, value });
    }
    Ok(RecordRef {
        topic: head.topic,
        partition: head.partition,
        offset: head.offset,
        timestamp: head.timestamp,
        timestamp_type,
        key_schema,
        key,
        value_schema,
        value,
        headers,
    })
}

/// [`read_data`] borrowing a top-level string or bytes value.
fn read_data_ref<'a>(
    r: &mut Reader<'a>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<(Option<SchemaRef>, ValueRef<'a>), Failure> {
    let schema = data_schema(r, schemas)?;
    let value = match r.peek() {
        Some(tag::STRING) => {
            r.u8()?;
            ValueRef::Str(r.str()?)
        }
        Some(tag::BYTES) => {
            r.u8()?;
            ValueRef::Bytes(r.bytes()?)
        }
        _ => ValueRef::Owned(read_value(r, schema.as_ref(), 0)?),
    };
    Ok((schema, value))
}

fn in_data(f: Failure, what: &str) -> Failure {
    match f {
        Failure::Data(e) => Failure::Data(DataError(format!("{what}: {}", e.0))),
        bytes => bytes,
    }
}

fn read_data(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<(Option<SchemaRef>, Value), Failure> {
    let schema = data_schema(r, schemas)?;
    let value = read_value(r, schema.as_ref(), 0)?;
    Ok((schema, value))
}

/// The schema a key, value or header refers to.
fn data_schema(
    r: &mut Reader<'_>,
    schemas: &[Result<SchemaRef, DataError>],
) -> Result<Option<SchemaRef>, Failure> {
    Ok(match r.schema_ref()? {
        None => None,
        Some(i) => match schemas.get(i) {
            Some(Ok(s)) => Some(s.clone()),
            Some(Err(e)) => return Err(e.clone().into()),
            None => {
                return Err(r
                    .error(format!(
                        "refers to schema {i} but the batch has {} schemas",
                        schemas.len()
                    ))
                    .into())
            }
        },
    })
}

fn read_value(
    r: &mut Reader<'_>,
    schema: Option<&SchemaRef>,
    depth: usize,
) -> Result<Value, Failure> {
    if depth > sluice_packed::MAX_DEPTH {
        return Err(r
            .error(format!(
                "value tree deeper than {} levels",
                sluice_packed::MAX_DEPTH
            ))
            .into());
    }
    Ok(match r.u8()? {
        tag::NULL => Value::Null,
        tag::BOOLEAN => Value::Boolean(r.bool()?),
        tag::INT8 => Value::Int8(r.u8()? as i8),
        tag::INT16 => Value::Int16(r.svar_as("int16")?),
        tag::INT32 => Value::Int32(r.svar_as("int32")?),
        tag::INT64 => Value::Int64(r.svar()?),
        tag::FLOAT32 => Value::Float32(r.f32()?),
        tag::FLOAT64 => Value::Float64(r.f64()?),
        tag::STRING => Value::String(r.string()?),
        tag::BYTES => Value::Bytes(r.bytes()?.to_vec()),
        tag::ARRAY => {
            let items = schema.and_then(|s| s.items.as_ref());
            let n = r.len()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(read_value(r, items, depth + 1)?);
            }
            Value::Array(out)
        }
        tag::MAP => {
            let keys = schema.and_then(|s| s.keys.as_ref());
            let values = schema.and_then(|s| s.values.as_ref());
            let n = r.len()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push((
                    read_value(r, keys, depth + 1)?,
                    read_value(r, values, depth + 1)?,
                ));
            }
            Value::Map(out)
        }
        tag::STRUCT => {
            let n = r.len()?;
            let schema = struct_schema(schema, n)?;
            let mut values = Vec::with_capacity(n);
            for f in &schema.fields {
                values.push(read_value(r, Some(&f.schema), depth + 1)?);
            }
            Value::Struct(Struct::from_values(schema, values)?)
        }
        t => return Err(r.error(format!("unknown value tag {t}")).into()),
    })
}

pub(super) fn read_schema(r: &mut Reader<'_>, depth: usize) -> Result<SchemaRef, Failure> {
    if depth > sluice_packed::MAX_DEPTH {
        return Err(r.error("schema nested too deeply").into());
    }
    let ty = match r.u8()? {
        st::INT8 => SchemaType::Int8,
        st::INT16 => SchemaType::Int16,
        st::INT32 => SchemaType::Int32,
        st::INT64 => SchemaType::Int64,
        st::FLOAT32 => SchemaType::Float32,
        st::FLOAT64 => SchemaType::Float64,
        st::BOOLEAN => SchemaType::Boolean,
        st::STRING => SchemaType::String,
        st::BYTES => SchemaType::Bytes,
        st::ARRAY => SchemaType::Array,
        st::MAP => SchemaType::Map,
        st::STRUCT => SchemaType::Struct,
        t => return Err(r.error(format!("unknown schema type code {t}")).into()),
    };
    let mut schema = Schema::new(ty);
    schema.optional = r.bool()?;
    schema.name = r.opt_string()?;
    schema.version = match r.opt_svar()? {
        None => None,
        Some(v) => Some(
            i32::try_from(v).map_err(|_| r.error(format!("schema version {v} out of range")))?,
        ),
    };
    schema.doc = r.opt_string()?;
    let n = r.len()?;
    for _ in 0..n {
        let k = r.string()?;
        schema.parameters.push((k, r.string()?));
    }
    // The default is typed by this very schema (a struct default needs the fields), which
    // comes after it on the wire: read it once the rest is known.
    let default_at = if r.bool()? {
        let at = r.clone();
        skip_value(r, depth + 1)?;
        Some(at)
    } else {
        None
    };
    schema.items = child(r, depth)?;
    schema.keys = child(r, depth)?;
    schema.values = child(r, depth)?;
    let n = r.len()?;
    for _ in 0..n {
        let name = r.string()?;
        let field_schema = read_schema(r, depth + 1)?;
        schema.fields.push(Field {
            name,
            schema: field_schema,
        });
    }
    if let Some(mut at) = default_at {
        let shape = Arc::new(schema.clone());
        schema.default = Some(read_value(&mut at, Some(&shape), 0)?);
    }
    Ok(Arc::new(schema))
}

fn child(r: &mut Reader<'_>, depth: usize) -> Result<Option<SchemaRef>, Failure> {
    Ok(if r.bool()? {
        Some(read_schema(r, depth + 1)?)
    } else {
        None
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests {
    use super::*;
    use crate::packed::encode::Encoder;
    use crate::schema::Schema;
    use crate::value::Value;
    use sluice_packed::Reader;

    pub(in crate::packed) fn user_schema() -> SchemaRef {
        Schema::struct_builder()
            .name("com.example.User")
            .field("id", Schema::int64())
            .field("name", Schema::string().optional())
            .field(
                "tags",
                Schema::array(Schema::string())
                    .optional()
                    .with_default(Value::Array(vec![])),
            )
            .field(
                "attrs",
                Schema::map(Schema::string(), Schema::int32()).optional(),
            )
            .build_ref()
    }

    pub(in crate::packed) fn user(schema: &SchemaRef, id: i64) -> Record {
        let value = Struct::from_values(
            schema.clone(),
            vec![
                Value::Int64(id),
                Value::from("ada"),
                Value::Array(vec![Value::from("x")]),
                Value::Map(vec![(Value::from("k"), Value::Int32(-1))]),
            ],
        )
        .unwrap();
        Record::new("users")
            .with_value(Some(schema.clone()), Value::Struct(value))
            .with_partition(2)
            .with_timestamp(-5)
            .with_header("h", Some(Schema::float64().into_ref()), 0.5f64)
    }

    #[test]
    fn batches_round_trip_sharing_one_schema() {
        let schema = user_schema();
        let records: Vec<Record> = (0..4).map(|i| user(&schema, i)).collect();
        let mut e = Encoder::with_capacity(4);
        records.iter().for_each(|r| e.batch_item(r));
        let bytes = e.finish();
        let back: Vec<Record> = decode_batch(&bytes)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, records);
        // One struct schema entry plus one per header schema Arc (equal, so shared too).
        let mut r = Reader::new(&bytes).unwrap();
        assert_eq!(r.len().unwrap(), 4);
        assert_eq!(r.len().unwrap(), 2);
        // Decoded records share one Arc per table entry.
        let a = back[0].value_schema.as_ref().unwrap();
        let b = back[3].value_schema.as_ref().unwrap();
        assert!(Arc::ptr_eq(a, b));
    }

    #[test]
    fn a_record_that_does_not_fit_its_schema_fails_alone() {
        let schema = user_schema();
        let good = user(&schema, 1);
        // Hand-write a batch whose second record claims the struct schema with 1 field.
        let mut e = Encoder::with_capacity(3);
        e.batch_item(&good);
        e.count += 1;
        e.body.str("users");
        e.body.opt_svar(None);
        e.body.opt_svar(None);
        e.body.opt_svar(None);
        e.body.u8(0);
        e.body.schema_ref(None);
        e.body.u8(tag::NULL);
        e.body.schema_ref(Some(0));
        e.body.u8(tag::STRUCT);
        e.body.len(1);
        e.body.u8(tag::INT64);
        e.body.svar(9);
        e.body.len(0);
        e.batch_item(&good);
        let out = decode_batch(&e.finish()).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].as_ref().unwrap(), &good);
        let err = out[1].as_ref().unwrap_err();
        assert!(
            err.0.contains("record value: struct value has 1 fields"),
            "{err}"
        );
        assert_eq!(out[2].as_ref().unwrap(), &good);
    }

    #[test]
    fn borrowed_records_are_the_owned_records_and_borrow_top_level_strings_and_bytes() {
        let schema = user_schema();
        let string = Schema::string().into_ref();
        let mut records: Vec<Record> = (0..3).map(|i| user(&schema, i)).collect();
        records.push(
            Record::new("lines")
                .with_key(None, Value::Bytes(vec![0, 159, 1]))
                .with_value(Some(string), "a line"),
        );
        records.push(Record::new("lines").with_value(None, Value::Int64(7)));
        let mut e = Encoder::with_capacity(records.len());
        records.iter().for_each(|r| e.batch_item(r));
        let bytes = e.finish();
        let borrowed: Vec<RecordRef<'_>> = decode_batch_borrowed(&bytes)
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(borrowed[3].key, ValueRef::Bytes(&[0, 159, 1]));
        assert_eq!(borrowed[3].value, ValueRef::Str("a line"));
        assert_eq!(borrowed[4].value, ValueRef::Owned(Value::Int64(7)));
        let owned: Vec<Record> = borrowed.into_iter().map(RecordRef::into_record).collect();
        assert_eq!(owned, records);
    }

    #[test]
    fn broken_bytes_fail_the_payload_with_a_position() {
        let schema = user_schema();
        let mut e = Encoder::with_capacity(1);
        e.batch_item(&user(&schema, 1));
        let bytes = e.finish();
        let err = decode_batch(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(err.message.contains("ends early"), "{err}");
    }
}

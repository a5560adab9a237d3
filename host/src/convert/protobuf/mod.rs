//! `io.confluent.connect.protobuf.ProtobufConverter`: Connect data <-> protobuf in Confluent's
//! wire format (magic byte 0, the schema's 4-byte big-endian registry id, the message-index
//! list as zigzag varints — a single `0` for the file's first message —, then the message),
//! with the record's `.proto` schema kept in a Schema Registry (`schemaType` `PROTOBUF`).
//!
//! Design decision: `.proto` text is compiled with `protox` (a maintained, pure-Rust protobuf
//! compiler, MIT/Apache-2.0, built on `prost-reflect`'s descriptors) once per schema id into a
//! decoding plan; the wire format itself is read and written here, straight between bytes and
//! Connect values (no dynamic-message objects per record). Framing and registry caches are
//! the shared [`FramedConverter`]'s.

mod codec;
pub(crate) mod proto_file;
pub(crate) mod schema;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use parking_lot::Mutex;
use prost_reflect::{FileDescriptor, MessageDescriptor};

use crate::config::Config;
use crate::convert::framed::{flag, Format, FramedConverter};
use crate::convert::ConvertError;
use crate::data::{Schema, SchemaRef, Value};

use schema::{MessagePlan, Options, ReadOptions};

/// Message-index paths deeper than this are refused (no real schema nests that deep).
const MAX_INDEX_DEPTH: usize = 16;

/// The Protobuf format of [`ProtobufConverter`].
pub(crate) struct Protobuf {
    write: Options,
    read: ReadOptions,
}

impl Protobuf {
    pub(crate) fn from_props(props: &Config) -> Result<Self, ConvertError> {
        for key in [
            "wrapper.for.nullables",
            "scrub.invalid.names",
            "generate.index.for.unions",
        ] {
            if flag(props, key, false)? {
                return Err(ConvertError::new(format!(
                    "{key}=true is not supported by Sluice's ProtobufConverter (only its default, false)"
                )));
            }
        }
        Ok(Protobuf {
            write: Options {
                optional_for_nullables: flag(props, "optional.for.nullables", false)?,
            },
            read: ReadOptions {
                full_names: flag(props, "enhanced.protobuf.schema.support", false)?,
            },
        })
    }

    fn compile_file(&self, text: &str) -> Result<FileDescriptor, ConvertError> {
        proto_file::compile(text, &[])
            .map_err(|e| ConvertError::new(format!("the Protobuf schema does not compile: {e}")))
    }
}

/// A compiled registry schema: its file, and the decoding plans of the messages records
/// named by their message indexes (the first message's plan first).
pub(crate) struct ProtoReader {
    file: FileDescriptor,
    plans: Mutex<Vec<(Vec<i64>, Arc<MessagePlan>)>>,
    first: Arc<MessagePlan>,
}

/// The message a message-index path names: the file's top-level messages, then nested ones.
fn message_at(file: &FileDescriptor, path: &[i64]) -> Option<MessageDescriptor> {
    let (first, rest) = path.split_first()?;
    let mut m = file.messages().nth(usize::try_from(*first).ok()?)?;
    for i in rest {
        let child = m.child_messages().nth(usize::try_from(*i).ok()?)?;
        m = child;
    }
    Some(m)
}

impl Format for Protobuf {
    type Reader = ProtoReader;

    fn name(&self) -> &'static str {
        "Protobuf"
    }
    fn schema_type(&self) -> &'static str {
        "PROTOBUF"
    }
    /// The message's full name.
    fn record_name(&self, schema: &Schema) -> String {
        match schema::root_name(schema) {
            (Some(p), n) => format!("{p}.{n}"),
            (None, n) => n,
        }
    }
    fn schema_text(&self, schema: &Schema) -> Result<String, ConvertError> {
        schema::to_proto(schema, self.write)
    }
    fn same_text(&self, a: &str, b: &str) -> bool {
        match (proto_file::compile(a, &[]), proto_file::compile(b, &[])) {
            (Ok(a), Ok(b)) => proto_file::print(&a) == proto_file::print(&b),
            _ => false,
        }
    }
    fn compile(&self, text: &str) -> Result<ProtoReader, ConvertError> {
        let file = self.compile_file(text)?;
        let root = message_at(&file, &[0])
            .ok_or_else(|| ConvertError::new("the Protobuf schema has no message"))?;
        let first = schema::plan(&root, self.read)?;
        Ok(ProtoReader {
            file,
            plans: Mutex::new(Vec::new()),
            first,
        })
    }
    fn write(&self, out: &mut Vec<u8>, schema: &Schema, value: &Value) -> Result<(), ConvertError> {
        // The message-index list of the schema's first (only top-level) message: `0`.
        out.push(0);
        codec::write_message(out, schema, value, self.write.optional_for_nullables)
    }
    fn read(
        &self,
        reader: &ProtoReader,
        payload: &[u8],
    ) -> Result<(SchemaRef, Value), ConvertError> {
        let mut pos = 0;
        let count = codec::read_zigzag(payload, &mut pos)?;
        let plan = if count == 0 {
            reader.first.clone()
        } else {
            let count = usize::try_from(count)
                .ok()
                .filter(|c| *c <= MAX_INDEX_DEPTH)
                .ok_or_else(|| ConvertError::new(format!("invalid message-index count {count}")))?;
            let mut path = [0i64; MAX_INDEX_DEPTH];
            for slot in path.iter_mut().take(count) {
                *slot = codec::read_zigzag(payload, &mut pos)?;
            }
            let path = &path[..count];
            if path == [0] {
                reader.first.clone()
            } else {
                let mut plans = reader.plans.lock();
                match plans.iter().find(|(p, _)| p == path) {
                    Some((_, plan)) => plan.clone(),
                    None => {
                        let m = message_at(&reader.file, path).ok_or_else(|| {
                            ConvertError::new(format!(
                                "the message indexes {path:?} name no message of the schema"
                            ))
                        })?;
                        let plan = schema::plan(&m, self.read)?;
                        plans.push((path.to_vec(), plan.clone()));
                        plan
                    }
                }
            }
        };
        let value = codec::read_message(&payload[pos..], &plan)?;
        Ok((plan.schema.clone(), value))
    }
}

/// `io.confluent.connect.protobuf.ProtobufConverter`.
#[allow(private_interfaces)]
pub type ProtobufConverter = FramedConverter<Protobuf>;

impl ProtobufConverter {
    pub fn from_props(props: &Config, is_key: bool) -> Result<Self, ConvertError> {
        FramedConverter::with_format(Protobuf::from_props(props)?, props, is_key)
    }
}

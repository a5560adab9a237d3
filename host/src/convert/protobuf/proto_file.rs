//! `.proto` files as the Schema Registry keeps them: compiled from text (or from a base64
//! `FileDescriptorProto`, which Confluent's clients also send) with `protox`, a pure-Rust
//! protobuf compiler, and printed back as canonical `.proto` text.
//!
//! Design decision: imports resolve against the well-known `google/protobuf/*` files, the few
//! files Confluent's Protobuf mapping uses (`confluent/meta.proto`,
//! `confluent/type/decimal.proto`, `google/type/date.proto`, `google/type/timeofday.proto`,
//! bundled here as short sources) and the schema's registry references (by import name);
//! nothing is read from disk.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use prost_reflect::{
    Cardinality, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, Syntax,
    Value as PValue,
};
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// The name the registry's schema itself compiles under.
pub(crate) const MAIN_FILE: &str = "schema.proto";

pub(crate) const META_FILE: &str = "confluent/meta.proto";
pub(crate) const DECIMAL_FILE: &str = "confluent/type/decimal.proto";
pub(crate) const DATE_FILE: &str = "google/type/date.proto";
pub(crate) const TIME_FILE: &str = "google/type/timeofday.proto";
pub(crate) const TIMESTAMP_FILE: &str = "google/protobuf/timestamp.proto";

const BUNDLED: &[(&str, &str)] = &[
    (
        META_FILE,
        r#"syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
"#,
    ),
    (
        DECIMAL_FILE,
        r#"syntax = "proto3";
package confluent.type;
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"#,
    ),
    (
        DATE_FILE,
        r#"syntax = "proto3";
package google.type;
message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}
"#,
    ),
    (
        TIME_FILE,
        r#"syntax = "proto3";
package google.type;
message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}
"#,
    ),
];

/// Resolves the schema itself, its references and the bundled files.
struct Sources {
    main: File,
    references: HashMap<String, String>,
}

impl FileResolver for Sources {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == MAIN_FILE {
            return Ok(self.main.clone());
        }
        if let Some(text) = self.references.get(name) {
            return source_file(name, text);
        }
        match BUNDLED.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => File::from_source(n, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A schema as the registry may receive it: `.proto` text or a base64 `FileDescriptorProto`.
fn source_file(name: &str, text: &str) -> Result<File, protox::Error> {
    let trimmed = text.trim();
    let looks_base64 =
        !trimmed.is_empty() && !trimmed.contains(char::is_whitespace) && !trimmed.contains(';');
    if looks_base64 {
        if let Some(bytes) = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .ok()
            .and_then(|b| renamed(&b, name))
        {
            // Decoded from bytes (not through prost-types) so extension options such as
            // `confluent.field_meta` survive.
            if let Ok(file) = File::decode_file_descriptor_proto(bytes::Bytes::from(bytes)) {
                return Ok(file);
            }
        }
    }
    File::from_source(name, text)
}

/// An encoded `FileDescriptorProto` with its `name` (field 1) replaced by `name`: the name the
/// sender gave its file is not the registry's. `None` when the bytes are not a message.
fn renamed(encoded: &[u8], name: &str) -> Option<Vec<u8>> {
    use super::codec::{read_varint, skip_field};
    let mut out = Vec::with_capacity(encoded.len() + name.len() + 2);
    out.push(0x0a);
    super::codec::write_varint(&mut out, name.len() as u64);
    out.extend_from_slice(name.as_bytes());
    let mut pos = 0;
    while pos < encoded.len() {
        let start = pos;
        let tag = read_varint(encoded, &mut pos).ok()?;
        skip_field(encoded, &mut pos, (tag & 7) as u8).ok()?;
        if tag >> 3 != 1 {
            out.extend_from_slice(&encoded[start..pos]);
        }
    }
    Some(out)
}

/// Compiles a registry schema (`.proto` text or base64 descriptor) with its references
/// (import name -> schema text).
pub(crate) fn compile(
    text: &str,
    references: &[(String, String)],
) -> Result<FileDescriptor, String> {
    let main = source_file(MAIN_FILE, text).map_err(|e| e.to_string())?;
    let mut chain = ChainFileResolver::new();
    chain.add(Sources {
        main,
        references: references.iter().cloned().collect(),
    });
    chain.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(chain);
    compiler.include_imports(true);
    compiler.open_file(MAIN_FILE).map_err(|e| e.to_string())?;
    compiler
        .descriptor_pool()
        .get_file_by_name(MAIN_FILE)
        .ok_or_else(|| "the compiled schema is missing".to_string())
}

/// The base64 `FileDescriptorProto` of a compiled schema (`?format=serialized`).
pub(crate) fn serialized(file: &FileDescriptor) -> String {
    // `encode_to_vec` keeps extension options (`confluent.field_meta`), which the prost-types
    // form would drop.
    base64::engine::general_purpose::STANDARD.encode(file.encode_to_vec())
}

/// The `confluent.field_meta` params of a field (`scale`, `precision`, `connect.type`).
pub(crate) fn field_params(field: &FieldDescriptor) -> Vec<(String, String)> {
    let options = field.options();
    let mut out = Vec::new();
    for (ext, value) in options.extensions() {
        if ext.full_name() != "confluent.field_meta" {
            continue;
        }
        if let PValue::Message(meta) = value {
            if let Some(params) = meta.get_field_by_name("params") {
                if let PValue::Map(m) = params.as_ref() {
                    for (k, v) in m {
                        if let (prost_reflect::MapKey::String(k), PValue::String(v)) = (k, v) {
                            out.push((k.clone(), v.clone()));
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------

/// Canonical `.proto` text of a compiled file: syntax, package, imports, then messages and
/// enums in declaration order. Custom options other than `confluent.field_meta` are dropped.
pub(crate) fn print(file: &FileDescriptor) -> String {
    let mut out = String::new();
    let proto3 = file.syntax() == Syntax::Proto3;
    let _ = writeln!(
        out,
        "syntax = \"{}\";",
        if proto3 { "proto3" } else { "proto2" }
    );
    if !file.package_name().is_empty() {
        let _ = writeln!(out, "package {};", file.package_name());
    }
    let deps: Vec<FileDescriptor> = file.dependencies().collect();
    if !deps.is_empty() {
        out.push('\n');
        for d in deps {
            let _ = writeln!(out, "import \"{}\";", d.name());
        }
    }
    for m in file.messages() {
        out.push('\n');
        print_message(&mut out, &m, proto3, 0);
    }
    for e in file.enums() {
        out.push('\n');
        print_enum(&mut out, &e, 0);
    }
    out
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// A type reference relative to nothing: the full name with a leading dot, as protoc
/// resolves it unambiguously.
fn type_name(field: &FieldDescriptor) -> String {
    match field.kind() {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    }
}

fn print_field(out: &mut String, f: &FieldDescriptor, proto3: bool, depth: usize) {
    indent(out, depth);
    if f.is_map() {
        if let Kind::Message(entry) = f.kind() {
            let k = entry.map_entry_key_field();
            let v = entry.map_entry_value_field();
            let _ = write!(out, "map<{}, {}> ", type_name(&k), type_name(&v));
        }
    } else {
        let proto3_optional = f.field_descriptor_proto().proto3_optional();
        match f.cardinality() {
            Cardinality::Repeated => out.push_str("repeated "),
            Cardinality::Required => out.push_str("required "),
            Cardinality::Optional if !proto3 || proto3_optional => out.push_str("optional "),
            Cardinality::Optional => {}
        }
        let _ = write!(out, "{} ", type_name(f));
    }
    let _ = write!(out, "{} = {}", f.name(), f.number());
    let params = field_params(f);
    let mut options = Vec::new();
    if !params.is_empty() {
        let entries: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{{ key: {k:?} value: {v:?} }}"))
            .collect();
        options.push(format!(
            "(confluent.field_meta) = {{ params: [{}] }}",
            entries.join(", ")
        ));
    }
    if !proto3 && f.is_packed() {
        options.push("packed = true".into());
    }
    if !options.is_empty() {
        let _ = write!(out, " [{}]", options.join(", "));
    }
    out.push_str(";\n");
}

fn print_message(out: &mut String, m: &MessageDescriptor, proto3: bool, depth: usize) {
    indent(out, depth);
    let _ = writeln!(out, "message {} {{", m.name());
    for f in m.fields() {
        match f.containing_oneof().filter(|o| !o.is_synthetic()) {
            // Printed with their oneof below.
            Some(_) => {}
            None => print_field(out, &f, proto3, depth + 1),
        }
    }
    for o in m.oneofs().filter(|o| !o.is_synthetic()) {
        indent(out, depth + 1);
        let _ = writeln!(out, "oneof {} {{", o.name());
        for f in o.fields() {
            print_field(out, &f, proto3, depth + 2);
        }
        indent(out, depth + 1);
        out.push_str("}\n");
    }
    for child in m.child_messages().filter(|c| !c.is_map_entry()) {
        print_message(out, &child, proto3, depth + 1);
    }
    for e in m.child_enums() {
        print_enum(out, &e, depth + 1);
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn print_enum(out: &mut String, e: &EnumDescriptor, depth: usize) {
    indent(out, depth);
    let _ = writeln!(out, "enum {} {{", e.name());
    for v in e.values() {
        indent(out, depth + 1);
        let _ = writeln!(out, "{} = {};", v.name(), v.number());
    }
    indent(out, depth);
    out.push_str("}\n");
}

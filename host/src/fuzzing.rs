//! Entry points of the fuzz targets in `host/fuzz/` (`cargo xtask fuzz`): each takes
//! arbitrary input to one parser of untrusted text and checks the properties that must hold
//! for every input, panicking when one does not. Not an API: it exists so the targets can
//! reach parsers that are private to their modules, and so the unit tests below can replay
//! the kept corpus (`host/fuzz/corpus/`) on every `cargo xtask test` without libFuzzer.

use std::path::Path;

use crate::convert::{JsonConverter, JsonConverterConfig, SimpleHeaderConverter};
use crate::wasm::{NetworkPolicy, Proto};

/// One fuzz target's check of an input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by the name of their `host/fuzz/fuzz_targets/<name>.rs` and corpus folder.
pub const TARGETS: [(&str, Check); 5] = [
    ("properties", properties),
    ("connector_json", connector_json),
    ("json_converter", json_converter),
    ("header_converter", header_converter),
    ("allow_list", allow_list),
];

/// A `.properties` worker or connector file: parsed or refused with the file's line, never a
/// panic.
pub fn properties(bytes: &[u8]) {
    check_config_file(Path::new("fuzz.properties"), bytes);
}

/// A `.json` connector file (`{"name":…,"config":{…}}` or flat).
pub fn connector_json(bytes: &[u8]) {
    check_config_file(Path::new("fuzz.json"), bytes);
}

fn check_config_file(path: &Path, bytes: &[u8]) {
    match crate::config::parse_connector(path, bytes) {
        Ok(config) => {
            // The last duplicate wins: a key occurs once.
            let mut keys: Vec<&str> = config.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            let n = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), n, "a key occurs twice in {config:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(&path.display().to_string()),
                "the error does not name the file: {message}"
            );
        }
    }
}

/// A Kafka record value read by the JsonConverter, with schemas and without: no panic; what
/// it accepts it writes back, and reads back from that to the same data (write ∘ read is a
/// fixed point); and a second read of the same bytes, which comes from the schema cache,
/// equals the first.
pub fn json_converter(bytes: &[u8]) {
    for schemas_enable in [true, false] {
        let converter = JsonConverter::new(JsonConverterConfig {
            schemas_enable,
            ..JsonConverterConfig::default()
        });
        let Ok(data) = converter.deserialize(Some(bytes)) else {
            continue;
        };
        let again = converter
            .deserialize(Some(bytes))
            .expect("the same bytes read twice");
        assert_eq!(data, again, "the cached schema read differs");
        let written = converter
            .serialize(&data)
            .unwrap_or_else(|e| panic!("read {data:?} but cannot write it: {e}"));
        let fresh = JsonConverter::new(converter.config());
        let reread = fresh
            .deserialize(written.as_deref())
            .unwrap_or_else(|e| panic!("cannot read what was written for {data:?}: {e}"));
        let rewritten = fresh.serialize(&reread).expect("write the re-read data");
        assert_eq!(written, rewritten, "write ∘ read is not a fixed point");
    }
}

/// A header value read by the SimpleHeaderConverter: no panic; what it reads it writes back
/// to a value that reads the same.
pub fn header_converter(bytes: &[u8]) {
    let converter = SimpleHeaderConverter;
    let Ok(data) = converter.deserialize(Some(bytes)) else {
        return;
    };
    let written = converter
        .serialize(&data)
        .unwrap_or_else(|e| panic!("read {data:?} but cannot write it: {e}"));
    let reread = converter
        .deserialize(written.as_deref())
        .expect("read what was written");
    assert_eq!(
        converter.serialize(&reread).expect("write again"),
        written,
        "write ∘ read is not a fixed point"
    );
}

/// A `wasm.network.allow` / `wasm.network.udp.allow` value: accepted, or refused with a
/// message that names the key and the accepted forms.
pub fn allow_list(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for proto in [Proto::Tcp, Proto::Udp] {
        let mut policy = NetworkPolicy::default();
        match policy.add(proto, &text) {
            Ok(()) => {
                // Matching any name the input holds must not panic either.
                for word in text.split([',', ' ', ':']) {
                    let _ = policy.name_matches(word);
                }
            }
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.contains(proto.key()),
                    "the error does not name its key: {message}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TARGETS;

    /// Every input kept in `host/fuzz/corpus/<target>/` (seeds and what libFuzzer found)
    /// still holds each target's properties: the fuzz targets' regression test.
    #[test]
    fn the_kept_fuzz_corpus_holds_every_property() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        for (name, check) in TARGETS {
            let dir = root.join(name);
            let mut inputs = 0;
            for entry in
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            {
                let path = entry.expect("a corpus entry").path();
                let bytes = std::fs::read(&path).expect("a corpus file");
                let outcome = std::panic::catch_unwind(|| check(&bytes));
                assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                inputs += 1;
            }
            assert!(inputs > 0, "{name}: no inputs in {}", dir.display());
        }
    }
}

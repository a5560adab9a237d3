//! `io.confluent.connect.s3.format.avro.AvroFormat`: each object is an Avro Object Container
//! File (Avro 1.x spec: `Obj\x01`, the metadata map with `avro.schema` and `avro.codec`, a
//! 16-byte sync marker, then blocks of records), as Confluent's `AvroRecordWriterProvider`
//! writes it through Avro Java's `DataFileWriter`. The writer schema is the records' Connect
//! schema mapped as Confluent's `AvroData` does ([`schema`]); values are encoded by
//! [`datum`].
//!
//! Design decision: the sync marker is derived from the object key (the first 16 bytes of
//! its SHA-256) instead of being random as in Avro Java, so a replay after a crash writes
//! byte-identical objects, not only objects with the same records. Readers only need the
//! marker to be the same within one file.

pub mod datum;
pub mod schema;

use sha2::{Digest, Sha256};

/// Avro Java's default sync interval: a block is closed once it holds this many bytes.
pub const BLOCK_BYTES: usize = 64_000;

/// `avro.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Null,
    Deflate,
    Snappy,
}

impl Codec {
    pub fn parse(name: &str) -> Result<Codec, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "null" | "" => Ok(Codec::Null),
            "deflate" => Ok(Codec::Deflate),
            "snappy" => Ok(Codec::Snappy),
            other => Err(format!(
                "'{other}' is not available in Sluice; use null, deflate or snappy \
                 (bzip2, xz and zstandard are not implemented)"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Null => "null",
            Codec::Deflate => "deflate",
            Codec::Snappy => "snappy",
        }
    }

    fn compress(self, data: &[u8]) -> Result<Vec<u8>, String> {
        Ok(match self {
            Codec::Null => data.to_vec(),
            // Raw RFC 1951 deflate at zlib's default level, as Avro Java's DeflateCodec(-1).
            Codec::Deflate => miniz_oxide::deflate::compress_to_vec(data, 6),
            // Snappy's raw format, then the CRC-32 of the uncompressed block, big-endian.
            Codec::Snappy => {
                let mut out = snap::raw::Encoder::new()
                    .compress_vec(data)
                    .map_err(|e| format!("snappy compression failed: {e}"))?;
                out.extend_from_slice(&crc32fast::hash(data).to_be_bytes());
                out
            }
        })
    }
}

/// One open container file: its sync marker and the block being filled. The header and the
/// closed blocks go to the caller's buffer (what is uploaded).
#[derive(Debug, Clone)]
pub struct ContainerFile {
    codec: Codec,
    sync: [u8; 16],
    block: Vec<u8>,
    count: i64,
}

impl ContainerFile {
    /// Starts the file `key` with writer schema `schema_text`: appends the header to `out`.
    pub fn start(out: &mut Vec<u8>, key: &str, schema_text: &str, codec: Codec) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut sync = [0u8; 16];
        sync.copy_from_slice(&digest[..16]);
        out.extend_from_slice(b"Obj\x01");
        datum::write_long(out, 2);
        datum::write_bytes(out, b"avro.schema");
        datum::write_bytes(out, schema_text.as_bytes());
        datum::write_bytes(out, b"avro.codec");
        datum::write_bytes(out, codec.name().as_bytes());
        datum::write_long(out, 0);
        out.extend_from_slice(&sync);
        ContainerFile {
            codec,
            sync,
            block: Vec::new(),
            count: 0,
        }
    }

    /// Adds one encoded datum; closes the block into `out` once it holds [`BLOCK_BYTES`].
    pub fn append(&mut self, out: &mut Vec<u8>, datum: &[u8]) -> Result<(), String> {
        self.block.extend_from_slice(datum);
        self.count += 1;
        if self.block.len() >= BLOCK_BYTES {
            self.close_block(out)?;
        }
        Ok(())
    }

    /// Closes the block being filled (if any) into `out`: the file is then complete.
    pub fn close_block(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if self.count == 0 {
            return Ok(());
        }
        let data = self.codec.compress(&self.block)?;
        datum::write_long(out, self.count);
        datum::write_long(out, data.len() as i64);
        out.extend_from_slice(&data);
        out.extend_from_slice(&self.sync);
        self.block.clear();
        self.count = 0;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reads a container file back (null and deflate codecs): the schema text, and each
    /// block's (count, decompressed bytes).
    fn read(file: &[u8]) -> (String, String, Vec<(i64, Vec<u8>)>) {
        fn long(b: &[u8], pos: &mut usize) -> i64 {
            let (mut z, mut shift) = (0u64, 0);
            loop {
                let byte = b[*pos];
                *pos += 1;
                z |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte < 0x80 {
                    break;
                }
            }
            ((z >> 1) as i64) ^ -((z & 1) as i64)
        }
        fn bytes<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
            let n = long(b, pos) as usize;
            *pos += n;
            &b[*pos - n..*pos]
        }
        assert_eq!(&file[..4], b"Obj\x01");
        let mut pos = 4;
        let mut meta = std::collections::BTreeMap::new();
        loop {
            let n = long(file, &mut pos);
            if n == 0 {
                break;
            }
            for _ in 0..n {
                let k = String::from_utf8(bytes(file, &mut pos).to_vec()).unwrap();
                let v = String::from_utf8(bytes(file, &mut pos).to_vec()).unwrap();
                meta.insert(k, v);
            }
        }
        let sync = &file[pos..pos + 16];
        pos += 16;
        let codec = meta["avro.codec"].clone();
        let mut blocks = Vec::new();
        while pos < file.len() {
            let count = long(file, &mut pos);
            let data = bytes(file, &mut pos);
            let data = match codec.as_str() {
                "deflate" => miniz_oxide::inflate::decompress_to_vec(data).unwrap(),
                "snappy" => {
                    let raw = snap::raw::Decoder::new()
                        .decompress_vec(&data[..data.len() - 4])
                        .unwrap();
                    assert_eq!(crc32fast::hash(&raw).to_be_bytes(), data[data.len() - 4..]);
                    raw
                }
                _ => data.to_vec(),
            };
            assert_eq!(&file[pos..pos + 16], sync);
            pos += 16;
            blocks.push((count, data));
        }
        (meta["avro.schema"].clone(), codec, blocks)
    }

    #[test]
    fn container_files_hold_header_blocks_and_the_same_sync_marker() {
        for codec in [Codec::Null, Codec::Deflate, Codec::Snappy] {
            let mut out = Vec::new();
            let mut f = ContainerFile::start(&mut out, "k.avro", r#"{"type":"long"}"#, codec);
            let mut expected = Vec::new();
            for n in 0..40_000i64 {
                let mut d = Vec::new();
                datum::write_long(&mut d, n);
                expected.extend_from_slice(&d);
                f.append(&mut out, &d).unwrap();
            }
            f.close_block(&mut out).unwrap();
            let (schema, name, blocks) = read(&out);
            assert_eq!(schema, r#"{"type":"long"}"#);
            assert_eq!(name, codec.name());
            assert!(blocks.len() > 1, "{codec:?}: more than one block");
            assert_eq!(blocks.iter().map(|b| b.0).sum::<i64>(), 40_000);
            assert_eq!(blocks.concat_bytes(), expected, "{codec:?}");
        }
        // Same key, same bytes.
        let mut a = Vec::new();
        let mut b = Vec::new();
        ContainerFile::start(&mut a, "x", "\"int\"", Codec::Null);
        ContainerFile::start(&mut b, "x", "\"int\"", Codec::Null);
        assert_eq!(a, b);
        assert!(Codec::parse("zstandard")
            .unwrap_err()
            .contains("null, deflate or snappy"));
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Vec<(i64, Vec<u8>)> {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|(_, b)| b.iter().copied()).collect()
        }
    }
}

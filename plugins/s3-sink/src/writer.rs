//! One Kafka partition's files: Confluent's `TopicPartitionWriter`, synchronous.
//!
//! Records are appended to the open file of their encoded partition (an object key that
//! embeds the offset of its first record); a rotation completes every open file at once and
//! moves the partition's committable offset past the last record written. Rotation happens
//! when a file reaches `flush.size` records, when `rotate.interval.ms` of record time has
//! passed since the first record of the files (TimeBased partitioners only; a record for
//! another encoded partition also rotates then), or at the wall-clock times
//! `rotate.schedule.interval.ms` sets (aligned to the day in `timezone`), and when a record's
//! value schema differs from the previous record's (Confluent's `schema.compatibility=NONE`,
//! so an Avro or Parquet file has one writer schema).
//!
//! Design decisions:
//! - Exactly-once objects: a file is named after its first offset and holds a run of
//!   offsets decided by the records alone (except for the wall-clock schedule), and the
//!   consumer offset is committed only up to completed files. A replay after a crash starts at
//!   a file boundary and rewrites the same objects under the same names.
//! - Idempotent `put`: a record at an offset this writer has already taken is skipped, so a
//!   `put` retried after a failed upload, or records re-read after a rebalance, never appear
//!   twice in a file.
//! - Memory: a file's bytes are held until `s3.part.size` accumulate, then sent as one part of
//!   a multipart upload; a file that never reaches a part is sent with a single PUT.

use std::sync::Arc;

use chrono_tz::Tz;
use sluice_plugin_sdk::{Record, SchemaRef};

use crate::avro::schema::avro_schema_text;
use crate::avro::ContainerFile;
use crate::format::Format;
use crate::parquet_file::ParquetFile;
use crate::partitioner::Partitioner;
use crate::path_format::bucket_start;
use crate::store::{Store, StoreError};

/// `behavior.on.null.values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullValues {
    Fail,
    Ignore,
}

/// Everything that decides file boundaries and names.
#[derive(Debug, Clone)]
pub struct Settings {
    pub topics_dir: String,
    pub directory_delim: String,
    pub file_delim: String,
    pub flush_size: u64,
    /// `rotate.interval.ms`; 0 or less: off.
    pub rotate_interval_ms: i64,
    /// `rotate.schedule.interval.ms`; 0 or less: off.
    pub rotate_schedule_interval_ms: i64,
    /// `timezone`, for the rotation schedule.
    pub tz: Tz,
    pub part_size: usize,
    pub zero_pad_width: usize,
    pub null_values: NullValues,
    pub format: Format,
    pub partitioner: Partitioner,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// In an open file.
    Written,
    /// Taken before (a retry or a replay), or an ignored null value.
    Skipped,
    /// Not written: this record cannot be (its value or its partition field); the message
    /// says why.
    Failed(String),
}

struct OpenFile {
    encoded: String,
    key: String,
    /// Bytes not uploaded yet.
    buf: Vec<u8>,
    /// The multipart upload, once the file outgrew one part: its id and the parts sent.
    upload: Option<(String, Vec<(u32, String)>)>,
    /// AvroFormat: the container file's open block (header and closed blocks are in `buf`).
    avro: Option<ContainerFile>,
    /// ParquetFormat: the file's open row group (magic bytes and closed row groups are in
    /// `buf`).
    parquet: Option<Box<ParquetFile>>,
}

/// The files of one Kafka partition.
pub struct PartitionWriter {
    topic: String,
    partition: i32,
    files: Vec<OpenFile>,
    current_encoded: Option<String>,
    /// The value schema of the last record written to the open files.
    current_schema: Option<SchemaRef>,
    record_count: u64,
    base_timestamp: Option<i64>,
    /// Offset of the last record written to an open file.
    current_offset: i64,
    /// The offset after the last record this writer took (written, skipped or failed).
    next_offset: Option<i64>,
    /// The offset after the last record in completed files: what may be committed.
    committable: Option<i64>,
    next_scheduled_rotation: Option<i64>,
    /// A rotation started but not finished (an upload failed): finish it before anything else.
    rotation_pending: bool,
    scratch: Vec<u8>,
}

impl PartitionWriter {
    pub fn new(topic: &str, partition: i32, settings: &Settings, now_ms: i64) -> Self {
        let mut w = PartitionWriter {
            topic: topic.to_string(),
            partition,
            files: Vec::new(),
            current_encoded: None,
            current_schema: None,
            record_count: 0,
            base_timestamp: None,
            current_offset: -1,
            next_offset: None,
            committable: None,
            next_scheduled_rotation: None,
            rotation_pending: false,
            scratch: Vec::new(),
        };
        w.schedule_next_rotation(settings, now_ms);
        w
    }

    /// The offset the consumer may commit: past every record in a completed file (or past
    /// everything taken, when no file is open).
    pub fn committable(&self) -> Option<i64> {
        if self.files.is_empty() && !self.rotation_pending {
            return match (self.committable, self.next_offset) {
                (Some(c), Some(n)) => Some(c.max(n)),
                (c, n) => c.or(n),
            };
        }
        self.committable
    }

    /// Keys of the files open now (for tests and logs).
    pub fn open_keys(&self) -> Vec<String> {
        self.files.iter().map(|f| f.key.clone()).collect()
    }

    /// Takes one record: rotates first when it is due, writes the record to its file, uploads
    /// a part when the file holds `s3.part.size` bytes, rotates after `flush.size` records.
    pub fn write(
        &mut self,
        record: &Record,
        settings: &Settings,
        store: &mut dyn Store,
        now_ms: i64,
    ) -> Result<Written, StoreError> {
        if self.rotation_pending {
            self.commit_files(store)?;
        }
        let offset = record.offset.unwrap_or(-1);
        if self.next_offset.is_some_and(|next| offset < next) {
            return Ok(Written::Skipped);
        }
        if record.value.is_null() {
            self.next_offset = Some(offset + 1);
            return Ok(match settings.null_values {
                NullValues::Ignore => Written::Skipped,
                NullValues::Fail => Written::Failed(format!(
                    "Null valued record from topic '{}', partition {} and offset {} was \
                     failed (the configuration property 'behavior.on.null.values' is 'fail')",
                    record.topic,
                    record.partition.unwrap_or(-1),
                    offset
                )),
            });
        }
        let timestamp = match settings.partitioner.record_time(record, now_ms) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => return Ok(self.fail(offset, e)),
        };
        let encoded = match settings.partitioner.encode(record, now_ms) {
            Ok(e) => e,
            Err(e) => return Ok(self.fail(offset, e)),
        };
        self.scratch.clear();
        if let Err(e) = settings.format.write(&mut self.scratch, record) {
            return Ok(self.fail(offset, e));
        }
        if self.record_count > 0
            && !same_schema(self.current_schema.as_ref(), record.value_schema.as_ref())
        {
            // Confluent's TopicPartitionWriter with schema.compatibility=NONE: a new schema
            // completes every open file of the partition.
            self.commit_files(store)?;
        }
        if self.rotate_on_time(settings, &encoded, timestamp, now_ms) {
            self.schedule_next_rotation(settings, now_ms);
            self.commit_files(store)?;
        }
        if self.base_timestamp.is_none() {
            self.base_timestamp = timestamp;
        }
        let index = match self.files.iter().position(|f| f.encoded == encoded) {
            Some(i) => i,
            None => {
                let key = self.key(settings, &encoded, offset);
                let mut buf = Vec::new();
                let avro = match (&settings.format, record.value_schema.as_deref()) {
                    (Format::Avro(codec), Some(schema)) => match avro_schema_text(schema) {
                        Ok(text) => Some(ContainerFile::start(&mut buf, &key, &text, *codec)),
                        Err(e) => {
                            return Ok(self.fail(offset, format!("AvroFormat: {e}")));
                        }
                    },
                    _ => None,
                };
                let parquet = match (&settings.format, record.value_schema.as_deref()) {
                    (Format::Parquet(codec), Some(schema)) => {
                        match ParquetFile::start(&mut buf, schema, *codec) {
                            Ok(file) => Some(Box::new(file)),
                            Err(e) => {
                                return Ok(self.fail(offset, format!("ParquetFormat: {e}")));
                            }
                        }
                    }
                    _ => None,
                };
                self.files.push(OpenFile {
                    encoded: encoded.clone(),
                    key,
                    buf,
                    upload: None,
                    avro,
                    parquet,
                });
                self.files.len() - 1
            }
        };
        let file = &mut self.files[index];
        match (
            &mut file.avro,
            &mut file.parquet,
            record.value_schema.as_deref(),
        ) {
            (Some(container), _, _) => container
                .append(&mut file.buf, &self.scratch)
                .map_err(StoreError::Fatal)?,
            (None, Some(parquet), Some(schema)) => parquet
                .append(&mut file.buf, schema, &record.value)
                .map_err(StoreError::Fatal)?,
            _ => file.buf.extend_from_slice(&self.scratch),
        }
        self.current_encoded = Some(encoded);
        if !same_schema(self.current_schema.as_ref(), record.value_schema.as_ref()) {
            self.current_schema = record.value_schema.clone();
        }
        self.current_offset = offset;
        self.next_offset = Some(offset + 1);
        self.record_count += 1;
        if file.buf.len() >= settings.part_size {
            upload_part(file, store)?;
        }
        if self.record_count >= settings.flush_size {
            self.commit_files(store)?;
        }
        Ok(Written::Written)
    }

    /// Completes the files when the rotation schedule says so, also without new records.
    pub fn rotate_if_scheduled(
        &mut self,
        settings: &Settings,
        store: &mut dyn Store,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if self.rotation_pending {
            return self.commit_files(store);
        }
        let due = self
            .next_scheduled_rotation
            .is_some_and(|next| now_ms >= next);
        if due && self.record_count > 0 {
            self.schedule_next_rotation(settings, now_ms);
            self.commit_files(store)?;
        } else if due {
            self.schedule_next_rotation(settings, now_ms);
        }
        Ok(())
    }

    /// Abandons the open files (their multipart uploads are aborted, best effort): the task
    /// stops, and their records will be read again from the committed offset.
    pub fn abandon(&mut self, store: &mut dyn Store) {
        for f in self.files.drain(..) {
            if let Some((id, _)) = &f.upload {
                let _ = store.abort_multipart(&f.key, id);
            }
        }
    }

    fn fail(&mut self, offset: i64, message: String) -> Written {
        self.next_offset = Some(offset + 1);
        Written::Failed(message)
    }

    fn rotate_on_time(
        &self,
        settings: &Settings,
        encoded: &str,
        timestamp: Option<i64>,
        now_ms: i64,
    ) -> bool {
        if self.record_count == 0 {
            return false;
        }
        let periodic = settings.rotate_interval_ms > 0
            && match (timestamp, self.base_timestamp) {
                (Some(t), Some(base)) => {
                    t - base >= settings.rotate_interval_ms
                        || self.current_encoded.as_deref() != Some(encoded)
                }
                _ => false,
            };
        let scheduled = self
            .next_scheduled_rotation
            .is_some_and(|next| now_ms >= next);
        periodic || scheduled
    }

    /// Confluent's `DateTimeUtils.getNextTimeAdjustedByDay`: the next multiple of the interval
    /// counted from the start of the local day.
    fn schedule_next_rotation(&mut self, settings: &Settings, now_ms: i64) {
        let interval = settings.rotate_schedule_interval_ms;
        if interval <= 0 {
            return;
        }
        let start_of_day = bucket_start(86_400_000, now_ms, &settings.tz);
        let since = now_ms - start_of_day;
        self.next_scheduled_rotation = Some(start_of_day + (since / interval + 1) * interval);
    }

    /// `<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>`.
    fn key(&self, settings: &Settings, encoded: &str, start_offset: i64) -> String {
        let d = &settings.directory_delim;
        let f = &settings.file_delim;
        let name = format!(
            "{topic}{f}{p}{f}{start_offset:0width$}{ext}",
            topic = self.topic,
            p = self.partition,
            width = settings.zero_pad_width,
            ext = settings.format.extension()
        );
        format!(
            "{dir}{d}{topic}{d}{encoded}{d}{name}",
            dir = settings.topics_dir,
            topic = self.topic
        )
    }

    /// Completes every open file; then the offset after the last written record is
    /// committable. A file completed before a failure is not sent again.
    fn commit_files(&mut self, store: &mut dyn Store) -> Result<(), StoreError> {
        self.rotation_pending = true;
        while let Some(file) = self.files.first_mut() {
            complete(file, store)?;
            self.files.remove(0);
        }
        self.rotation_pending = false;
        if self.record_count > 0 || self.current_offset >= 0 {
            self.committable = Some(self.current_offset + 1);
        }
        self.record_count = 0;
        self.base_timestamp = None;
        self.current_encoded = None;
        self.current_schema = None;
        Ok(())
    }
}

fn upload_part(file: &mut OpenFile, store: &mut dyn Store) -> Result<(), StoreError> {
    if file.upload.is_none() {
        let id = store.create_multipart(&file.key)?;
        file.upload = Some((id, Vec::new()));
    }
    if let Some((id, parts)) = &mut file.upload {
        let number = parts.len() as u32 + 1;
        let etag = store.upload_part(&file.key, id, number, &file.buf)?;
        parts.push((number, etag));
        file.buf.clear();
    }
    Ok(())
}

/// Schemas equal as Connect compares them (the same `Arc` first: records of one batch share
/// it); no schema equals no schema.
fn same_schema(a: Option<&SchemaRef>, b: Option<&SchemaRef>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
        _ => false,
    }
}

fn complete(file: &mut OpenFile, store: &mut dyn Store) -> Result<(), StoreError> {
    if let Some(container) = &mut file.avro {
        container
            .close_block(&mut file.buf)
            .map_err(StoreError::Fatal)?;
    }
    if let Some(parquet) = &mut file.parquet {
        parquet.finish(&mut file.buf).map_err(StoreError::Fatal)?;
    }
    match &file.upload {
        None => store.put_object(&file.key, &file.buf),
        Some(_) => {
            if !file.buf.is_empty() {
                upload_part(file, store)?;
            }
            match &file.upload {
                Some((id, parts)) => store.complete_multipart(&file.key, id, parts),
                None => Ok(()),
            }
        }
    }
}

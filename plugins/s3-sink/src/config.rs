//! The S3 sink's configuration: Confluent's keys, their definitions (the spec), and one pass
//! that checks them all and compiles them into the client's and writers' settings.

use chrono_tz::Tz;
use sluice_plugin_sdk::json::JsonOptions;
use sluice_plugin_sdk::{Config, ConfigDef, ConfigProblem, Importance};

use crate::avro::Codec;
use crate::format::{
    unescape, Format, AVRO_FORMAT, BYTE_ARRAY_FORMAT, JSON_FORMAT, PARQUET_FORMAT,
};
use crate::parquet_file::ParquetCodec;
use crate::partitioner::{Extractor, Partitioner, TimeBased};
use crate::path_format::PathFormat;
use crate::sigv4::Credentials;
use crate::store::{Endpoint, Retries};
use crate::writer::{NullValues, Settings};

pub const BUCKET: &str = "s3.bucket.name";
pub const REGION: &str = "s3.region";
pub const STORE_URL: &str = "store.url";
pub const PATH_STYLE: &str = "s3.path.style.access.enabled";
pub const ACCESS_KEY_ID: &str = "aws.access.key.id";
pub const SECRET_ACCESS_KEY: &str = "aws.secret.access.key";
pub const TOPICS_DIR: &str = "topics.dir";
pub const FLUSH_SIZE: &str = "flush.size";
pub const ROTATE_INTERVAL: &str = "rotate.interval.ms";
pub const ROTATE_SCHEDULE: &str = "rotate.schedule.interval.ms";
pub const PARTITIONER: &str = "partitioner.class";
pub const FIELD_NAME: &str = "partition.field.name";
pub const PATH_FORMAT: &str = "path.format";
pub const DURATION: &str = "partition.duration.ms";
pub const LOCALE: &str = "locale";
pub const TIMEZONE: &str = "timezone";
pub const EXTRACTOR: &str = "timestamp.extractor";
pub const TIMESTAMP_FIELD: &str = "timestamp.field";
pub const FORMAT: &str = "format.class";
pub const BYTEARRAY_EXTENSION: &str = "format.bytearray.extension";
pub const BYTEARRAY_SEPARATOR: &str = "format.bytearray.separator";
pub const DECIMAL_FORMAT: &str = "json.decimal.format";
pub const AVRO_CODEC: &str = "avro.codec";
pub const PARQUET_CODEC: &str = "parquet.codec";
pub const PART_SIZE: &str = "s3.part.size";
pub const PART_RETRIES: &str = "s3.part.retries";
pub const RETRY_BACKOFF: &str = "s3.retry.backoff.ms";
pub const ZERO_PAD: &str = "filename.offset.zero.pad.width";
pub const DIRECTORY_DELIM: &str = "directory.delim";
pub const FILE_DELIM: &str = "file.delim";
pub const NULL_VALUES: &str = "behavior.on.null.values";
pub const STORAGE_CLASS: &str = "storage.class";
pub const SCHEMA_COMPATIBILITY: &str = "schema.compatibility";
pub const COMPRESSION: &str = "s3.compression.type";

const PARTITIONER_PACKAGE: &str = "io.confluent.connect.storage.partitioner.";
const DEFAULT_PARTITIONER: &str = "io.confluent.connect.storage.partitioner.DefaultPartitioner";
const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;

/// The config definitions (the spec's `config`).
pub fn defs() -> Vec<ConfigDef> {
    let partitioners = ["Default", "Field", "TimeBased", "Hourly", "Daily"]
        .iter()
        .map(|p| format!("{PARTITIONER_PACKAGE}{p}Partitioner"))
        .collect::<Vec<_>>();
    vec![
        ConfigDef::string(BUCKET).required().importance(Importance::High).doc("The S3 bucket."),
        ConfigDef::string(REGION).default("us-west-2").importance(Importance::Medium).doc("The AWS region of the bucket (signs every request)."),
        ConfigDef::string(STORE_URL).importance(Importance::High).doc("The endpoint of an S3-compatible store, e.g. http://minio:9000 (default: https://s3.<region>.amazonaws.com). Its host must be granted in wasm.network.allow."),
        ConfigDef::boolean(PATH_STYLE).default("true").importance(Importance::Low).doc("Address objects as <endpoint>/<bucket>/<key> (true) or <bucket>.<endpoint host>/<key> (false)."),
        ConfigDef::password(ACCESS_KEY_ID).importance(Importance::High).doc("AWS access key id. Required: a plugin has no AWS default credential chain. Use a config provider (${file:...})."),
        ConfigDef::password(SECRET_ACCESS_KEY).importance(Importance::High).doc("AWS secret access key. Never logged or shown."),
        ConfigDef::string(TOPICS_DIR).default("topics").importance(Importance::High).doc("Top-level directory of the objects."),
        ConfigDef::int(FLUSH_SIZE).required().importance(Importance::High).doc("Records per object: a file is completed after this many records."),
        ConfigDef::long(ROTATE_INTERVAL).default("-1").importance(Importance::High).doc("Complete files after this much record time (TimeBased partitioners; the time their timestamp.extractor gives). -1: off."),
        ConfigDef::long(ROTATE_SCHEDULE).default("-1").importance(Importance::Medium).doc("Complete files at wall-clock multiples of this interval from the start of the day in timezone. -1: off. Not deterministic: a replay may cut files differently."),
        ConfigDef::class(PARTITIONER).default(DEFAULT_PARTITIONER).recommended(partitioners).importance(Importance::High).doc("How objects are grouped into directories."),
        ConfigDef::list(FIELD_NAME).importance(Importance::Medium).doc("FieldPartitioner: the value fields to partition by."),
        ConfigDef::string(PATH_FORMAT).importance(Importance::Medium).doc("TimeBasedPartitioner: the Joda-Time pattern of the directory, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH."),
        ConfigDef::long(DURATION).default("-1").importance(Importance::Medium).doc("TimeBasedPartitioner: the length of one time partition in milliseconds."),
        ConfigDef::string(LOCALE).importance(Importance::Medium).doc("TimeBasedPartitioner: the locale of path.format (English text only)."),
        ConfigDef::string(TIMEZONE).importance(Importance::Medium).doc("TimeBasedPartitioner and rotate.schedule.interval.ms: an IANA time zone, e.g. UTC or America/Los_Angeles."),
        ConfigDef::string(EXTRACTOR).default("Wallclock").recommended(["Wallclock", "Record", "RecordField"]).importance(Importance::Medium).doc("TimeBasedPartitioner: where a record's time comes from."),
        ConfigDef::string(TIMESTAMP_FIELD).default("timestamp").importance(Importance::Medium).doc("timestamp.extractor=RecordField: the value field holding the time (epoch ms, Timestamp or ISO 8601)."),
        ConfigDef::class(FORMAT).required().recommended([JSON_FORMAT, BYTE_ARRAY_FORMAT, AVRO_FORMAT, PARQUET_FORMAT]).importance(Importance::High).doc("How records are written: JSON lines, raw bytes, Avro container files (records need a value schema) or Parquet files (records need a Struct value schema)."),
        ConfigDef::string(BYTEARRAY_EXTENSION).default(".bin").importance(Importance::Low).doc("ByteArrayFormat: the object name extension."),
        ConfigDef::string(BYTEARRAY_SEPARATOR).importance(Importance::Low).doc("ByteArrayFormat: written after each record (Java escapes such as \\n; default a newline)."),
        ConfigDef::string(DECIMAL_FORMAT).default("BASE64").recommended(["BASE64", "NUMERIC"]).importance(Importance::Low).doc("JsonFormat: Decimals inside structs as base64 strings or numbers."),
        ConfigDef::string(AVRO_CODEC).default("null").recommended(["null", "deflate", "snappy"]).importance(Importance::Low).doc("AvroFormat: the compression codec of the container files' blocks."),
        ConfigDef::string(PARQUET_CODEC).default("snappy").recommended(["none", "snappy", "gzip"]).importance(Importance::Low).doc("ParquetFormat: the compression codec of the files' pages (none, snappy or gzip; lz4, zstd and brotli are not implemented). Object names end in .snappy.parquet, .gz.parquet or .parquet, as Confluent's."),
        ConfigDef::int(PART_SIZE).default("8388608").importance(Importance::High).doc("Bytes per part of a multipart upload (at least 5 MiB); smaller objects are sent with one PUT. Sluice's default is 8 MiB (Confluent's 25 MiB): a part is one HTTP request, and the sandbox caps request bodies at wasm.http.request.max.bytes (16 MiB unless raised)."),
        ConfigDef::int(PART_RETRIES).default("3").importance(Importance::Medium).doc("Retries of a request that failed with a network error, 5xx or 429."),
        ConfigDef::long(RETRY_BACKOFF).default("200").importance(Importance::Low).doc("First backoff between retries in ms, doubled each time."),
        ConfigDef::int(ZERO_PAD).default("10").importance(Importance::Low).doc("Digits of the start offset in object names (zero-padded)."),
        ConfigDef::string(DIRECTORY_DELIM).default("/").importance(Importance::Low).doc("Directory delimiter of object keys."),
        ConfigDef::string(FILE_DELIM).default("+").importance(Importance::Low).doc("Delimiter between topic, partition and offset in object names."),
        ConfigDef::string(NULL_VALUES).default("fail").recommended(["fail", "ignore"]).importance(Importance::Low).doc("Records with a null value: fail them (DLQ with errors.tolerance=all) or skip them."),
        ConfigDef::class(STORAGE_CLASS).default("io.confluent.connect.s3.storage.S3Storage").importance(Importance::Low).doc("Accepted for compatibility: S3Storage is the only storage."),
        ConfigDef::string(SCHEMA_COMPATIBILITY).default("NONE").recommended(["NONE"]).importance(Importance::Low).doc("Only NONE: a record whose value schema differs from the previous record's completes the partition's open files (as Confluent's NONE)."),
        ConfigDef::string(COMPRESSION).default("none").recommended(["none"]).importance(Importance::Low).doc("Only none (gzip is not implemented yet)."),
    ]
}

/// Everything the task needs, compiled.
pub struct S3Config {
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub retries: Retries,
    pub settings: Settings,
}

struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(ConfigProblem {
            key: key.into(),
            message: message.into(),
        });
    }
    fn take<T>(&mut self, r: Result<T, sluice_plugin_sdk::ConfigError>) -> Option<T> {
        r.map_err(|e| self.0.push(e.into())).ok()
    }
}

/// Checks every key and compiles the config; all problems at once.
pub fn compile(config: &Config) -> Result<S3Config, Vec<ConfigProblem>> {
    let mut p = Problems(Vec::new());
    let bucket = p
        .take(config.required_str(BUCKET))
        .unwrap_or_default()
        .trim()
        .to_string();
    if bucket.is_empty() {
        p.add(BUCKET, "missing required key");
    }
    let region = config.get(REGION).unwrap_or("us-west-2").trim().to_string();
    let path_style = p.take(config.bool(PATH_STYLE)).unwrap_or(true);
    let url = match config
        .get(STORE_URL)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(u) => u.to_string(),
        None => format!("https://s3.{region}.amazonaws.com"),
    };
    let (scheme, authority, base_path) = match split_url(&url) {
        Ok(parts) => parts,
        Err(e) => {
            p.add(STORE_URL, e);
            Default::default()
        }
    };
    let mut secret = |key: &str| match config.get(key).map(str::trim).filter(|s| !s.is_empty()) {
        Some(v) => v.to_string(),
        None => {
            p.add(key, "missing: the S3 sink signs its requests with aws.access.key.id and aws.secret.access.key (a plugin has no AWS default credential chain); pass them through a config provider");
            String::new()
        }
    };
    let credentials = Credentials {
        access_key_id: secret(ACCESS_KEY_ID),
        secret_access_key: secret(SECRET_ACCESS_KEY),
    };

    let int = |p: &mut Problems, key: &str, min: i64| -> i64 {
        match p.take(config.required_int(key)) {
            Some(v) if v < min => {
                p.add(key, format!("{v} is below the minimum {min}"));
                min
            }
            Some(v) => v,
            None => min,
        }
    };
    let flush_size = int(&mut p, FLUSH_SIZE, 1);
    let rotate_interval_ms = p.take(config.required_int(ROTATE_INTERVAL)).unwrap_or(-1);
    let rotate_schedule_interval_ms = p.take(config.required_int(ROTATE_SCHEDULE)).unwrap_or(-1);
    let part_size = int(&mut p, PART_SIZE, MIN_PART_SIZE);
    let part_retries = int(&mut p, PART_RETRIES, 0);
    let backoff = int(&mut p, RETRY_BACKOFF, 0);
    let zero_pad = int(&mut p, ZERO_PAD, 0);

    let timezone = config
        .get(TIMEZONE)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let tz: Option<Tz> = match timezone {
        Some(name) => match name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                p.add(TIMEZONE, format!("'{name}' is not a time zone id (use an IANA id such as UTC or Europe/Berlin)"));
                None
            }
        },
        None => None,
    };
    if rotate_schedule_interval_ms > 0 && timezone.is_none() {
        p.add(TIMEZONE, "required when rotate.schedule.interval.ms is set (the schedule is aligned to the start of the day in this time zone)");
    }

    let partitioner = compile_partitioner(config, &mut p, tz);

    let format = match config.get(FORMAT).map(str::trim) {
        Some(JSON_FORMAT) => {
            let numeric = match config
                .get(DECIMAL_FORMAT)
                .map(|s| s.trim().to_ascii_uppercase())
            {
                Some(v) if v == "NUMERIC" => true,
                Some(v) if v == "BASE64" => false,
                Some(v) => {
                    p.add(
                        DECIMAL_FORMAT,
                        format!("'{v}' is not accepted; use BASE64 or NUMERIC"),
                    );
                    false
                }
                None => false,
            };
            Some(Format::Json(JsonOptions {
                decimal_numeric: numeric,
            }))
        }
        Some(BYTE_ARRAY_FORMAT) => Some(Format::ByteArray {
            extension: config
                .get(BYTEARRAY_EXTENSION)
                .unwrap_or(".bin")
                .to_string(),
            separator: config
                .get(BYTEARRAY_SEPARATOR)
                .map_or_else(|| b"\n".to_vec(), unescape),
        }),
        Some(AVRO_FORMAT) => match Codec::parse(config.get(AVRO_CODEC).unwrap_or("null")) {
            Ok(codec) => Some(Format::Avro(codec)),
            Err(e) => {
                p.add(AVRO_CODEC, e);
                None
            }
        },
        Some(PARQUET_FORMAT) => {
            match ParquetCodec::parse(config.get(PARQUET_CODEC).unwrap_or("snappy")) {
                Ok(codec) => Some(Format::Parquet(codec)),
                Err(e) => {
                    p.add(PARQUET_CODEC, e);
                    None
                }
            }
        }
        Some(other) => {
            p.add(FORMAT, format!("'{other}' is not available in Sluice; use {JSON_FORMAT}, {BYTE_ARRAY_FORMAT}, {AVRO_FORMAT} or {PARQUET_FORMAT}"));
            None
        }
        None => {
            p.add(FORMAT, "missing required key");
            None
        }
    };
    let null_values = match config
        .get(NULL_VALUES)
        .map(|s| s.trim().to_ascii_lowercase())
    {
        Some(v) if v == "ignore" => NullValues::Ignore,
        Some(v) if v == "fail" => NullValues::Fail,
        Some(v) => {
            p.add(
                NULL_VALUES,
                format!("'{v}' is not accepted; use fail or ignore"),
            );
            NullValues::Fail
        }
        None => NullValues::Fail,
    };
    if let Some(v) = config.get(STORAGE_CLASS).map(str::trim) {
        if v != "io.confluent.connect.s3.storage.S3Storage" {
            p.add(
                STORAGE_CLASS,
                format!("'{v}' is not available; only io.confluent.connect.s3.storage.S3Storage"),
            );
        }
    }
    if let Some(v) = config.get(SCHEMA_COMPATIBILITY).map(str::trim) {
        if !v.eq_ignore_ascii_case("NONE") {
            p.add(SCHEMA_COMPATIBILITY, format!("'{v}' is not implemented in Sluice; only NONE (a schema change completes the open files)"));
        }
    }
    if let Some(v) = config.get(COMPRESSION).map(str::trim) {
        if !v.eq_ignore_ascii_case("none") {
            p.add(
                COMPRESSION,
                format!("'{v}' is not implemented in Sluice yet; only none"),
            );
        }
    }

    let (Some(partitioner), Some(format)) = (partitioner, format) else {
        return Err(p.0);
    };
    if !p.0.is_empty() {
        return Err(p.0);
    }
    Ok(S3Config {
        endpoint: Endpoint {
            scheme,
            authority,
            base_path,
            bucket,
            region,
            path_style,
        },
        credentials,
        retries: Retries {
            retries: part_retries as u32,
            backoff_ms: backoff as u64,
        },
        settings: Settings {
            topics_dir: config.get(TOPICS_DIR).unwrap_or("topics").to_string(),
            directory_delim: config.get(DIRECTORY_DELIM).unwrap_or("/").to_string(),
            file_delim: config.get(FILE_DELIM).unwrap_or("+").to_string(),
            flush_size: flush_size as u64,
            rotate_interval_ms,
            rotate_schedule_interval_ms,
            tz: tz.unwrap_or(Tz::UTC),
            part_size: part_size as usize,
            zero_pad_width: zero_pad as usize,
            null_values,
            format,
            partitioner,
        },
    })
}

fn compile_partitioner(config: &Config, p: &mut Problems, tz: Option<Tz>) -> Option<Partitioner> {
    let class = config
        .get(PARTITIONER)
        .unwrap_or(DEFAULT_PARTITIONER)
        .trim();
    let short = class.strip_prefix(PARTITIONER_PACKAGE).unwrap_or(class);
    let (path_format, duration) = match short {
        "DefaultPartitioner" => return Some(Partitioner::Default),
        "FieldPartitioner" => {
            let fields = p.take(config.list(FIELD_NAME)).unwrap_or_default();
            if fields.is_empty() {
                p.add(FIELD_NAME, "FieldPartitioner needs at least one field");
                return None;
            }
            return Some(Partitioner::Field(fields));
        }
        "HourlyPartitioner" => (
            "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH".to_string(),
            3_600_000,
        ),
        "DailyPartitioner" => ("'year'=YYYY/'month'=MM/'day'=dd".to_string(), 86_400_000),
        "TimeBasedPartitioner" => {
            let path = config.get(PATH_FORMAT).unwrap_or("").trim().to_string();
            if path.is_empty() {
                p.add(PATH_FORMAT, "TimeBasedPartitioner needs a path.format");
            }
            let duration = p.take(config.required_int(DURATION)).unwrap_or(-1);
            if duration <= 0 {
                p.add(
                    DURATION,
                    "TimeBasedPartitioner needs a positive partition.duration.ms",
                );
            }
            (path, duration)
        }
        _ => {
            p.add(PARTITIONER, format!("'{class}' is not available; use {PARTITIONER_PACKAGE}DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner"));
            return None;
        }
    };
    let locale = config.get(LOCALE).unwrap_or("").trim().to_string();
    if locale.is_empty() {
        p.add(LOCALE, format!("{short} needs a locale (e.g. en_US)"));
    }
    let Some(tz) = tz else {
        if config.get(TIMEZONE).map(str::trim).unwrap_or("").is_empty() {
            p.add(TIMEZONE, format!("{short} needs a timezone (e.g. UTC)"));
        }
        return None;
    };
    let extractor = match config.get(EXTRACTOR).unwrap_or("Wallclock").trim() {
        "Wallclock" => Extractor::Wallclock,
        "Record" => Extractor::Record,
        "RecordField" => Extractor::RecordField(
            config
                .get(TIMESTAMP_FIELD)
                .unwrap_or("timestamp")
                .trim()
                .to_string(),
        ),
        other => {
            p.add(
                EXTRACTOR,
                format!("'{other}' is not accepted; use Wallclock, Record or RecordField"),
            );
            return None;
        }
    };
    let format = match PathFormat::new(&path_format, tz, &locale) {
        Ok(f) => f,
        Err(e) => {
            p.add(PATH_FORMAT, e);
            return None;
        }
    };
    if duration <= 0 || locale.is_empty() {
        return None;
    }
    Some(Partitioner::Time(TimeBased {
        format,
        duration_ms: duration,
        tz,
        extractor,
    }))
}

/// `scheme://authority[/path]` → (scheme, authority, path without trailing slash).
fn split_url(url: &str) -> Result<(String, String, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{url}' is not a URL such as http://127.0.0.1:9000"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!("'{url}': only http and https are supported"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!(
            "'{url}' has no host (and credentials in the URL are not accepted)"
        ));
    }
    Ok((scheme, authority.to_string(), path.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs, &defs())
    }

    const BASE: [(&str, &str); 5] = [
        (BUCKET, "b"),
        (FLUSH_SIZE, "3"),
        (FORMAT, JSON_FORMAT),
        (ACCESS_KEY_ID, "AKID"),
        (SECRET_ACCESS_KEY, "s3cr3t"),
    ];

    #[test]
    fn minimal_config_compiles_with_confluents_defaults() {
        let c = compile(&config(&BASE))
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        assert_eq!(c.endpoint.authority, "s3.us-west-2.amazonaws.com");
        assert_eq!(c.endpoint.scheme, "https");
        assert!(c.endpoint.path_style);
        assert_eq!(c.settings.topics_dir, "topics");
        assert_eq!(c.settings.flush_size, 3);
        assert_eq!(c.settings.part_size, 8 * 1024 * 1024);
        assert_eq!(c.settings.zero_pad_width, 10);
        assert_eq!(c.retries.retries, 3);
        assert!(matches!(c.settings.partitioner, Partitioner::Default));
    }

    #[test]
    fn store_url_and_time_based_partitioner() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            (STORE_URL, "http://127.0.0.1:9000/"),
            (
                PARTITIONER,
                "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            ),
            (PATH_FORMAT, "'dt'=YYYY-MM-dd"),
            (DURATION, "86400000"),
            (LOCALE, "en_US"),
            (TIMEZONE, "Europe/Berlin"),
            (EXTRACTOR, "Record"),
        ]);
        let c = compile(&config(&pairs))
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        assert_eq!(
            (
                c.endpoint.scheme.as_str(),
                c.endpoint.authority.as_str(),
                c.endpoint.base_path.as_str()
            ),
            ("http", "127.0.0.1:9000", "")
        );
        assert!(matches!(c.settings.partitioner, Partitioner::Time(_)));
    }

    #[test]
    fn parquet_format_takes_confluents_codec_names_and_refuses_the_others_precisely() {
        let with = |codec: Option<&str>| {
            let mut pairs = BASE.to_vec();
            pairs.push((FORMAT, PARQUET_FORMAT));
            if let Some(c) = codec {
                pairs.push((PARQUET_CODEC, c));
            }
            compile(&config(&pairs))
        };
        let format = |codec| match with(codec) {
            Ok(c) => c.settings.format,
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(format(None), Format::Parquet(ParquetCodec::Snappy));
        assert_eq!(
            format(Some("none")),
            Format::Parquet(ParquetCodec::Uncompressed)
        );
        assert_eq!(format(Some("GZIP")), Format::Parquet(ParquetCodec::Gzip));
        assert_eq!(format(None).extension(), ".snappy.parquet");
        let problems = with(Some("zstd")).err().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, PARQUET_CODEC);
        assert!(
            problems[0].message.contains("'zstd' is not available")
                && problems[0].message.contains("use none, snappy or gzip"),
            "{problems:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_and_secrets_are_not_echoed() {
        let problems = compile(&config(&[
            (FLUSH_SIZE, "0"),
            (FORMAT, "io.confluent.connect.s3.format.orc.OrcFormat"),
            (
                PARTITIONER,
                "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            ),
            (TIMEZONE, "Mars/Olympus"),
            (PART_SIZE, "1000"),
            (STORE_URL, "ftp://x"),
        ]))
        .err()
        .unwrap();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for key in [
            BUCKET,
            FLUSH_SIZE,
            FORMAT,
            TIMEZONE,
            PART_SIZE,
            STORE_URL,
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            PATH_FORMAT,
            DURATION,
            LOCALE,
        ] {
            assert!(keys.contains(&key), "{key} missing from {problems:?}");
        }
        let mut pairs = BASE.to_vec();
        pairs.push((FLUSH_SIZE, "x"));
        let problems = compile(&config(&pairs)).err().unwrap();
        assert!(!format!("{problems:?}").contains("s3cr3t"));
    }
}

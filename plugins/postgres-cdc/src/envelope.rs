//! Debezium's change event envelope: per table the key, row and envelope schemas
//! (`<prefix>.<schema>.<table>.Key`/`.Value`/`.Envelope`), the
//! `io.debezium.connector.postgresql.Source` block, and the records for op r/c/u/d and
//! tombstones.
//!
//! Design decision: everything per table is built once when the table's columns become known
//! (snapshot start or a Relation message) and shared by every record of the table, so a
//! batch carries one schema per table. Field order, optionality, names and versions follow
//! what Debezium 3.0.7 writes, as captured in tests/fixtures/debezium/postgres-cdc.jsonl.

use sluice_plugin_sdk::{Record, Schema, SchemaRef, SchemaType, Struct, Value};

use crate::pgoutput::Column as Datum;
use crate::types::{Kind, Modes};

/// The connector name in `source.connector`.
pub const CONNECTOR: &str = "postgresql";
/// What `source.version` says.
pub const VERSION: &str = concat!("sluice-postgres-cdc-", env!("CARGO_PKG_VERSION"));

/// One column of a captured table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub kind: Kind,
    /// Nullable (`NOT NULL` absent): an optional field.
    pub optional: bool,
    /// Part of the primary key (or the replica identity when the table has none).
    pub key: bool,
}

/// `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn code(self) -> &'static str {
        match self {
            Op::Read => "r",
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
        }
    }
}

/// `source.snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMarker {
    First,
    FirstInDataCollection,
    True,
    LastInDataCollection,
    Last,
    False,
}

impl SnapshotMarker {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMarker::First => "first",
            SnapshotMarker::FirstInDataCollection => "first_in_data_collection",
            SnapshotMarker::True => "true",
            SnapshotMarker::LastInDataCollection => "last_in_data_collection",
            SnapshotMarker::Last => "last",
            SnapshotMarker::False => "false",
        }
    }
}

/// The varying part of `source` (the rest comes from the table and the connector config).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Commit time (streaming) or snapshot time, microseconds since the Unix epoch.
    pub ts_us: i64,
    pub snapshot: SnapshotMarker,
    /// Debezium's `["<last commit lsn>","<lsn>"]`.
    pub sequence: Option<String>,
    pub tx_id: Option<i64>,
    pub lsn: Option<i64>,
}

/// The `io.debezium.connector.postgresql.Source` schema.
pub fn source_schema() -> SchemaRef {
    let opt_str = || Schema::string().optional();
    let opt_i64 = || Schema::int64().optional();
    Schema::struct_builder()
        .name("io.debezium.connector.postgresql.Source")
        .field("version", Schema::string())
        .field("connector", Schema::string())
        .field("name", Schema::string())
        .field("ts_ms", Schema::int64())
        .field(
            "snapshot",
            Schema::string()
                .optional()
                .with_name("io.debezium.data.Enum")
                .with_version(1)
                .with_parameter(
                    "allowed",
                    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental",
                )
                .with_default("false"),
        )
        .field("db", Schema::string())
        .field("sequence", opt_str())
        .field("ts_us", opt_i64())
        .field("ts_ns", opt_i64())
        .field("schema", Schema::string())
        .field("table", Schema::string())
        .field("txId", opt_i64())
        .field("lsn", opt_i64())
        .field("xmin", opt_i64())
        .build_ref()
}

/// Debezium's `event.block` (the `transaction` field; null unless transaction metadata is on).
fn transaction_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("event.block")
        .version(1)
        .optional()
        .field("id", Schema::string())
        .field("total_order", Schema::int64())
        .field("data_collection_order", Schema::int64())
        .build_ref()
}

/// A captured table: its columns and its three schemas.
#[derive(Debug, Clone)]
pub struct TableSchema {
    pub schema: String,
    pub table: String,
    pub topic: String,
    pub columns: Vec<ColumnDef>,
    modes: Modes,
    db: String,
    server: String,
    key_columns: Vec<usize>,
    pub key_schema: Option<SchemaRef>,
    pub value_schema: SchemaRef,
    pub envelope_schema: SchemaRef,
    source_schema: SchemaRef,
}

impl TableSchema {
    /// `server` is `topic.prefix`, `db` the database name.
    pub fn new(
        server: &str,
        db: &str,
        schema: &str,
        table: &str,
        columns: Vec<ColumnDef>,
        modes: Modes,
    ) -> TableSchema {
        let base = format!("{server}.{schema}.{table}");
        let key_columns: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].key).collect();
        let key_schema = (!key_columns.is_empty()).then(|| {
            let mut b = Schema::struct_builder().name(format!("{base}.Key"));
            for &i in &key_columns {
                b = b.field(
                    columns[i].name.clone(),
                    columns[i].kind.schema(modes, false),
                );
            }
            b.build_ref()
        });
        let mut row = Schema::struct_builder()
            .name(format!("{base}.Value"))
            .optional();
        for c in &columns {
            row = row.field(c.name.clone(), c.kind.schema(modes, c.optional));
        }
        let value_schema = row.build_ref();
        let source_schema = source_schema();
        let envelope_schema = Schema::struct_builder()
            .name(format!("{base}.Envelope"))
            .version(2)
            .field("before", value_schema.clone())
            .field("after", value_schema.clone())
            .field("source", source_schema.clone())
            .field("transaction", transaction_schema())
            .field("op", Schema::string())
            .field("ts_ms", Schema::int64().optional())
            .field("ts_us", Schema::int64().optional())
            .field("ts_ns", Schema::int64().optional())
            .build_ref();
        TableSchema {
            schema: schema.to_string(),
            table: table.to_string(),
            topic: base,
            columns,
            modes,
            db: db.to_string(),
            server: server.to_string(),
            key_columns,
            key_schema,
            value_schema,
            envelope_schema,
            source_schema,
        }
    }

    /// A row struct from column data in table column order. Columns missing from an old
    /// key-only tuple (sent as null) of a `NOT NULL` column get the type's zero value, as
    /// Debezium fills them; unchanged TOASTed values get Debezium's placeholder.
    pub fn row(&self, data: &[Datum]) -> Result<Struct, String> {
        if data.len() != self.columns.len() {
            return Err(format!(
                "table {}.{} has {} columns but the row has {}",
                self.schema,
                self.table,
                self.columns.len(),
                data.len()
            ));
        }
        let values = self
            .columns
            .iter()
            .zip(data)
            .map(|(c, d)| self.cell(c, d))
            .collect::<Result<Vec<_>, _>>()?;
        Struct::from_values(self.value_schema.clone(), values).map_err(|e| e.0)
    }

    fn cell(&self, c: &ColumnDef, d: &Datum) -> Result<Value, String> {
        match d {
            Datum::Null if c.optional => Ok(Value::Null),
            Datum::Null => Ok(zero(&c.kind.schema(self.modes, false))),
            Datum::UnchangedToast => Ok(c.kind.unavailable(self.modes)),
            Datum::Text(t) => c
                .kind
                .value(self.modes, t)
                .map_err(|e| format!("column {}.{}.{}: {e}", self.schema, self.table, c.name)),
            Datum::Binary(_) => Err(format!(
                "column {}.{}.{} arrived in binary format, which Sluice does not request",
                self.schema, self.table, c.name
            )),
        }
    }

    /// The key struct of a row, or `None` when the table has no primary key (Debezium then
    /// writes a null key).
    pub fn key(&self, row: &Struct) -> Option<Value> {
        let schema = self.key_schema.clone()?;
        let values = self
            .key_columns
            .iter()
            .map(|&i| row.values()[i].clone())
            .collect();
        Struct::from_values(schema, values).ok().map(Value::Struct)
    }

    /// The `source` block.
    pub fn source(&self, info: &SourceInfo) -> Struct {
        let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Int64);
        let values = vec![
            Value::from(VERSION),
            Value::from(CONNECTOR),
            Value::from(self.server.as_str()),
            Value::Int64(info.ts_us.div_euclid(1000)),
            Value::from(info.snapshot.as_str()),
            Value::from(self.db.as_str()),
            info.sequence.clone().map_or(Value::Null, Value::String),
            Value::Int64(info.ts_us),
            Value::Int64(info.ts_us.saturating_mul(1000)),
            Value::from(self.schema.as_str()),
            Value::from(self.table.as_str()),
            opt(info.tx_id),
            opt(info.lsn),
            Value::Null,
        ];
        Struct::from_values(self.source_schema.clone(), values)
            .expect("the source values match source_schema field for field")
    }

    /// A change event. `now_us` is when the connector processed it (the envelope's `ts_*`);
    /// the key is taken from `after` (or `before` for a delete).
    pub fn change(
        &self,
        op: Op,
        before: Option<Struct>,
        after: Option<Struct>,
        info: &SourceInfo,
        now_us: i64,
    ) -> Record {
        let key = after
            .as_ref()
            .or(before.as_ref())
            .and_then(|row| self.key(row))
            .unwrap_or(Value::Null);
        let envelope = Struct::from_values(
            self.envelope_schema.clone(),
            vec![
                before.map_or(Value::Null, Value::Struct),
                after.map_or(Value::Null, Value::Struct),
                Value::Struct(self.source(info)),
                Value::Null,
                Value::from(op.code()),
                Value::Int64(now_us.div_euclid(1000)),
                Value::Int64(now_us),
                Value::Int64(now_us.saturating_mul(1000)),
            ],
        )
        .expect("the envelope values match envelope_schema field for field");
        Record::new(self.topic.clone())
            .with_key(self.key_schema.clone(), key)
            .with_value(Some(self.envelope_schema.clone()), Value::Struct(envelope))
    }

    /// The tombstone Debezium writes after a delete (`tombstones.on.delete`): the deleted
    /// row's key and a null value, so log compaction can drop the key.
    pub fn tombstone(&self, before: &Struct) -> Record {
        Record::new(self.topic.clone()).with_key(
            self.key_schema.clone(),
            self.key(before).unwrap_or(Value::Null),
        )
    }
}

/// The zero value of a schema (a required column Debezium fills when the old tuple of a
/// delete carries only the key).
fn zero(schema: &Schema) -> Value {
    match schema.ty {
        SchemaType::Int8 => Value::Int8(0),
        SchemaType::Int16 => Value::Int16(0),
        SchemaType::Int32 => Value::Int32(0),
        SchemaType::Int64 => Value::Int64(0),
        SchemaType::Float32 => Value::Float32(0.0),
        SchemaType::Float64 => Value::Float64(0.0),
        SchemaType::Boolean => Value::Boolean(false),
        SchemaType::String => Value::String(String::new()),
        SchemaType::Bytes
            if schema.name.as_deref() == Some("org.apache.kafka.connect.data.Decimal") =>
        {
            Value::Bytes(vec![0])
        }
        SchemaType::Bytes => Value::Bytes(Vec::new()),
        SchemaType::Array => Value::Array(Vec::new()),
        SchemaType::Map => Value::Map(Vec::new()),
        SchemaType::Struct => {
            let values = schema.fields.iter().map(|f| zero(&f.schema)).collect();
            Struct::from_values(std::sync::Arc::new(schema.clone()), values)
                .map_or(Value::Null, Value::Struct)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::oid;

    fn table() -> TableSchema {
        let col = |name: &str, oid, typmod, optional, key| ColumnDef {
            name: name.into(),
            kind: Kind::of(oid, typmod).unwrap(),
            optional,
            key,
        };
        TableSchema::new(
            "fixture",
            "test",
            "public",
            "t",
            vec![
                col("id", oid::INT4, -1, false, true),
                col("big", oid::INT8, -1, false, false),
                col("name", oid::TEXT, -1, true, false),
            ],
            Modes::default(),
        )
    }

    fn info(snapshot: SnapshotMarker) -> SourceInfo {
        SourceInfo {
            ts_us: 1_700_000_000_123_456,
            snapshot,
            sequence: Some("[null,\"100\"]".into()),
            tx_id: Some(751),
            lsn: Some(100),
        }
    }

    #[test]
    fn schemas_are_named_and_shaped_as_debeziums() {
        let t = table();
        assert_eq!(t.topic, "fixture.public.t");
        let key = t.key_schema.clone().unwrap();
        assert_eq!(key.name.as_deref(), Some("fixture.public.t.Key"));
        assert!(!key.optional);
        assert_eq!(key.fields.len(), 1);
        assert_eq!(
            t.value_schema.name.as_deref(),
            Some("fixture.public.t.Value")
        );
        assert!(t.value_schema.optional);
        let env = &t.envelope_schema;
        assert_eq!(env.name.as_deref(), Some("fixture.public.t.Envelope"));
        assert_eq!(env.version, Some(2));
        let names: Vec<&str> = env.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "before",
                "after",
                "source",
                "transaction",
                "op",
                "ts_ms",
                "ts_us",
                "ts_ns"
            ]
        );
        let source_schema = source_schema();
        let source: Vec<&str> = source_schema
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            source,
            [
                "version",
                "connector",
                "name",
                "ts_ms",
                "snapshot",
                "db",
                "sequence",
                "ts_us",
                "ts_ns",
                "schema",
                "table",
                "txId",
                "lsn",
                "xmin"
            ]
        );
    }

    #[test]
    fn create_event_with_key_and_source() {
        let t = table();
        let row = t
            .row(&[
                Datum::Text("1".into()),
                Datum::Text("10".into()),
                Datum::Null,
            ])
            .unwrap();
        let r = t.change(
            Op::Create,
            None,
            Some(row),
            &info(SnapshotMarker::False),
            5_000,
        );
        assert_eq!(r.topic, "fixture.public.t");
        let Value::Struct(k) = &r.key else { panic!() };
        assert_eq!(k.get("id"), Some(&Value::Int32(1)));
        let Value::Struct(v) = &r.value else { panic!() };
        assert_eq!(v.get("op"), Some(&Value::from("c")));
        assert_eq!(v.get("before"), Some(&Value::Null));
        assert_eq!(v.get("ts_ms"), Some(&Value::Int64(5)));
        let Some(Value::Struct(after)) = v.get("after") else {
            panic!()
        };
        assert_eq!(after.get("big"), Some(&Value::Int64(10)));
        assert_eq!(after.get("name"), Some(&Value::Null));
        let Some(Value::Struct(src)) = v.get("source") else {
            panic!()
        };
        assert_eq!(src.get("connector"), Some(&Value::from("postgresql")));
        assert_eq!(src.get("name"), Some(&Value::from("fixture")));
        assert_eq!(src.get("db"), Some(&Value::from("test")));
        assert_eq!(src.get("ts_ms"), Some(&Value::Int64(1_700_000_000_123)));
        assert_eq!(
            src.get("ts_ns"),
            Some(&Value::Int64(1_700_000_000_123_456_000))
        );
        assert_eq!(src.get("snapshot"), Some(&Value::from("false")));
        assert_eq!(src.get("txId"), Some(&Value::Int64(751)));
        assert_eq!(src.get("xmin"), Some(&Value::Null));
    }

    #[test]
    fn delete_with_key_only_old_row_and_tombstone() {
        let t = table();
        // REPLICA IDENTITY DEFAULT: the old tuple has the key; NOT NULL columns become zero,
        // nullable ones null (as Debezium 3.0.7 writes them).
        let before = t
            .row(&[Datum::Text("3".into()), Datum::Null, Datum::Null])
            .unwrap();
        assert_eq!(before.get("big"), Some(&Value::Int64(0)));
        assert_eq!(before.get("name"), Some(&Value::Null));
        let r = t.change(
            Op::Delete,
            Some(before.clone()),
            None,
            &info(SnapshotMarker::False),
            0,
        );
        let Value::Struct(v) = &r.value else { panic!() };
        assert_eq!(v.get("op"), Some(&Value::from("d")));
        assert_eq!(v.get("after"), Some(&Value::Null));
        let tomb = t.tombstone(&before);
        assert_eq!(tomb.value, Value::Null);
        assert_eq!(tomb.key, r.key);
    }

    #[test]
    fn toast_placeholder_and_bad_rows() {
        let t = table();
        let row = t
            .row(&[
                Datum::Text("1".into()),
                Datum::Text("1".into()),
                Datum::UnchangedToast,
            ])
            .unwrap();
        assert_eq!(
            row.get("name"),
            Some(&Value::from("__debezium_unavailable_value"))
        );
        assert!(t.row(&[Datum::Null]).unwrap_err().contains("has 3 columns"));
        let e = t
            .row(&[Datum::Text("x".into()), Datum::Null, Datum::Null])
            .unwrap_err();
        assert!(e.contains("column public.t.id"), "{e}");
    }

    #[test]
    fn table_without_primary_key_has_null_keys() {
        let t = TableSchema::new(
            "p",
            "db",
            "s",
            "nokey",
            vec![ColumnDef {
                name: "a".into(),
                kind: Kind::Text,
                optional: true,
                key: false,
            }],
            Modes::default(),
        );
        assert!(t.key_schema.is_none());
        let row = t.row(&[Datum::Text("x".into())]).unwrap();
        let r = t.change(Op::Read, None, Some(row), &info(SnapshotMarker::First), 0);
        assert_eq!(r.key, Value::Null);
        assert!(r.key_schema.is_none());
    }
}

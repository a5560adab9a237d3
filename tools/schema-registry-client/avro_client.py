"""Confluent's Python client against Sluice (its embedded registry, its AvroConverter), driven
by tests/integration/avro.rs. Prints one JSON document per line on stdout; any failure is an
exception (non-zero exit, traceback on stderr).

  produce  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT `Payment` records (every Avro type)
  consume  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT records, keys and values Avro-decoded
  registry REGISTRY SUBJECT                -- the registry calls a producer's tooling makes
"""

import base64
import datetime
import decimal
import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError

import common

PAYMENT = {
    "type": "record",
    "name": "Payment",
    "namespace": "com.example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "small", "type": "int"},
        {"name": "ok", "type": "boolean"},
        {"name": "ratio", "type": "float"},
        {"name": "amount", "type": "double"},
        {"name": "name", "type": "string"},
        {"name": "blob", "type": "bytes"},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at_time", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["CARD", "CASH"]}},
        {"name": "address", "type": {"type": "record", "name": "Address",
                                     "fields": [{"name": "city", "type": "string"}]}},
    ],
}

UTC = datetime.timezone.utc


def payment(i):
    """Record i; tests/integration/avro.rs computes the same values."""
    return {
        "id": i,
        "small": -i,
        "ok": i % 2 == 0,
        "ratio": 0.5,
        "amount": i * 1.25,
        "name": "név %d" % i,
        "blob": b"b%d" % i,
        "price": decimal.Decimal("%d.%02d" % (i, i % 100)),
        "day": datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        "at_time": datetime.time(12, 30, i % 60),
        "at": datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=i),
        "note": None if i % 3 == 0 else "n%d" % i,
        "tags": ["a", "t%d" % i],
        "attrs": {"k": i},
        "kind": "CARD" if i % 2 == 0 else "CASH",
        "address": {"city": "Oslo"},
    }


def plain(v):
    """A decoded Avro value as plain JSON: decimals as strings, dates as days, times and
    timestamps as milliseconds, bytes as base64."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return {"decimal": str(v)}
    if isinstance(v, datetime.datetime):
        return {"timestamp_ms": int((v - datetime.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)}
    if isinstance(v, datetime.date):
        return {"date_days": (v - datetime.date(1970, 1, 1)).days}
    if isinstance(v, datetime.time):
        return {"time_ms": ((v.hour * 60 + v.minute) * 60 + v.second) * 1000 + v.microsecond // 1000}
    if isinstance(v, bytes):
        return {"bytes": base64.b64encode(v).decode()}
    return v


def produce(registry, bootstrap, topic, count):
    serializer = AvroSerializer(SchemaRegistryClient({"url": registry}), json.dumps(PAYMENT))
    common.produce(bootstrap, topic, count, lambda i, ctx: serializer(payment(i), ctx))


def consume(registry, bootstrap, topic, count):
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry}))

    def decode(msg):
        key = deserializer(msg.key(), common.context(topic, "key"))
        value = deserializer(msg.value(), common.context(topic, "value"))
        return {"key": plain(key), "value": plain(value)}

    common.consume(bootstrap, "avro-client-%s" % topic, topic, count, decode)


def registry_calls(registry, subject):
    """Registers, reads back and evolves a schema; prints each answer."""
    client = SchemaRegistryClient({"url": registry})
    v1 = {"type": "record", "name": "User", "namespace": "com.example",
          "fields": [{"name": "id", "type": "long"}]}
    v2 = dict(v1, fields=v1["fields"] + [{"name": "email", "type": ["null", "string"], "default": None}])
    v3 = dict(v1, fields=v1["fields"] + [{"name": "age", "type": "int"}])
    out = {}
    out["register_v1"] = client.register_schema(subject, Schema(json.dumps(v1), "AVRO"))
    # A fresh client: no cache between the call and the registry.
    fresh = SchemaRegistryClient({"url": registry})
    out["get_schema_v1"] = json.loads(fresh.get_schema(out["register_v1"]).schema_str)
    out["compatible_v2"] = fresh.test_compatibility(subject, Schema(json.dumps(v2), "AVRO"))
    out["compatible_v3"] = fresh.test_compatibility(subject, Schema(json.dumps(v3), "AVRO"))
    out["register_v2"] = fresh.register_schema(subject, Schema(json.dumps(v2), "AVRO"))
    try:
        fresh.register_schema(subject, Schema(json.dumps(v3), "AVRO"))
        out["register_v3"] = "accepted"
    except SchemaRegistryError as e:
        out["register_v3"] = {"http": e.http_status_code, "code": e.error_code}
    latest = fresh.get_latest_version(subject)
    out["latest"] = {"id": latest.schema_id, "version": latest.version, "subject": latest.subject,
                     "schema": json.loads(latest.schema.schema_str)}
    found = fresh.lookup_schema(subject, Schema(json.dumps(v1), "AVRO"))
    out["lookup_v1"] = {"id": found.schema_id, "version": found.version}
    out["versions"] = fresh.get_versions(subject)
    out["subjects"] = fresh.get_subjects()
    out["set_compatibility"] = fresh.set_compatibility(subject, "NONE")
    out["get_compatibility"] = fresh.get_compatibility(subject)
    out["register_v3_none"] = fresh.register_schema(subject, Schema(json.dumps(v3), "AVRO"))
    try:
        fresh.get_schema(9999)
        out["missing_id"] = "found"
    except SchemaRegistryError as e:
        out["missing_id"] = {"http": e.http_status_code, "code": e.error_code}
    out["delete_subject"] = fresh.delete_subject(subject)
    out["delete_subject_permanent"] = fresh.delete_subject(subject, permanent=True)
    print(json.dumps(out))


if __name__ == "__main__":
    common.main(sys.argv, produce=produce, consume=consume, registry=registry_calls)

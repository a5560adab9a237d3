"""Confluent's Python client against Sluice's JsonSchemaConverter and embedded registry, driven
by tests/integration/json_schema.rs. Prints one JSON document per line on stdout; any failure
is an exception (non-zero exit, traceback on stderr).

  produce  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT `Payment` records (JSONSerializer)
  consume  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT records, keys and values JSON-decoded
                                              (JSONDeserializer, validating against the schema)
  registry REGISTRY SUBJECT                -- the registry calls a producer's tooling makes
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

import common

# A JSON Schema as users write it, with the `connect.type` annotations Confluent's converter
# reads for the types plain JSON Schema cannot say (int32, float32, a map).
PAYMENT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "com.example.Payment",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "small": {"type": "integer", "connect.type": "int32"},
        "ok": {"type": "boolean"},
        "ratio": {"type": "number", "connect.type": "float32"},
        "amount": {"type": "number"},
        "name": {"type": "string"},
        "note": {"oneOf": [{"type": "null"}, {"type": "string"}]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "attrs": {"type": "object", "connect.type": "map",
                  "additionalProperties": {"type": "integer"}},
        "kind": {"type": "string", "enum": ["CARD", "CASH"]},
        "address": {"type": "object", "title": "com.example.Address",
                    "properties": {"city": {"type": "string"}}},
    },
    "required": ["id", "small", "ok", "ratio", "amount", "name", "tags", "attrs", "kind", "address"],
}


def payment(i):
    """Record i; tests/integration/json_schema.rs computes the same values."""
    return {
        "id": i,
        "small": -i,
        "ok": i % 2 == 0,
        "ratio": 0.5,
        "amount": i * 1.25,
        "name": "név %d" % i,
        "note": None if i % 3 == 0 else "n%d" % i,
        "tags": ["a", "t%d" % i],
        "attrs": {"k": i},
        "kind": "CARD" if i % 2 == 0 else "CASH",
        "address": {"city": "Oslo"},
    }


def produce(registry, bootstrap, topic, count):
    serializer = JSONSerializer(json.dumps(PAYMENT), SchemaRegistryClient({"url": registry}))
    common.produce(bootstrap, topic, count, lambda i, ctx: serializer(payment(i), ctx))


def consume(registry, bootstrap, topic, count):
    # No reader schema: each record is decoded with (and validated against) its writer's
    # schema, fetched from the registry by the id in its framing.
    deserializer = JSONDeserializer(None, schema_registry_client=SchemaRegistryClient({"url": registry}))

    def decode(msg):
        return {"key": deserializer(msg.key(), common.context(topic, "key")),
                "value": deserializer(msg.value(), common.context(topic, "value"))}

    common.consume(bootstrap, "json-schema-client-%s" % topic, topic, count, decode)


def registry_calls(registry, subject):
    """Registers, reads back and evolves a JSON Schema; prints each answer."""
    client = SchemaRegistryClient({"url": registry})
    v1 = {"type": "object", "title": "User", "properties": {"id": {"type": "integer"}}}
    v2 = dict(v1, properties=dict(v1["properties"], email={"type": "string"}))
    out = {}
    out["register_v1"] = client.register_schema(subject, Schema(json.dumps(v1), "JSON"))
    fresh = SchemaRegistryClient({"url": registry})
    got = fresh.get_schema(out["register_v1"])
    out["get_schema_v1"] = {"type": got.schema_type, "schema": json.loads(got.schema_str)}
    found = fresh.lookup_schema(subject, Schema(json.dumps(v1), "JSON"))
    out["lookup_v1"] = {"id": found.schema_id, "version": found.version,
                        "type": found.schema.schema_type}
    out["compatible_v2"] = fresh.test_compatibility(subject, Schema(json.dumps(v2), "JSON"))
    try:
        fresh.register_schema(subject, Schema(json.dumps(v2), "JSON"))
        out["register_v2_backward"] = "accepted"
    except SchemaRegistryError as e:
        out["register_v2_backward"] = {"http": e.http_status_code, "code": e.error_code}
    fresh.set_compatibility(subject, "NONE")
    out["register_v2_none"] = fresh.register_schema(subject, Schema(json.dumps(v2), "JSON"))
    latest = fresh.get_latest_version(subject)
    out["latest"] = {"id": latest.schema_id, "version": latest.version,
                     "type": latest.schema.schema_type}
    print(json.dumps(out))


if __name__ == "__main__":
    common.main(sys.argv, produce=produce, consume=consume, registry=registry_calls)

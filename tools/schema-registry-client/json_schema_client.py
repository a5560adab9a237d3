"""Confluent's Python client against Sluice's JsonSchemaConverter and embedded registry, driven
by tests/integration/json_schema.rs. Prints one JSON document per line on stdout; any failure
is an exception (non-zero exit, traceback on stderr).

  produce  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT `Payment` records (JSONSerializer)
  consume  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT records, keys and values JSON-decoded
                                              (JSONDeserializer, validating against the schema)
  registry REGISTRY SUBJECT                -- the registry calls a producer's tooling makes
"""

import datetime
import json
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

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
    client = SchemaRegistryClient({"url": registry})
    serializer = JSONSerializer(json.dumps(PAYMENT), client)
    keys = StringSerializer("utf_8")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    failures = []
    for i in range(count):
        ctx = SerializationContext(topic, MessageField.VALUE)
        producer.produce(
            topic,
            key=keys("p%d" % i),
            value=serializer(payment(i), ctx),
            on_delivery=lambda err, _msg: err and failures.append(str(err)),
        )
        producer.poll(0)
    left = producer.flush(60)
    if left or failures:
        raise SystemExit("not delivered: %d left, failures %s" % (left, failures))
    print(json.dumps({"produced": count}))


def consume(registry, bootstrap, topic, count):
    client = SchemaRegistryClient({"url": registry})
    # No reader schema: each record is decoded with (and validated against) its writer's
    # schema, fetched from the registry by the id in its framing.
    deserializer = JSONDeserializer(None, schema_registry_client=client)
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "json-schema-client-%s" % topic,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    seen = 0
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=120)
    while seen < count:
        if datetime.datetime.now() > deadline:
            raise SystemExit("only %d of %d records within 120 s" % (seen, count))
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            raise SystemExit("consumer error: %s" % msg.error())
        key = deserializer(msg.key(), SerializationContext(topic, MessageField.KEY))
        value = deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({"key": key, "value": value}, ensure_ascii=False))
        seen += 1
    consumer.close()


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


def main(argv):
    command = argv[1]
    if command == "produce":
        produce(argv[2], argv[3], argv[4], int(argv[5]))
    elif command == "consume":
        consume(argv[2], argv[3], argv[4], int(argv[5]))
    elif command == "registry":
        registry_calls(argv[2], argv[3])
    else:
        raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    main(sys.argv)

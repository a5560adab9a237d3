"""Confluent's Python client against Sluice's ProtobufConverter and embedded registry, driven
by tests/integration/protobuf.rs. Prints one JSON document per line on stdout; any failure is
an exception (non-zero exit, traceback on stderr).

  produce  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT `Payment` messages (ProtobufSerializer)
  consume  REGISTRY BOOTSTRAP TOPIC COUNT  -- COUNT records, values decoded by
                                              ProtobufDeserializer with a message class built
                                              from the registry's serialized schema

No protoc here: the Payment message is described with descriptor_pb2, as a generated module
would describe it, and the classes are made from descriptors at run time.
"""

import base64
import datetime
import decimal
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from google.protobuf.message_factory import GetMessageClass
from google.type import date_pb2, timeofday_pb2  # noqa: F401 (registers the files)

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.confluent import meta_pb2  # noqa: F401
from confluent_kafka.schema_registry.confluent.type import decimal_pb2  # noqa: F401
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

F = descriptor_pb2.FieldDescriptorProto
UTC = datetime.timezone.utc


def payment_class():
    """com.example.Payment: every scalar kind the test reads, a repeated field, a map, an enum,
    a nested message, a Timestamp and a proto3 `optional` field."""
    fd = descriptor_pb2.FileDescriptorProto(
        name="com/example/payment.proto", package="com.example", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"])
    kind = fd.enum_type.add(name="Kind")
    kind.value.add(name="CARD", number=0)
    kind.value.add(name="CASH", number=1)
    address = fd.message_type.add(name="Address")
    address.field.add(name="city", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    m = fd.message_type.add(name="Payment")
    entry = m.nested_type.add(name="AttrsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    m.oneof_decl.add(name="_note")
    for name, number, ty, label, type_name in [
        ("id", 1, F.TYPE_INT64, F.LABEL_OPTIONAL, None),
        ("small", 2, F.TYPE_INT32, F.LABEL_OPTIONAL, None),
        ("ok", 3, F.TYPE_BOOL, F.LABEL_OPTIONAL, None),
        ("ratio", 4, F.TYPE_FLOAT, F.LABEL_OPTIONAL, None),
        ("amount", 5, F.TYPE_DOUBLE, F.LABEL_OPTIONAL, None),
        ("name", 6, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("blob", 7, F.TYPE_BYTES, F.LABEL_OPTIONAL, None),
        ("tags", 8, F.TYPE_STRING, F.LABEL_REPEATED, None),
        ("attrs", 9, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".com.example.Payment.AttrsEntry"),
        ("kind", 10, F.TYPE_ENUM, F.LABEL_OPTIONAL, ".com.example.Kind"),
        ("address", 11, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, ".com.example.Address"),
        ("at", 12, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, ".google.protobuf.Timestamp"),
    ]:
        f = m.field.add(name=name, number=number, type=ty, label=label)
        if type_name:
            f.type_name = type_name
    note = m.field.add(name="note", number=13, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    note.proto3_optional = True
    note.oneof_index = 0
    pool = descriptor_pool.Default()
    pool.Add(fd)
    return GetMessageClass(pool.FindMessageTypeByName("com.example.Payment"))


def payment(cls, i):
    """Message i; tests/integration/protobuf.rs computes the same values."""
    msg = cls(id=i, small=-i, ok=i % 2 == 0, ratio=0.5, amount=i * 1.25, name="név %d" % i,
              blob=b"b%d" % i, tags=["a", "t%d" % i], kind=i % 2)
    msg.attrs["k"] = i
    msg.address.city = "Oslo"
    msg.at.FromMilliseconds(1704067200000 + i * 1000)
    if i % 3 != 0:
        msg.note = "n%d" % i
    return msg


def produce(registry, bootstrap, topic, count):
    client = SchemaRegistryClient({"url": registry})
    cls = payment_class()
    serializer = ProtobufSerializer(cls, client, {"use.deprecated.format": False})
    keys = StringSerializer("utf_8")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    failures = []
    for i in range(count):
        ctx = SerializationContext(topic, MessageField.VALUE)
        producer.produce(
            topic,
            key=keys("p%d" % i),
            value=serializer(payment(cls, i), ctx),
            on_delivery=lambda err, _msg: err and failures.append(str(err)),
        )
        producer.poll(0)
    left = producer.flush(60)
    if left or failures:
        raise SystemExit("not delivered: %d left, failures %s" % (left, failures))
    print(json.dumps({"produced": count}))


def plain(msg):
    """A decoded message as plain JSON: Timestamps as milliseconds, Decimals as strings, enums
    by name, bytes as base64, absent messages as null."""
    full = msg.DESCRIPTOR.full_name
    if full == "google.protobuf.Timestamp":
        return {"timestamp_ms": msg.ToMilliseconds()}
    if full == "confluent.type.Decimal":
        unscaled = int.from_bytes(msg.value, "big", signed=True)
        return {"decimal": str(decimal.Decimal(unscaled).scaleb(-msg.scale))}
    out = {}
    for f in msg.DESCRIPTOR.fields:
        v = getattr(msg, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            out[f.name] = {k: scalar(f.message_type.fields_by_name["value"], x) for k, x in v.items()}
        elif f.is_repeated:
            out[f.name] = [scalar(f, x) for x in v]
        elif f.message_type is not None:
            out[f.name] = plain(v) if msg.HasField(f.name) else None
        else:
            out[f.name] = scalar(f, v)
    return out


def scalar(f, v):
    if f.message_type is not None:
        return plain(v)
    if f.enum_type is not None:
        return f.enum_type.values_by_number[v].name
    if isinstance(v, bytes):
        return {"bytes": base64.b64encode(v).decode()}
    return v


def consume(registry, bootstrap, topic, count):
    client = SchemaRegistryClient({"url": registry})
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "protobuf-client-%s" % topic,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    deserializer = None
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
        if deserializer is None:
            # The message class of the writer's schema, from the registry's serialized form.
            schema_id = int.from_bytes(msg.value()[1:5], "big")
            serialized = client.get_schema(schema_id, fmt="serialized").schema_str
            fd = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(serialized))
            fd.name = "sluice/%s.proto" % topic
            pool = descriptor_pool.Default()
            pool.Add(fd)
            cls = GetMessageClass(pool.FindFileByName(fd.name).message_types_by_name[
                fd.message_type[0].name])
            deserializer = ProtobufDeserializer(cls, {"use.deprecated.format": False}, client)
        value = deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
        print(json.dumps({"key": msg.key().decode(), "value": plain(value)}, ensure_ascii=False))
        seen += 1
    consumer.close()


def main(argv):
    command = argv[1]
    if command == "produce":
        produce(argv[2], argv[3], argv[4], int(argv[5]))
    elif command == "consume":
        consume(argv[2], argv[3], argv[4], int(argv[5]))
    else:
        raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    main(sys.argv)

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
import decimal
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from google.protobuf.message_factory import GetMessageClass
from google.type import date_pb2, timeofday_pb2  # noqa: F401 (registers the files)

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.confluent import meta_pb2  # noqa: F401
from confluent_kafka.schema_registry.confluent.type import decimal_pb2  # noqa: F401
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

import common

F = descriptor_pb2.FieldDescriptorProto


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
    cls = payment_class()
    serializer = ProtobufSerializer(cls, SchemaRegistryClient({"url": registry}),
                                    {"use.deprecated.format": False})
    common.produce(bootstrap, topic, count, lambda i, ctx: serializer(payment(cls, i), ctx))


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
    deserializer = None

    def decode(msg):
        nonlocal deserializer
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
        value = deserializer(msg.value(), common.context(topic, "value"))
        return {"key": msg.key().decode(), "value": plain(value)}

    common.consume(bootstrap, "protobuf-client-%s" % topic, topic, count, decode)


if __name__ == "__main__":
    common.main(sys.argv, produce=produce, consume=consume)

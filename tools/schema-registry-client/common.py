"""What the Schema Registry client scripts (avro_client.py, json_schema_client.py,
protobuf_client.py) share: producing COUNT serialized records with string keys, consuming
COUNT records from the beginning, and the command line. Each script keeps its own schema,
its serializer and its decoding.
"""

import datetime
import json

from confluent_kafka import Consumer, Producer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

def produce(bootstrap, topic, count, serialize):
    """Produces records 0..COUNT to `topic`, key "p<i>", value `serialize(i, ctx)`; waits for
    every delivery and prints {"produced": COUNT}."""
    keys = StringSerializer("utf_8")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    failures = []
    for i in range(count):
        ctx = SerializationContext(topic, MessageField.VALUE)
        producer.produce(
            topic,
            key=keys("p%d" % i),
            value=serialize(i, ctx),
            on_delivery=lambda err, _msg: err and failures.append(str(err)),
        )
        producer.poll(0)
    left = producer.flush(60)
    if left or failures:
        raise SystemExit("not delivered: %d left, failures %s" % (left, failures))
    print(json.dumps({"produced": count}))


def consume(bootstrap, group, topic, count, decode):
    """Reads COUNT records of `topic` from the beginning (120 s at most) and prints
    `decode(msg)` of each as one JSON line."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
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
        print(json.dumps(decode(msg), ensure_ascii=False))
        seen += 1
    consumer.close()


def context(topic, field):
    """The serialization context of `topic`'s keys ("key") or values ("value")."""
    return SerializationContext(topic, MessageField.KEY if field == "key" else MessageField.VALUE)


def main(argv, **commands):
    """Runs the command argv[1] names, one of `commands` (functions by command name):

      produce  REGISTRY BOOTSTRAP TOPIC COUNT
      consume  REGISTRY BOOTSTRAP TOPIC COUNT
      registry REGISTRY SUBJECT
    """
    command = argv[1] if len(argv) > 1 else None
    run = commands.get(command)
    if run is None:
        raise SystemExit("unknown command %r; expected one of %s" % (command, ", ".join(commands)))
    if command == "registry":
        run(argv[2], argv[3])
    else:
        run(argv[2], argv[3], argv[4], int(argv[5]))

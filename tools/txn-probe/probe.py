"""Does a broker support Kafka transactions as KIP-618 exactly-once sources need them?

Checks, against the broker at argv[1] (host:port), each with librdkafka's transactional
producer (Confluent's Python client, as in tools/schema-registry-client/requirements.txt):
  1. ApiVersions: which of InitProducerId (22), AddPartitionsToTxn (24), AddOffsetsToTxn (25),
     EndTxn (26), WriteTxnMarkers (27), TxnOffsetCommit (28) the broker advertises;
  2. InitProducerId with a transactional.id (init_transactions);
  3. a committed transaction: produce 3 records + send_offsets_to_transaction
     (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn(commit));
  4. an aborted transaction of 2 records (EndTxn(abort));
  5. what read_committed and read_uncommitted consumers read (expected 3 and 5 records);
  6. fencing: a second producer with the same transactional.id bumps the epoch; the first
     one's next transaction must fail as fenced.
Prints one line per check: `check: OK|FAIL|ERROR detail`. Used for docs/distributed.md's
KIP-618 section: python3 tools/txn-probe/probe.py 127.0.0.1:9092
"""

import socket
import struct
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOT = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
TIMEOUT = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
TXN_KEYS = {22: "InitProducerId", 24: "AddPartitionsToTxn", 25: "AddOffsetsToTxn",
            26: "EndTxn", 27: "WriteTxnMarkers", 28: "TxnOffsetCommit"}


def say(check, outcome, detail=""):
    print(f"{check}: {outcome} {detail}".rstrip(), flush=True)


def api_versions():
    host, port = BOOT.rsplit(":", 1)
    client = b"txn-probe"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", s.recv(4))[0]
        data = b""
        while len(data) < size:
            data += s.recv(size - len(data))
    _, err, n = struct.unpack(">ihi", data[:10])
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack(">hhh", data[10 + 6 * i:16 + 6 * i])
        keys[k] = (lo, hi)
    for k, name in TXN_KEYS.items():
        say(f"ApiVersions {name} ({k})", "OK" if k in keys else "FAIL",
            f"versions {keys[k][0]}..{keys[k][1]}" if k in keys else "not advertised")


TOPIC = ""


def consume(topic, isolation):
    c = Consumer({"bootstrap.servers": BOOT, "group.id": f"probe-{uuid.uuid4()}",
                  "isolation.level": isolation, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got, deadline = [], time.time() + 8
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value().decode())
    c.close()
    return got


def producer(txn_id, errors=None):
    config = {"bootstrap.servers": BOOT, "transactional.id": txn_id,
              "transaction.timeout.ms": 60000, "message.timeout.ms": 30000}
    if errors is not None:
        config["error_cb"] = errors.append
    return Producer(config)


def reads(when):
    rc = consume(TOPIC, "read_committed")
    ru = consume(TOPIC, "read_uncommitted")
    print(f"{when}: read_committed reads {rc}; read_uncommitted reads {ru}", flush=True)
    return rc, ru


def main():
    global TOPIC
    api_versions()
    TOPIC = f"txn-probe-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": BOOT})
    for f in admin.create_topics([NewTopic(TOPIC, 1, 1)]).values():
        f.result(10)
    txn_id = f"probe-{uuid.uuid4().hex[:8]}"

    # A. One transaction: 3 records and a consumer offset, committed.
    a = producer(txn_id)
    try:
        a.init_transactions(TIMEOUT)
        say("InitProducerId with transactional.id", "OK")
    except KafkaException as e:
        say("InitProducerId with transactional.id", "FAIL", repr(e.args[0]))
        return
    group = f"probe-group-{uuid.uuid4().hex[:8]}"
    meta_consumer = Consumer({"bootstrap.servers": BOOT, "group.id": group})
    committed_ok = False
    try:
        a.begin_transaction()
        for i in range(3):
            a.produce(TOPIC, f"a-{i}".encode())
        a.flush(TIMEOUT)
        say("produce in a transaction (AddPartitionsToTxn, Produce)", "OK")
        a.send_offsets_to_transaction([TopicPartition(TOPIC, 0, 42)],
                                      meta_consumer.consumer_group_metadata(), TIMEOUT)
        say("send_offsets_to_transaction (AddOffsetsToTxn, TxnOffsetCommit)", "OK")
        a.commit_transaction(TIMEOUT)
        committed_ok = True
        say("commit_transaction (EndTxn)", "OK")
    except KafkaException as e:
        say("transaction A", "FAIL", repr(e.args[0]))
    if committed_ok:
        committed = meta_consumer.committed([TopicPartition(TOPIC, 0)], 10)[0].offset
        say("offset committed with the transaction", "OK" if committed == 42 else "FAIL",
            f"group offset {committed}")
    meta_consumer.close()
    rc, ru = reads("after transaction A")
    want = [f"a-{i}" for i in range(3)] if committed_ok else []
    say("read_committed after A", "OK" if rc == want else "FAIL", f"expected {want}")

    # B. A second producer with the same transactional.id: a new epoch, which fences A and
    # aborts A's transaction if it is still open.
    b_errors = []
    b = producer(txn_id, b_errors)
    try:
        b.init_transactions(TIMEOUT)
        say("second InitProducerId for the same transactional.id", "OK")
    except KafkaException as e:
        say("second InitProducerId for the same transactional.id", "FAIL", repr(e.args[0]))
        return
    rc, _ = reads("after the second InitProducerId")
    say("read_committed shows no record of an aborted transaction",
        "OK" if rc == want else "FAIL", f"expected {want}")

    # C. B produces in a transaction, then a third producer takes the transactional.id: B is a
    # zombie, and what it produces next must be refused as fenced.
    b.begin_transaction()
    b.produce(TOPIC, b"b-0")
    b.flush(TIMEOUT)
    c = producer(txn_id)
    c.init_transactions(TIMEOUT)
    say("third InitProducerId (fences B)", "OK")
    delivered = []
    b.produce(TOPIC, b"zombie", on_delivery=lambda err, msg: delivered.append(err))
    b.flush(TIMEOUT)
    fenced = [str(e) for e in delivered if e is not None] + [str(e) for e in b_errors]
    say("the zombie's produce is refused as fenced",
        "OK" if any("fenced" in f.lower() for f in fenced) else "FAIL",
        f"delivery errors and error_cb: {fenced or delivered}")
    rc, _ = reads("at the end")
    say("no zombie record readable with read_committed", "OK" if "zombie" not in rc else "FAIL")


if __name__ == "__main__":
    main()

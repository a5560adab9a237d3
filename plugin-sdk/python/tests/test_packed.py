"""Unit tests of the packed batch codec (``sluice._packed``) in plain CPython: what a batch
decodes to, that untouched bytes go back unchanged, and that edited fields are re-encoded
with the structured path's checks. The host's side of the same bytes is tested in Rust
(plugin-sdk/packed) and end to end by tests/integration/polyglot.rs."""

import unittest

from sluice import DataError, Header, Record, Schema, Struct, Typed
from sluice import _packed as P

USER = (Schema.struct().name("users")
        .field("id", Schema.int64())
        .field("name", Schema.string())
        .field("email", Schema.string().as_optional())
        .field("region", Schema.string())
        .build())
KEY = Schema.string()


def user(i, headers=()):
    return Record(topic="users", key=f"user-{i}", key_schema=KEY,
                  value=Struct(USER, [i, f"User {i}", f"u{i}@example.com", "eu-west"]),
                  value_schema=USER, partition=0, offset=i, timestamp=1_700_000_000_000 + i,
                  timestamp_type="create-time", headers=list(headers))


def batch_bytes(records):
    enc = P.Encoder()
    for r in records:
        enc.append(r)
    return enc.finish()


def outcomes(payload):
    """A transform output as [("keep", Record) | ("drop",) | ("fail", message)], and the
    raw bytes of each kept record."""
    version = payload[0]
    assert version == P.VERSION
    count, p = P._uvar(payload, 1)
    nschemas, p = P._uvar(payload, p)
    table_start = p
    _, p = P._table(payload, p, nschemas)
    table = payload[table_start:p]
    out, raw = [], []
    for _ in range(count):
        tag = payload[p]
        if tag == 0:
            end = P._record_end(payload, p + 1)
            raw.append(payload[p + 1:end])
            head = bytearray((P.VERSION,))
            P._put_uvar(head, 1)
            P._put_uvar(head, nschemas)
            out.append(("keep", P.Batch(bytes(head) + table + raw[-1]).records[0]))
            p = end
        elif tag == 1:
            out.append(("drop",))
            p += 1
        else:
            message, p = P._str(payload, p + 1)
            out.append(("fail", message))
    assert p == len(payload)
    return out, raw


def record_bytes(payload):
    """The bytes of each record of a plain batch."""
    count, p = P._uvar(payload, 1)
    nschemas, p = P._uvar(payload, p)
    _, p = P._table(payload, p, nschemas)
    raw = []
    for _ in range(count):
        end = P._record_end(payload, p)
        raw.append(payload[p:end])
        p = end
    return raw


class DecodeTest(unittest.TestCase):
    def test_records_read_as_the_structured_path_gives_them(self):
        r = user(3, [Header("trace", Schema.int32(), 7)])
        got = P.Batch(batch_bytes([r])).records[0]
        self.assertEqual((got.topic, got.key, got.partition, got.offset, got.timestamp,
                          got.timestamp_type), ("users", "user-3", 0, 3, 1_700_000_000_003,
                                                "create-time"))
        self.assertIsInstance(got.value, Struct)
        self.assertEqual(got.value.items(), [("id", 3), ("name", "User 3"),
                                             ("email", "u3@example.com"), ("region", "eu-west")])
        self.assertEqual([f for f, _ in got.value_schema.fields], ["id", "name", "email", "region"])
        self.assertTrue(got.value_schema.fields[2][1].optional)
        self.assertEqual((got.headers[0].key, got.headers[0].value, got.headers[0].schema.type),
                         ("trace", 7, "int32"))

    def test_every_value_type_round_trips(self):
        inner = Schema.struct().name("inner").field("x", Schema.int8()).build()
        schema = (Schema.struct()
                  .field("b", Schema.boolean()).field("i16", Schema.int16())
                  .field("i32", Schema.int32()).field("f32", Schema.float32())
                  .field("f64", Schema.float64()).field("bytes", Schema.bytes())
                  .field("dec", Schema.decimal(2)).field("arr", Schema.array(Schema.string()))
                  .field("map", Schema.map(Schema.string(), Schema.int64()))
                  .field("inner", inner).field("none", Schema.string().as_optional())
                  .field("text", Schema.string())
                  .build())
        value = Struct(schema, [True, -300, 1 << 30, 1.5, -2.25, b"\x00\xff", b"\x01\x00",
                                ["a", "b"], {"k": -(1 << 63)}, Struct(inner, [-128]), None,
                                "ü" * 200])
        schemaless = {"n": [1, 2.5, None, True, b"zz", Typed("int32", 7), Typed("int8", -1),
                            Typed("float32", 0.5)], (1, 2): "tuple key"}
        got = P.Batch(batch_bytes([Record(topic="t", value=value, value_schema=schema),
                                   Record(topic="t", value=schemaless)])).records
        items = got[0].value.items()
        self.assertEqual(items[9][1].items(), [("x", -128)])  # a struct of the decoded schema
        self.assertEqual(items[:9] + items[10:], value.items()[:9] + value.items()[10:])
        self.assertEqual(got[1].value, schemaless)
        self.assertEqual(got[0].value_schema.fields[6][1].parameter("scale"), "2")

    def test_schema_defaults_and_one_schema_object_per_distinct_schema(self):
        with_default = (Schema.struct().name("d").field("a", Schema.int32().with_default(5))
                        .build().with_default(None))
        s = Schema.string().with_default("x").with_doc("doc")
        payload = batch_bytes([Record(topic="t", key="k", key_schema=s,
                                      value=Struct(with_default, [1]), value_schema=with_default)])
        first, second = P.Batch(payload).records[0], P.Batch(payload).records[0]
        self.assertEqual(first.key_schema.default, "x")
        self.assertEqual(first.key_schema.doc, "doc")
        self.assertEqual(first.value_schema.fields[0][1].default, 5)
        self.assertIs(first.value_schema, second.value_schema)

    def test_a_struct_without_a_struct_schema_fails_that_record_only(self):
        good = user(1)
        payload = bytearray(batch_bytes([user(0), good]))
        # Point the first record's value at the key's string schema (index 0 + 1).
        raw = record_bytes(bytes(payload))[0]
        at = payload.index(raw)
        value_at = at + raw.index(b"\x0c\x04")  # struct tag, 4 fields
        self.assertEqual(payload[value_at - 1], 2)  # schema index: the struct's (1) + 1
        payload[value_at - 1] = 1
        records = P.Batch(bytes(payload)).records
        self.assertIsInstance(records[0], DataError)
        self.assertIn("a struct value needs a struct schema", str(records[0]))
        self.assertEqual(records[1].value["id"], 1)

    def test_malformed_payloads_fail_the_call(self):
        payload = batch_bytes([user(0)])
        for bad, why in [(payload[:-3], "cut short|past the end"), (payload + b"\x00", "after the last"),
                         (b"\x02" + payload[1:], "version")]:
            with self.assertRaisesRegex(P.MalformedPayload, why):
                P.Batch(bad)


class TransformOutputTest(unittest.TestCase):
    def test_untouched_records_go_back_as_their_input_bytes(self):
        payload = batch_bytes([user(i, [Header("h", None, "v")] if i == 1 else []) for i in range(3)])
        batch = P.Batch(payload)
        out = P.Encoder(batch)
        for r in batch.records:
            r.value["name"]  # reading a field does not make it dirty
            out.keep(r)
        got, raw = outcomes(out.finish())
        self.assertEqual(raw, record_bytes(payload))
        self.assertEqual([o[1].value["id"] for o in got], [0, 1, 2])

    def test_written_fields_are_encoded_and_the_others_copied(self):
        batch = P.Batch(batch_bytes([user(0), user(1)]))
        out = P.Encoder(batch)
        for r in batch.records:
            r.value["email"] = "****"
            r.value["name"] = r.value["name"].upper()
            r.offset = 99
            out.keep(r)
        out.drop()
        out.fail("nope")
        got, _ = outcomes(out.finish())
        self.assertEqual([(o[1].value.items(), o[1].offset) for o in got[:2]], [
            ([("id", 0), ("name", "USER 0"), ("email", "****"), ("region", "eu-west")], 99),
            ([("id", 1), ("name", "USER 1"), ("email", "****"), ("region", "eu-west")], 99)])
        self.assertEqual(got[2:], [("drop",), ("fail", "nope")])

    def test_a_changed_key_topic_or_head_is_encoded_and_the_rest_copied(self):
        batch = P.Batch(batch_bytes([user(0), user(1), user(2), user(3)]))
        out = P.Encoder(batch)
        a, b, c, d = batch.records
        a.key = "new-key"          # head copied, key encoded
        b.topic = "renamed"        # head encoded, key copied
        c.partition, c.key = 5, "k2"  # both encoded
        d.value["id"] = 42         # head and key copied, one struct field encoded
        for r in batch.records:
            out.keep(r)
        got, raw = outcomes(out.finish())
        self.assertEqual([(r.topic, r.key, r.partition, r.offset, r.timestamp, r.value.items())
                          for _, r in got], [
            ("users", "new-key", 0, 0, 1_700_000_000_000, user(0).value.items()),
            ("renamed", "user-1", 0, 1, 1_700_000_000_001, user(1).value.items()),
            ("users", "k2", 5, 2, 1_700_000_000_002, user(2).value.items()),
            ("users", "user-3", 0, 3, 1_700_000_000_003,
             [("id", 42)] + user(3).value.items()[1:])])
        fresh = user(3)
        fresh.value["id"] = 42
        self.assertEqual(raw[3], record_bytes(batch_bytes([fresh]))[0])

    def test_new_records_and_schemas_are_encoded(self):
        batch = P.Batch(batch_bytes([user(0)]))
        extra = Schema.struct().name("out").field("upper", Schema.string()).build()
        out = P.Encoder(batch)
        r = batch.records[0]
        out.keep(Record(topic="other", key=r.key, key_schema=r.key_schema,
                        value=Struct(extra, [r.value["name"].upper()]), value_schema=extra))
        got, _ = outcomes(out.finish())
        kept = got[0][1]
        self.assertEqual((kept.topic, kept.key, kept.value.items(), kept.value_schema.name),
                         ("other", "user-0", [("upper", "USER 0")], "out"))

    def test_a_value_that_does_not_fit_its_schema_is_refused_with_the_structured_message(self):
        batch = P.Batch(batch_bytes([user(0)]))
        r = batch.records[0]
        r.value["id"] = "seven"
        out = P.Encoder(batch)
        with self.assertRaisesRegex(DataError, "^a int64 schema needs a int64 value, got str: seven$"):
            out.keep(r)
        r.value["id"] = 1 << 63
        with self.assertRaisesRegex(DataError, "does not fit in int64"):
            out.keep(r)
        out.fail("x")
        got, _ = outcomes(out.finish())
        self.assertEqual(got, [("fail", "x")])  # nothing of the refused records was written

    def test_a_struct_handed_out_whole_is_encoded_from_its_values(self):
        batch = P.Batch(batch_bytes([user(0)]))
        r = batch.records[0]
        r.value.values[1] = "changed through values"
        out = P.Encoder(batch)
        out.keep(r)
        got, _ = outcomes(out.finish())
        self.assertEqual(got[0][1].value["name"], "changed through values")


class GcPausedTest(unittest.TestCase):
    def test_the_collector_is_off_inside_and_as_found_after(self):
        import gc
        was = gc.isenabled()
        try:
            gc.enable()
            with self.assertRaises(ValueError):
                with P.gc_paused():
                    self.assertFalse(gc.isenabled())
                    with P.gc_paused():  # nested: the outer one turns it back on
                        pass
                    self.assertFalse(gc.isenabled())
                    raise ValueError("a failing batch call")
            self.assertTrue(gc.isenabled())
            gc.disable()
            with P.gc_paused():
                pass
            self.assertFalse(gc.isenabled())
        finally:
            (gc.enable if was else gc.disable)()


class SourceBatchTest(unittest.TestCase):
    def test_offset_maps_are_checked(self):
        from sluice import SourceRecord
        out = P.Encoder()
        out.source_record(SourceRecord({"file": "a"}, {"line": 3, "done": False, "x": None,
                                                       "f": 1.5}, user(0)))
        with self.assertRaisesRegex(DataError, "must be a primitive, got list"):
            out.source_record(SourceRecord({"file": ["a"]}, {}, user(1)))
        payload = out.finish()
        count, _ = P._uvar(payload, 1)
        self.assertEqual(count, 1)



def every_type_schema():
    """A struct schema with a field of every Connect type, logical types, optional fields
    (null and not), a nested struct with its own optional and nested fields, an array of
    structs and a map."""
    leaf = (Schema.struct().name("leaf").field("n", Schema.int16())
            .field("s", Schema.string().as_optional()).build())
    inner = (Schema.struct().name("inner").field("x", Schema.int8())
             .field("leaf", leaf).field("opt", Schema.int64().as_optional()).build())
    return (Schema.struct().name("every")
            .field("i8", Schema.int8()).field("i16", Schema.int16())
            .field("i32", Schema.int32()).field("i64", Schema.int64())
            .field("f32", Schema.float32()).field("f64", Schema.float64())
            .field("b", Schema.boolean()).field("s", Schema.string())
            .field("long", Schema.string()).field("bytes", Schema.bytes())
            .field("dec", Schema.decimal(2)).field("date", Schema.date())
            .field("time", Schema.time()).field("ts", Schema.timestamp())
            .field("arr", Schema.array(Schema.string()))
            .field("structs", Schema.array(inner))
            .field("map", Schema.map(Schema.string(), Schema.int64()))
            .field("inner", inner)
            .field("o_s", Schema.string().as_optional()).field("o_i64", Schema.int64().as_optional())
            .field("o_i32", Schema.int32().as_optional()).field("o_i8", Schema.int8().as_optional())
            .field("o_b", Schema.boolean().as_optional()).field("o_f32", Schema.float32().as_optional())
            .field("o_f64", Schema.float64().as_optional()).field("o_bytes", Schema.bytes().as_optional())
            .field("o_inner", inner)
            .field("o_arr", Schema.array(Schema.int32()).as_optional())
            .build())


def every_type_values(schema, i, nulls):
    inner = schema.field("inner")[1]
    leaf = inner.field("leaf")[1]
    def mk_inner(k):
        return Struct(inner, [k - 100, Struct(leaf, [k * 7, None if k % 2 else f"leaf {k}"]),
                              None if k % 3 else -(1 << 40) - k])
    opt = (None,) * 10 if nulls else (
        f"o{i}", (1 << 62) + i, -(1 << 31), -5, False, 0.25, -1e300, b"\x00" * 200,
        mk_inner(i + 1), [i, -i])
    return [-128 + i % 256, -(1 << 15) + i, (1 << 31) - 1 - i, -(1 << 63) + i, 1.5 + i,
            -2.25e-300 * (i + 1), i % 2 == 0, f"user_{i:06} ü", "ü" * (100 + i), bytes(range(i % 256)),
            b"\x01\x00", 19000 + i, 3_600_000 + i, 1_700_000_000_000 + i,
            [f"a{i}", "", "b" * 130], [mk_inner(i), mk_inner(i + 2)], {"k": -(1 << 63), f"k{i}": i},
            mk_inner(i)] + list(opt)


class ScannerTest(unittest.TestCase):
    """The scanners and writers specialised per schema (_packed._scanner / _writer) give what
    the generic walk (_struct_generic / _put_fields) gives, field by field."""

    def setUp(self):
        self.schema = every_type_schema()
        self.records = [
            Record(topic="t", value_schema=self.schema,
                   value=Struct(self.schema, every_type_values(self.schema, i, i % 2 == 1)))
            for i in range(6)]
        self.payload = batch_bytes(self.records)

    def generic_batch(self):
        """The same batch read with no scanners (so every struct goes through the generic walk)."""
        saved = dict(P._SCANNERS)
        P._SCANNERS.clear()
        try:
            batch = P.Batch(self.payload)
        finally:
            P._SCANNERS.update(saved)
        return batch

    def assert_same_struct(self, a, b, path):
        self.assertIs(type(a), P.PackedStruct, path)
        self.assertIs(type(b), P.PackedStruct, path)
        self.assertEqual(a._offs, b._offs, path)
        self.assertEqual(a._names, b._names, path)
        for (name, _), x, y in zip(a.schema.fields, a._all(), b._all()):
            if type(x) is P.PackedStruct:
                self.assert_same_struct(x, y, f"{path}.{name}")
            elif isinstance(x, list):
                self.assertEqual(len(x), len(y), f"{path}.{name}")
                for k, (u, v) in enumerate(zip(x, y)):
                    if type(u) is P.PackedStruct:
                        self.assert_same_struct(u, v, f"{path}.{name}[{k}]")
                    else:
                        self.assertEqual(u, v, f"{path}.{name}[{k}]")
            else:
                self.assertEqual(x, y, f"{path}.{name}")

    def test_the_schemas_have_scanners_and_writers_nested_ones_included(self):
        batch = P.Batch(self.payload)
        s = batch.records[0].value.schema
        self.assertIn(id(s), P._SCANNERS)
        inner = s.field("inner")[1]
        self.assertIn(id(inner), P._SCANNERS)
        self.assertIs(batch.records[0].value.get("inner")._write, P._WRITERS[id(inner)])

    def test_scanned_structs_read_as_the_generic_walk_reads_them(self):
        P.Batch(self.payload)  # the scanners made
        # On well-formed structs the scanners never hand over to the generic walk.
        scanners = list(P._SCANNERS.values())

        def refuse(*args):
            raise AssertionError("a scanner fell back to the generic walk")

        for scan in scanners:
            scan.__globals__["_struct_generic"] = refuse
        try:
            fast = P.Batch(self.payload).records
        finally:
            for scan in scanners:
                scan.__globals__["_struct_generic"] = P._struct_generic
        slow = self.generic_batch().records
        self.assertEqual(len(fast), len(slow))
        for i, (a, b) in enumerate(zip(fast, slow)):
            self.assert_same_struct(a.value, b.value, f"record {i}")
            # And both give the values written.
            expected = self.records[i].value.values
            got = a.value.values
            self.assertEqual(len(got), len(expected))
            for name, x, y in zip([n for n, _ in self.schema.fields], got, expected):
                if isinstance(y, Struct) or (isinstance(y, list) and y and isinstance(y[0], Struct)):
                    continue  # compared above against the generic walk
                if name in ("f32", "o_f32") and y is not None:
                    self.assertAlmostEqual(x, y, places=5, msg=name)
                else:
                    self.assertEqual(x, y, name)

    def test_the_specialised_writer_writes_what_the_generic_one_writes(self):
        def edited(batch, write):
            out = bytearray()
            for r in batch.records:
                s = r.value
                # Change every other field (strings, numbers, nulls, nested values), leave the rest.
                for k, (name, fs) in enumerate(s.schema.fields):
                    if k % 2 == 0:
                        v = s.get(name)
                        s.put(name, v.upper() if isinstance(v, str) else v)
                s.put("s", "x" * (k * 10))  # long and short strings
                s.put("o_s", None)
                if write is None:
                    s._write(out, s, 0)
                else:
                    write(out, s, 0)
            return bytes(out)

        fast = edited(P.Batch(self.payload), None)
        slow = edited(P.Batch(self.payload), P._put_fields)
        self.assertEqual(fast, slow)
        # Untouched structs are copied whole, by either.
        batch = P.Batch(self.payload)
        for r in batch.records:
            out_fast, out_slow = bytearray(), bytearray()
            r.value._write(out_fast, r.value, 0)
            P._put_fields(out_slow, r.value, 0)
            self.assertEqual(out_fast, out_slow)
            self.assertEqual(bytes(out_fast), self.payload[r.value._offs[0]:r.value._offs[-1]])

    def test_the_whole_transform_output_is_the_same(self):
        def run(payload):
            batch = P.Batch(payload)
            enc = P.Encoder(batch)
            for r in batch.records:
                r.value.put("s", r.value.get("s").upper())
                r.value.put("o_i32", 7)
                enc.keep(r)
            return enc.finish()

        fast = run(self.payload)
        saved = dict(P._SCANNERS), dict(P._WRITERS)
        P._SCANNERS.clear()
        P._WRITERS.clear()
        try:
            slow = run(self.payload)
        finally:
            P._SCANNERS.update(saved[0])
            P._WRITERS.update(saved[1])
        self.assertEqual(fast, slow)

    def test_a_record_knows_whether_its_head_was_read_or_set(self):
        # Encoder.record copies the head of a record whose _hd is None.
        batch = P.Batch(batch_bytes([user(1), user(2), user(3)]))
        a, b, c = batch.records
        self.assertIsNone(a._hd)
        self.assertEqual(b.partition, 0)
        c.timestamp = 5
        self.assertTrue(b._hd)
        self.assertTrue(c._hd)
        enc = P.Encoder(batch)
        for r in batch.records:
            enc.keep(r)
        got, _ = outcomes(enc.finish())
        self.assertEqual([r.timestamp for _, r in got], [1_700_000_000_001, 1_700_000_000_002, 5])

    def test_unusual_structs_fall_back_to_the_generic_walk_with_its_result_or_error(self):
        schema = Schema.struct().name("u2").field("a", Schema.string()).field("b", Schema.int64()).build()
        P.Batch(batch_bytes([Record(topic="t", value=Struct(schema, ["x", 1]), value_schema=schema)]))
        cached = next(s for s in P._SCHEMAS.values() if s.name == "u2")
        scan = P._SCANNERS[id(cached)]
        cases = {
            # A null where the schema says int64 (a tag the schema does not write).
            "null field": bytes([2, P.T_STRING, 1]) + b"x" + bytes([P.T_NULL]),
            # A string with a two-byte length.
            "long string": bytes([2, P.T_STRING, 0x81, 0x01]) + b"y" * 129 + bytes([P.T_INT64, 0x81, 0x01]),
            "wrong count": bytes([3, P.T_STRING, 1]) + b"x" + bytes([P.T_INT64, 2, P.T_NULL]),
            "cut short": bytes([2, P.T_STRING, 5]) + b"x",
            "varint cut short": bytes([2, P.T_STRING, 1]) + b"x" + bytes([P.T_INT64, 0x81]),
        }
        for name, body in cases.items():
            def outcome(f):
                try:
                    s = f()
                    return ("ok", s._offs)
                except Exception as e:  # noqa: BLE001
                    return (type(e).__name__, str(e))
            fast = outcome(lambda: scan(body, 0, 0))
            slow = outcome(lambda: P._struct_generic(body, 0, cached, 0)[0])
            self.assertEqual(fast, slow, name)


if __name__ == "__main__":
    unittest.main()

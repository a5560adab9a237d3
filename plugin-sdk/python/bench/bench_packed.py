"""Micro-benchmark of the Python SDK's packed path in plain CPython (not a test).

It times, per record, the three parts of a packed ``apply`` call over batches like those of
``cargo xtask bench --polyglot``'s transform (tests/bench/polyglot.rs: 20 000 records of the
4-field ``users`` struct, null key, batches of 500) with examples/python-mask-upper's
transform (mask ``email``, upper-case ``name`` and ``region``):

* decode: ``_packed.Batch(payload)``;
* apply: the plugin's ``apply`` over the decoded records (which reads the fields it touches);
* encode: ``_packed.Encoder(batch)``, ``keep`` per record, ``finish``;
* total: all three as ``sluice._exports.PackedTransformer.apply`` does them, timed as one.

Each batch is handled as ``PackedTransformer.apply`` handles it (decoded, applied, encoded,
then freed, with the cyclic GC paused when the SDK has ``_packed.gc_paused``), so the GC work
a batch causes is counted in the phase that causes it.

Each figure is the best of ``--passes`` passes over all batches, in CPU time (process_time).
``--sdk DIR`` runs another copy of the SDK (a checkout's ``plugin-sdk/python``), so two
versions can be compared on the same machine, alternating runs:

    python3 plugin-sdk/python/bench/bench_packed.py
    python3 plugin-sdk/python/bench/bench_packed.py --sdk /tmp/before/plugin-sdk/python
"""

import argparse
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sdk", default=os.path.dirname(HERE), help="the SDK directory to import")
parser.add_argument("--records", type=int, default=20_000)
parser.add_argument("--batch", type=int, default=500)
parser.add_argument("--passes", type=int, default=7)
parser.add_argument("--no-gc-pause", action="store_true",
                    help="leave the cyclic GC on even if the SDK pauses it (to see what that gains)")
args = parser.parse_args()

sys.path.insert(0, os.path.abspath(args.sdk))
sys.path.insert(0, os.path.join(REPO, "examples", "python-mask-upper"))

from sluice import Config, Keep, Record, Schema, Struct, metrics  # noqa: E402
from sluice import _packed as P  # noqa: E402
import app  # noqa: E402  (examples/python-mask-upper/app.py, unchanged)

USERS = (Schema.struct().name("users")
         .field("id", Schema.int64())
         .field("name", Schema.string())
         .field("email", Schema.string().as_optional())
         .field("region", Schema.string().as_optional())
         .build())
REGIONS = ("eu-west", "us-east", "ap-south", "sa-east")


def payloads():
    out = []
    for start in range(0, args.records, args.batch):
        enc = P.Encoder()
        for i in range(start, min(start + args.batch, args.records)):
            enc.append(Record(topic="users", key=None, value_schema=USERS,
                              value=Struct(USERS, [i, f"user_{i:06}", f"user_{i:06}@example.com",
                                                   REGIONS[i % 4]]),
                              partition=0, timestamp=1_700_000_000_000 + i,
                              timestamp_type="create-time"))
        out.append(enc.finish())
    return out


class Host:
    """Stands in for the host's `metrics` import, so counting goes the in-component way."""

    def counter_add(self, name, delta):
        pass

    def gauge_set(self, name, value):
        pass


metrics._host = Host()
spec = app.MaskUpper.spec()
transform = app.MaskUpper("example.python.MaskUpper",
                          Config([("mask.fields", "email"), ("upper.fields", "name,region")],
                                 spec.config))
apply = transform.apply


#: The SDK's policy for a batch call (sluice._exports): the cyclic GC paused, when it has one.
paused = None if args.no_gc_pause else getattr(P, "gc_paused", None)


class NoPause:
    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


def run_phases(batches):
    """One pass, each batch as PackedTransformer.apply handles it, timing its three parts."""
    clock = time.process_time_ns
    pause = paused or NoPause
    td = ta = te = 0
    outs = []
    for b in batches:
        with pause():
            metrics._begin_batch()
            t0 = clock()
            batch = P.Batch(b)
            t1 = clock()
            outcomes = [apply(r) for r in batch.records]
            t2 = clock()
            enc = P.Encoder(batch)
            for o in outcomes:
                if isinstance(o, Keep):
                    enc.keep(o.record)
                else:
                    raise AssertionError(o)
            outs.append(enc.finish())
            t3 = clock()
            metrics._end_batch()
            del batch, outcomes, enc
        td += t1 - t0
        ta += t2 - t1
        te += t3 - t2
    return td / 1e9, ta / 1e9, te / 1e9, outs


def run_total(batches):
    """One pass as sluice._exports.PackedTransformer.apply (which needs the generated
    bindings), timed as a whole."""
    pause = paused or NoPause
    t = time.process_time()
    outs = []
    for b in batches:
        with pause():
            metrics._begin_batch()
            batch = P.Batch(b)
            enc = P.Encoder(batch)
            for r in batch.records:
                o = apply(r)
                if isinstance(o, Keep):
                    enc.keep(o.record)
                else:
                    raise AssertionError(o)
            outs.append(enc.finish())
            metrics._end_batch()
    return time.process_time() - t, outs


def main():
    batches = payloads()
    n = args.records
    best = {"decode": float("inf"), "apply": float("inf"), "encode": float("inf"), "total": float("inf")}
    digest = None
    for _ in range(args.passes):
        td, ta, te, outs = run_phases(batches)
        tt, outs2 = run_total(batches)
        if outs != outs2:
            raise AssertionError("phased and total outputs differ")
        d = hashlib.md5(b"".join(outs)).hexdigest()
        if digest is not None and d != digest:
            raise AssertionError("output differs between passes")
        digest = d
        for k, v in (("decode", td), ("apply", ta), ("encode", te), ("total", tt)):
            best[k] = min(best[k], v)
    us = {k: v * 1e6 / n for k, v in best.items()}
    print(f"sdk={os.path.relpath(os.path.abspath(args.sdk), REPO)} python={sys.version.split()[0]} "
          f"records={n} batch={args.batch} passes={args.passes} gc_paused={paused is not None} "
          f"output_md5={digest}")
    print("µs/record: " + "  ".join(f"{k} {v:.2f}" for k, v in us.items()))


main()

// The export adapters: from a plugin class to the objects a WIT world's exports expect
// (`exportTransform`, `exportSink`, `exportSource`, `exportPredicate`). The calls stay
// batched: each adapter takes a whole batch, calls the plugin once per record (or once per
// batch for a sink), and returns the results together.
//
// Each data-path kind has two forms (docs/packed-batches.md): the structured interface of its
// world (`transforms`, `sink-connector`, `source-connector`), whose batches jco lifts into
// JavaScript objects record by record, and the packed one (`packedTransforms`, `packedSink`,
// `packedSource`: one byte buffer per batch, decoded lazily by packed/batch.js). A component
// built for the `*-packed` world exports both and the host uses the packed one; the plugin
// class is the same either way.

import { Config } from "./config.js";
import { DataError, Outcome, TaskError } from "./data.js";
import { flushMetrics } from "./metrics.js";
import { OffsetMapWriter, PackedBatch, PackedOutput, writeOffsetMap } from "./packed/batch.js";
import { Lowerer, liftBatch, liftOffsetMap, lowerOffsetMap } from "./wire.js";

function lowerSpec(spec, kind) {
  return {
    name: spec.name,
    aliases: spec.aliases,
    version: spec.version,
    kind,
    description: spec.description,
    config: spec.config.map((d) => ({
      name: d.name,
      type: d.type,
      defaultValue: d.defaultValue,
      required: d._required,
      secret: d.secret,
      importance: d._importance,
      documentation: d.documentation,
      group: d.group,
      recommendedValues: d.recommendedValues,
      fileAccess: d.fileAccess,
    })),
  };
}

function pluginExport(cls, kind) {
  let defs = null;
  const config = (entries) => {
    defs ??= cls.spec().config;
    return new Config(entries, defs);
  };
  const plugin = {
    spec: () => lowerSpec(cls.spec(), kind),
    validate: (entries) => (cls.validate ? cls.validate(config(entries)) : [])
      .map((p) => ({ key: p.key, message: p.message })),
  };
  return { plugin, config };
}

/** The message of anything thrown, for a WIT error string. */
function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

// jco maps a thrown value to the `err` case of a WIT result; it unwraps `payload` when set.
function taskError(e) {
  const kind = e instanceof TaskError ? e.kind : "fatal";
  const err = new Error(messageOf(e));
  err.payload = { tag: kind, val: messageOf(e) };
  return err;
}

function stringError(e) {
  const err = new Error(messageOf(e));
  err.payload = messageOf(e);
  return err;
}

function isThenable(x) {
  return x !== null && typeof x === "object" && typeof x.then === "function";
}

/** A promised outcome; a rejection fails the record (as a throw does). */
function settle(promise) {
  return Promise.resolve(promise).then((out) => out, (e) => Outcome.fail(messageOf(e)));
}

/** `instance.apply(lifted)`: an outcome or a promise of one; a throw fails this record only. */
function callApply(instance, lifted) {
  if (lifted instanceof DataError) return Outcome.fail(lifted.message);
  try {
    return instance.apply(lifted);
  } catch (e) {
    // A throw fails this record only (Connect's DataException), not the task.
    return Outcome.fail(messageOf(e));
  }
}

function lowerOutcome(out, lowerer) {
  switch (out?.kind) {
    case "keep":
      try {
        return { tag: "keep", val: lowerer.record(out.record) };
      } catch (e) {
        return { tag: "fail", val: messageOf(e) };
      }
    case "drop": return { tag: "drop" };
    case "fail": return { tag: "fail", val: out.message };
    default:
      return { tag: "fail", val: `plugin bug: apply() returned ${JSON.stringify(out)}; return Outcome.keep/drop/fail` };
  }
}

/**
 * Exports a transform class. The class has `static spec()`, optional `static validate(config)`,
 * a constructor `(className, config)` that throws to refuse the config, and `apply(record)`
 * returning an Outcome — or a promise of one (`async apply`, to `await fetch(…)`). Use:
 * `export const { plugin, transforms, packedTransforms } = exportTransform(MyTransform);` and
 * build for the `transform-packed` world (`transforms` alone, for the `transform` world, works too:
 * the host then takes the slower structured path).
 */
export function exportTransform(cls) {
  const { plugin, config } = pluginExport(cls, "transform");
  class Transformer {
    constructor(instance) { this.instance = instance; }
    static create(className, entries) {
      try {
        return new Transformer(new cls(className, config(entries)));
      } catch (e) {
        throw stringError(e);
      } finally {
        flushMetrics();
      }
    }
    /**
     * One outcome per record. An `apply` that returns a promise (an `async apply`, e.g. one
     * that awaits `fetch`) is awaited before the next record's `apply` is called, so records
     * are handled one at a time and in order either way; the batch's result is then a
     * promise, which componentize-js resolves by running the event loop within the call.
     */
    apply(batch) {
      try {
        const lowerer = new Lowerer();
        const records = liftBatch(batch);
        const outcomes = [];
        for (let i = 0; i < records.length; i++) {
          const out = callApply(this.instance, records[i]);
          if (isThenable(out)) return this.applyAsync(records, i, out, outcomes, lowerer);
          outcomes.push(lowerOutcome(out, lowerer));
        }
        return { schemas: lowerer.schemas, outcomes };
      } finally {
        flushMetrics();
      }
    }
    async applyAsync(records, first, pending, outcomes, lowerer) {
      outcomes.push(lowerOutcome(await settle(pending), lowerer));
      for (let i = first + 1; i < records.length; i++) {
        let out = callApply(this.instance, records[i]);
        if (isThenable(out)) out = await settle(out);
        outcomes.push(lowerOutcome(out, lowerer));
      }
      flushMetrics();
      return { schemas: lowerer.schemas, outcomes };
    }
  }
  // The same over packed batches: records decode lazily and unchanged bytes are copied.
  class PackedTransformer {
    constructor(instance) {
      this.instance = instance;
      // Schemas by their bytes, so the plugin sees one Schema object per schema across batches.
      this.schemas = new Map();
    }
    static create(className, entries) {
      try {
        return new PackedTransformer(new cls(className, config(entries)));
      } catch (e) {
        throw stringError(e);
      } finally {
        flushMetrics();
      }
    }
    apply(bytes) {
      try {
        // A copy the records can keep referring to after the call (a plugin may keep them).
        const input = new PackedBatch(copyOf(bytes), this.schemas);
        const output = new PackedOutput(input);
        const instance = this.instance;
        for (let i = 0; i < input.count; i++) {
          // callApply and isThenable inlined: this loop runs once per record, interpreted.
          let out;
          try {
            out = instance.apply(input.record());
          } catch (e) {
            out = Outcome.fail(messageOf(e));
          }
          if (out?.kind === undefined && isThenable(out)) return this.applyAsync(input, output, i, out);
          writeOutcome(out, output);
        }
        input.finish();
        return output.finish();
      } finally {
        flushMetrics();
      }
    }
    async applyAsync(input, output, first, pending) {
      writeOutcome(await settle(pending), output);
      for (let i = first + 1; i < input.count; i++) {
        let out = callApply(this.instance, input.record());
        if (isThenable(out)) out = await settle(out);
        writeOutcome(out, output);
      }
      input.finish();
      flushMetrics();
      return output.finish();
    }
  }
  return { plugin, transforms: { Transformer }, packedTransforms: { PackedTransformer } };
}

/**
 * A copy of a packed batch that records can keep referring to after the call (a sink may
 * buffer them). Not `slice()`: inside the component that copies element by element (~0.7 ms
 * for 34 KB), where `set` is one memcpy.
 */
function copyOf(bytes) {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/** Appends one packed transform outcome: `0 record` (keep), `1` (drop), `2 message` (fail). */
function writeOutcome(out, output) {
  const w = output.body;
  output.count += 1;
  switch (out?.kind) {
    case "keep": {
      const mark = w.len;
      if (mark === w.buf.length) w.reserve(1);
      w.buf[w.len++] = 0;
      try {
        // PackedOutput.record's test inline: the input's own records (the usual case) are
        // written from their bytes.
        const rec = out.record;
        if (rec._batch === output.input && rec._batch !== undefined) output.packedRecord(rec);
        else output.record(rec);
      } catch (e) {
        w.len = mark;
        w.u8(2);
        w.str(messageOf(e));
      }
      return;
    }
    case "drop": w.u8(1); return;
    case "fail": w.u8(2); w.str(out.message); return;
    default:
      w.u8(2);
      w.str(`plugin bug: apply() returned ${JSON.stringify(out)}; return Outcome.keep/drop/fail`);
  }
}

/** The plugin's reported failures mapped back to batch positions, after the decode failures. */
function mergeFailures(failures, reported, positions, count) {
  for (const f of reported) {
    const index = positions[f.index];
    if (index === undefined) {
      throw taskError(TaskError.fatal(`plugin bug: put() reported a failure at index ${f.index} of a ${count}-record batch`));
    }
    failures.push({ index, message: String(f.message) });
  }
  return failures.sort((a, b) => a.index - b.index);
}

/** `instance.put(records)` with the failures mapped back to batch positions. */
function putRecords(instance, records, positions, failures) {
  if (records.length === 0) return failures;
  let reported;
  try {
    reported = instance.put(records);
  } catch (e) {
    throw taskError(e);
  } finally {
    flushMetrics();
  }
  // An `async put` (e.g. one that awaits `fetch`): the call's result is a promise, which
  // componentize-js resolves by running the event loop within the call.
  if (isThenable(reported)) {
    return Promise.resolve(reported).then(
      (r) => mergeFailures(failures, r ?? [], positions, records.length),
      (e) => { throw taskError(e); },
    ).finally(flushMetrics);
  }
  return mergeFailures(failures, reported ?? [], positions, records.length);
}

function flushSink(instance, offsets) {
  try {
    instance.flush?.(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })));
  } catch (e) {
    throw taskError(e);
  } finally {
    flushMetrics();
  }
}

/**
 * Exports a sink class: `static spec()`, optional `static validate(config)` and
 * `static taskConfigs(config, maxTasks)`, a constructor `(config)`, `put(records)` returning
 * `[{ index, message }]` for records it could not write (or a promise of that: `async put`),
 * optional `flush(offsets)` and `stop()`.
 * Throw `TaskError.retriable/fatal` from any of them to fail the call.
 * Use: `export const { plugin, sinkConnector, packedSink } = exportSink(MySink);` (world
 * `sink-packed`; without `packedSink`, world `sink`).
 */
export function exportSink(cls) {
  const { plugin, config } = pluginExport(cls, "sink");
  class SinkTask {
    constructor(instance) { this.instance = instance; }
    static open(entries) {
      try {
        return new SinkTask(new cls(config(entries)));
      } catch (e) {
        throw taskError(e);
      } finally {
        flushMetrics();
      }
    }
    put(batch) {
      const failures = [];
      const records = [];
      const positions = [];
      liftBatch(batch).forEach((lifted, i) => {
        if (lifted instanceof DataError) failures.push({ index: i, message: lifted.message });
        else {
          records.push(lifted);
          positions.push(i);
        }
      });
      return putRecords(this.instance, records, positions, failures);
    }
    flush(offsets) { flushSink(this.instance, offsets); }
    stop() { this.instance.stop?.(); }
  }
  // The same over packed batches: records decode lazily, as the plugin reads them.
  class PackedSinkTask {
    constructor(instance) {
      this.instance = instance;
      this.schemas = new Map();
    }
    static open(entries) {
      try {
        return new PackedSinkTask(new cls(config(entries)));
      } catch (e) {
        throw taskError(e);
      } finally {
        flushMetrics();
      }
    }
    put(bytes) {
      let input;
      try {
        input = new PackedBatch(copyOf(bytes), this.schemas);
      } catch (e) {
        throw taskError(TaskError.fatal(messageOf(e)));
      }
      const failures = [];
      const records = [];
      const positions = [];
      for (let i = 0; i < input.count; i++) {
        const record = input.record();
        try {
          // Reading both sides checks that each struct has its schema's fields, so a record
          // that does not fit fails alone (as on the structured path), before `put`.
          void record.key;
          void record.value;
          records.push(record);
          positions.push(i);
        } catch (e) {
          failures.push({ index: i, message: messageOf(e) });
        }
      }
      input.finish();
      return putRecords(this.instance, records, positions, failures);
    }
    flush(offsets) { flushSink(this.instance, offsets); }
    stop() { this.instance.stop?.(); }
  }
  const taskConfigs = (entries, maxTasks) => {
    try {
      const c = config(entries);
      const out = cls.taskConfigs ? cls.taskConfigs(c, maxTasks) : Array.from({ length: maxTasks }, () => c);
      return out.map((x) => (x instanceof Config ? x.entries : x));
    } catch (e) {
      throw stringError(e);
    }
  };
  return { plugin, sinkConnector: { taskConfigs, SinkTask }, packedSink: { PackedSinkTask } };
}

/**
 * Exports a source class: `static spec()`, optional `static validate` / `static taskConfigs`,
 * a constructor `(config, committed)` where `committed` is `[{ partition, offset }]` (plain
 * objects), `poll(maxRecords)` returning SourceRecords (an empty array: nothing right now),
 * optional `stop()`. Use:
 * `export const { plugin, sourceConnector, packedSource } = exportSource(MySource);` (world
 * `source-packed`; without `packedSource`, world `source`).
 */
export function exportSource(cls) {
  const { plugin, config } = pluginExport(cls, "source");
  class SourceTask {
    constructor(instance) { this.instance = instance; }
    static open(entries, committed) {
      try {
        const positions = committed.map((p) => ({ partition: liftOffsetMap(p.partition), offset: liftOffsetMap(p.offset) }));
        return new SourceTask(new cls(config(entries), positions));
      } catch (e) {
        throw taskError(e);
      } finally {
        flushMetrics();
      }
    }
    poll(maxRecords) {
      const records = pollRecords(this.instance, maxRecords);
      const lowerer = new Lowerer();
      try {
        const lowered = records.map((r) => ({
          sourcePartition: lowerOffsetMap(r.sourcePartition),
          sourceOffset: lowerOffsetMap(r.sourceOffset),
          record: lowerer.record(r.record),
        }));
        return { schemas: lowerer.schemas, records: lowered };
      } catch (e) {
        throw unsendable(e);
      }
    }
    stop() { this.instance.stop?.(); }
  }
  // The same with the batch written as one packed buffer.
  class PackedSourceTask {
    constructor(instance) { this.instance = instance; }
    static open(entries, committed) {
      return new PackedSourceTask(SourceTask.open(entries, committed).instance);
    }
    poll(maxRecords) {
      const records = pollRecords(this.instance, maxRecords);
      const output = new PackedOutput();
      const partitions = new OffsetMapWriter(output.body);
      try {
        for (let i = 0; i < records.length; i++) {
          const r = records[i];
          partitions.write(r.sourcePartition);
          writeOffsetMap(output.body, r.sourceOffset);
          output.record(r.record);
          output.count += 1;
        }
      } catch (e) {
        throw unsendable(e);
      }
      return output.finish();
    }
    stop() { this.instance.stop?.(); }
  }
  const taskConfigs = (entries, maxTasks) => {
    try {
      const c = config(entries);
      const out = cls.taskConfigs ? cls.taskConfigs(c, maxTasks) : [c];
      return out.map((x) => (x instanceof Config ? x.entries : x));
    } catch (e) {
      throw stringError(e);
    }
  };
  return { plugin, sourceConnector: { taskConfigs, SourceTask }, packedSource: { PackedSourceTask } };
}

/** `instance.poll(maxRecords)`: the records, or the task error it threw. */
function pollRecords(instance, maxRecords) {
  try {
    return instance.poll(maxRecords) ?? [];
  } catch (e) {
    throw taskError(e);
  } finally {
    flushMetrics();
  }
}

function unsendable(e) {
  return taskError(TaskError.fatal(`poll() returned a record that cannot be sent: ${messageOf(e)}`));
}

/**
 * Exports a predicate class (for conditional transforms, `transforms.<t>.predicate`): `static
 * spec()`, optional `static validate(config)`, a constructor `(className, config)` that throws
 * to refuse the config, and `test(record)` returning whether the predicate holds. A throw
 * fails that record only. Use: `export const { plugin, predicates } = exportPredicate(MyPredicate);`
 */
export function exportPredicate(cls) {
  const { plugin, config } = pluginExport(cls, "predicate");
  class Tester {
    constructor(instance) { this.instance = instance; }
    static create(className, entries) {
      try {
        return new Tester(new cls(className, config(entries)));
      } catch (e) {
        throw stringError(e);
      }
    }
    test(batch) {
      try {
        return this.testAll(batch);
      } finally {
        flushMetrics();
      }
    }
    testAll(batch) {
      return liftBatch(batch).map((lifted) => {
        if (lifted instanceof DataError) return { tag: "err", val: lifted.message };
        let holds;
        try {
          holds = this.instance.test(lifted);
        } catch (e) {
          return { tag: "err", val: messageOf(e) };
        }
        if (typeof holds !== "boolean") {
          return { tag: "err", val: `plugin bug: test() returned ${JSON.stringify(holds)}; return true or false` };
        }
        return { tag: "ok", val: holds };
      });
    }
  }
  return { plugin, predicates: { Tester } };
}

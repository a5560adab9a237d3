// The export adapters: from a plugin class to the objects a WIT world's exports expect
// (`exportTransform`, `exportSink`, `exportSource`, `exportPredicate`). The calls stay
// batched: each adapter lifts a whole batch, calls the plugin once per record, and lowers
// the results together.

import { Config } from "./config.js";
import { DataError, Outcome, TaskError } from "./data.js";
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
 * returning an Outcome — or a promise of one (`async apply`, to `await fetch(…)`). Use: `export const { plugin, transforms } = exportTransform(MyTransform);`
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
      }
    }
    /**
     * One outcome per record. An `apply` that returns a promise (an `async apply`, e.g. one
     * that awaits `fetch`) is awaited before the next record's `apply` is called, so records
     * are handled one at a time and in order either way; the batch's result is then a
     * promise, which componentize-js resolves by running the event loop within the call.
     */
    apply(batch) {
      const lowerer = new Lowerer();
      const records = liftBatch(batch);
      const outcomes = [];
      for (let i = 0; i < records.length; i++) {
        const out = callApply(this.instance, records[i]);
        if (isThenable(out)) return this.applyAsync(records, i, out, outcomes, lowerer);
        outcomes.push(lowerOutcome(out, lowerer));
      }
      return { schemas: lowerer.schemas, outcomes };
    }
    async applyAsync(records, first, pending, outcomes, lowerer) {
      outcomes.push(lowerOutcome(await settle(pending), lowerer));
      for (let i = first + 1; i < records.length; i++) {
        let out = callApply(this.instance, records[i]);
        if (isThenable(out)) out = await settle(out);
        outcomes.push(lowerOutcome(out, lowerer));
      }
      return { schemas: lowerer.schemas, outcomes };
    }
  }
  return { plugin, transforms: { Transformer } };
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

/**
 * Exports a sink class: `static spec()`, optional `static validate(config)` and
 * `static taskConfigs(config, maxTasks)`, a constructor `(config)`, `put(records)` returning
 * `[{ index, message }]` for records it could not write (or a promise of that: `async put`),
 * optional `flush(offsets)` and `stop()`.
 * Throw `TaskError.retriable/fatal` from any of them to fail the call.
 * Use: `export const { plugin, sinkConnector } = exportSink(MySink);`
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
      if (records.length === 0) return failures;
      let reported;
      try {
        reported = this.instance.put(records);
      } catch (e) {
        throw taskError(e);
      }
      // An `async put` (e.g. one that awaits `fetch`): the call's result is a promise, which
      // componentize-js resolves by running the event loop within the call.
      if (isThenable(reported)) {
        return Promise.resolve(reported).then(
          (r) => mergeFailures(failures, r ?? [], positions, records.length),
          (e) => { throw taskError(e); },
        );
      }
      return mergeFailures(failures, reported ?? [], positions, records.length);
    }
    flush(offsets) {
      try {
        this.instance.flush?.(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })));
      } catch (e) {
        throw taskError(e);
      }
    }
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
  return { plugin, sinkConnector: { taskConfigs, SinkTask } };
}

/**
 * Exports a source class: `static spec()`, optional `static validate` / `static taskConfigs`,
 * a constructor `(config, committed)` where `committed` is `[{ partition, offset }]` (plain
 * objects), `poll(maxRecords)` returning SourceRecords (an empty array: nothing right now),
 * optional `stop()`. Use: `export const { plugin, sourceConnector } = exportSource(MySource);`
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
      }
    }
    poll(maxRecords) {
      let records;
      try {
        records = this.instance.poll(maxRecords) ?? [];
      } catch (e) {
        throw taskError(e);
      }
      const lowerer = new Lowerer();
      try {
        const lowered = records.map((r) => ({
          sourcePartition: lowerOffsetMap(r.sourcePartition),
          sourceOffset: lowerOffsetMap(r.sourceOffset),
          record: lowerer.record(r.record),
        }));
        return { schemas: lowerer.schemas, records: lowered };
      } catch (e) {
        throw taskError(TaskError.fatal(`poll() returned a record that cannot be sent: ${messageOf(e)}`));
      }
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
  return { plugin, sourceConnector: { taskConfigs, SourceTask } };
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

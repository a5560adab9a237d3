// The benchmarks' input: the polyglot benchmark's users (tests/bench/polyglot.rs: a 4-field
// struct, null key) as packed batches, written by the SDK in `sdkDir` itself. Shared by
// mask-upper.mjs and component.mjs so both measure the same bytes.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const REGIONS = ["eu-west", "us-east", "ap-south", "sa-east"];

export async function usersBatches(sdkDir, records, batch) {
  const { Record, Schema, Struct } = await import(pathToFileURL(join(sdkDir, "sluice.js")).href);
  const { PackedOutput } = await import(pathToFileURL(join(sdkDir, "sluice", "packed", "batch.js")).href);
  const users = Schema.struct().name("users")
    .field("id", Schema.int64())
    .field("name", Schema.string())
    .field("email", Schema.string().asOptional())
    .field("region", Schema.string().asOptional())
    .build();
  const out = [];
  for (let from = 0; from < records; from += batch) {
    const w = new PackedOutput();
    for (let i = from; i < Math.min(from + batch, records); i++) {
      const id = String(i).padStart(6, "0");
      w.record(new Record("users", {
        partition: 0,
        timestamp: 1_700_000_000_000 + i,
        valueSchema: users,
        value: new Struct(users, [BigInt(i), `user_${id}`, `user_${id}@example.com`, REGIONS[i % 4]]),
      }));
      w.count += 1;
    }
    out.push(w.finish().slice());
  }
  return out;
}

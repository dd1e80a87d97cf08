/** The relay's durable log (src/relay/log_store.ts): torn tails, corruption, retention. */

import assert from "node:assert/strict";
import {
  formatRecord,
  RelayLog,
  type RelayRecord,
} from "../src/relay/log_store.ts";

const record = (offset: number): RelayRecord => ({
  topic: "eqiad.mediawiki.recentchange",
  partition: 0,
  offset,
  timestamp: 1_790_000_000_000 + offset,
  data: JSON.stringify({ meta: { offset, dt: "2026-09-27T16:00:00Z" } }),
});

async function reopen(dir: string, options = {}) {
  const records: RelayRecord[] = [];
  const log = await RelayLog.open(dir, (r) => records.push(r), options);
  return { log, records };
}

Deno.test("a torn last record (a kill mid-write) is cut off on open, and appending goes on after it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eventstreams_log_" });
  try {
    const { log } = await reopen(dir);
    await log.append([record(1), record(2)]);
    await log.close();
    const path = `${dir}/000000000001.ndjson`;
    const whole = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, formatRecord(record(3)).slice(0, 30), {
      append: true,
    });
    const second = await reopen(dir);
    assert.deepEqual(second.records, [record(1), record(2)]);
    assert.equal(await Deno.readTextFile(path), whole);
    await second.log.append([record(3)]);
    await second.log.close();
    const third = await reopen(dir);
    assert.deepEqual(third.records.map((r) => r.offset), [1, 2, 3]);
    assert.equal(third.log.bytes, (await Deno.stat(path)).size);
    await third.log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt record before the last segment's tail is refused, naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eventstreams_log_" });
  try {
    const { log } = await reopen(dir, { segmentBytes: 1 });
    await log.append([record(1)]);
    await log.append([record(2)]); // Rolls: segment 1 is closed.
    await log.close();
    await Deno.writeTextFile(`${dir}/000000000001.ndjson`, "{oops\n");
    await assert.rejects(
      () => reopen(dir),
      (error: Error) =>
        error instanceof SyntaxError &&
        error.message.includes("000000000001.ndjson has a corrupt record"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("retention drops whole segments last written before it, never the newest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eventstreams_log_" });
  try {
    const { log } = await reopen(dir, { segmentBytes: 1 });
    await log.append([record(1)]);
    await log.append([record(2)]);
    await log.append([record(3)]);
    await log.close();
    const old = new Date(Date.now() - 2 * 3_600_000);
    for (const name of ["000000000001", "000000000002", "000000000003"]) {
      await Deno.utime(`${dir}/${name}.ndjson`, old, old);
    }
    const reopened = await reopen(dir, { retainMs: 3_600_000 });
    assert.deepEqual(reopened.records.map((r) => r.offset), [3]);
    await reopened.log.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a record's data comes back from the log exactly as the server sent it: spacing and integers beyond 2^53 kept across a reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eventstreams_log_" });
  try {
    const sent = {
      ...record(1),
      data:
        '{"meta": {"offset": 1, "dt": "2026-09-27T16:00:00Z"}, "rev": 12345678901234567891}',
    };
    const { log } = await reopen(dir);
    await log.append([sent, record(2)]);
    await log.close();
    const { log: reopened, records } = await reopen(dir);
    await reopened.close();
    assert.deepEqual(records, [sent, record(2)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

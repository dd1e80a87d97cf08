import assert from "node:assert/strict";
import { LineWriter } from "../src/cli/line_writer.ts";
import type { CliOutput } from "../src/cli/io.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

/**
 * An output that records each write, writing at most `most` bytes per call;
 * `sync`: a file (written synchronously), else a pipe (asynchronously).
 */
function recording(
  sync: boolean,
  most = Infinity,
): CliOutput & { writes: string[] } {
  const decoder = new TextDecoder();
  const record = (bytes: Uint8Array) => {
    const n = Math.min(bytes.length, most);
    output.writes.push(decoder.decode(bytes.subarray(0, n), { stream: true }));
    return n;
  };
  const output = {
    writes: [] as string[],
    write(bytes: Uint8Array): Promise<number> {
      if (sync) throw new Error("a file is written synchronously");
      return Promise.resolve(record(bytes));
    },
    writeSync(bytes: Uint8Array): number {
      if (!sync) throw new Error("a pipe is written asynchronously");
      return record(bytes);
    },
    isTerminal: () => false,
    writesWithoutWaiting: () => sync,
  };
  return output;
}

Deno.test("line writer: lines wait in one buffer until the event loop turns (the idle flush), then go out in one write with their mark", async () => {
  for (const sync of [false, true]) await idleFlush(sync);
});

async function idleFlush(sync: boolean) {
  const clock = new ManualClock(0);
  const output = recording(sync);
  let handedOver = 0;
  const lines = new LineWriter(output, { clock, mark: () => handedOver });
  assert.equal(lines.writeLine('{"a":1}'), undefined);
  assert.equal(lines.writeLine('{"b":"é"}'), undefined);
  handedOver = 2;
  assert.deepEqual(output.writes, []);
  assert.equal(clock.pendingTimers, 1); // One timer for any number of lines.
  await clock.tick(0);
  assert.deepEqual(output.writes, ['{"a":1}\n{"b":"é"}\n']);
  assert.equal(lines.lastWrittenMark, 2);
  assert.equal(clock.pendingTimers, 0);
  await lines.flush(); // Nothing buffered: nothing written.
  assert.equal(output.writes.length, 1);
}

Deno.test("line writer: a line that does not fit goes out after the buffer, awaitable; order and bytes are kept through short writes", async () => {
  for (const sync of [false, true]) await overflow(sync);
});

async function overflow(sync: boolean) {
  const clock = new ManualClock(0);
  const output = recording(sync, 1000); // Short writes are continued.
  const hooks: string[] = [];
  let handedOver = 0;
  const lines = new LineWriter(output, {
    clock,
    beforeWrite: () => hooks.push("before"),
    afterWrite: () => hooks.push("after"),
    mark: () => handedOver,
  });
  const expected: string[] = [];
  let batches = 0;
  for (let i = 0; i < 30_000; i++) {
    const line = `${i}:${"x".repeat(i % 97)}ü`;
    handedOver = i + 1;
    const batch = lines.writeLine(line);
    expected.push(line);
    if (batch) {
      batches++;
      await batch;
    }
    // A write while a line waits for room has no mark: the mark (what the
    // caller handed over, this line included) never runs ahead of the writes.
    assert.ok((lines.lastWrittenMark ?? 0) < i + 1);
  }
  // 1.6 MB of lines: a full buffer went out (a promise to wait on when async).
  assert.ok(output.writes.length > 0, "a full buffer is written at once");
  assert.equal(batches > 0, !sync);
  const long = "y".repeat(2_000_000);
  handedOver++;
  await lines.writeLine(long);
  expected.push(long);
  await lines.flush();
  assert.equal(output.writes.join(""), expected.map((l) => `${l}\n`).join(""));
  assert.equal(clock.pendingTimers, 0); // flush() cancels the idle flush.
  assert.equal(lines.lastWrittenMark, handedOver); // All written.
  // A write per full buffer, then the buffer and the long line apart.
  assert.ok(hooks.length >= 2 * (batches + 2));
  for (let i = 0; i < hooks.length; i += 2) {
    assert.deepEqual(hooks.slice(i, i + 2), ["before", "after"]);
  }
}

Deno.test("line writer: a failed write (a closed pipe) fails every later call with its error, and keeps the last written mark", async () => {
  for (const sync of [false, true]) await failure(sync);
});

async function failure(sync: boolean) {
  const clock = new ManualClock(0);
  const closed = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  let calls = 0;
  let handedOver = 0;
  const write = () => {
    calls++;
    if (calls === 1) return 4;
    throw closed;
  };
  const lines = new LineWriter({
    write: async () => {
      if (sync) throw new Error("a file is written synchronously");
      await Promise.resolve();
      return write();
    },
    writeSync: () => {
      if (!sync) throw new Error("a pipe is written asynchronously");
      return write();
    },
    isTerminal: () => false,
    writesWithoutWaiting: () => sync,
  }, { clock, mark: () => handedOver });
  lines.writeLine("one");
  handedOver = 1;
  await lines.flush();
  assert.equal(lines.lastWrittenMark, 1);
  lines.writeLine("two");
  handedOver = 2;
  await clock.tick(0); // The idle flush fails; the error is kept.
  assert.equal(calls, 2);
  assert.throws(() => lines.writeLine("three"), (e) => e === closed);
  await assert.rejects(lines.flush(), (e) => e === closed);
  assert.equal(calls, 2);
  assert.equal(lines.lastWrittenMark, 1);
}

Deno.test("line writer: to a pipe, one write at a time and one buffer filling: a stalled reader holds the caller instead of memory growing", async () => {
  const clock = new ManualClock(0);
  const pending: (() => void)[] = [];
  let written = 0;
  const lines = new LineWriter({
    write(bytes: Uint8Array): Promise<number> {
      return new Promise((resolve) =>
        pending.push(() => {
          written += bytes.length;
          resolve(bytes.length);
        })
      );
    },
    writeSync: () => {
      throw new Error("a pipe is written asynchronously");
    },
    isTerminal: () => false,
    writesWithoutWaiting: () => false,
  }, { clock });
  const line = "z".repeat(999); // 1,000 bytes with its newline.
  lines.writeLine(line);
  await clock.tick(0); // The idle flush starts the first write; the reader stalls.
  assert.equal(pending.length, 1);
  let buffered = 0;
  let held: Promise<void> | undefined;
  while (held === undefined) {
    held = lines.writeLine(line);
    // Idle flushes start nothing while a write is in flight.
    if (++buffered % 64 === 0) await clock.tick(0);
  }
  assert.equal(pending.length, 1, "one write in flight");
  // One 1 MiB buffer filled meanwhile (1,048 lines), then the caller waits.
  assert.equal(buffered, 1049);
  let released = false;
  held.then(() => released = true);
  await clock.tick(0);
  assert.equal(released, false);
  pending.shift()!(); // The reader drains the first write...
  await clock.tick(0);
  assert.equal(released, true); // ...the full buffer is being written, the line buffered.
  assert.equal(pending.length, 1);
  const done = lines.flush();
  pending.shift()!();
  await clock.tick(0);
  pending.shift()!();
  await done;
  assert.equal(written, 1000 * (1 + buffered));
});

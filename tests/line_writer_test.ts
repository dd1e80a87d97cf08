import assert from "node:assert/strict";
import { LineWriter } from "../src/cli/line_writer.ts";
import type { CliOutput } from "../src/cli/io.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

/** An output that records each write, writing at most `most` bytes per call. */
function recording(most = Infinity): CliOutput & { writes: string[] } {
  const decoder = new TextDecoder();
  const output = {
    writes: [] as string[],
    write: () => Promise.reject(new Error("lines are written synchronously")),
    writeSync(bytes: Uint8Array): number {
      const n = Math.min(bytes.length, most);
      output.writes.push(
        decoder.decode(bytes.subarray(0, n), { stream: true }),
      );
      return n;
    },
    isTerminal: () => false,
  };
  return output;
}

Deno.test("line writer: lines wait in one buffer until the event loop turns (the idle flush), then go out in one write", async () => {
  const clock = new ManualClock(0);
  const output = recording();
  const lines = new LineWriter(output, { clock });
  lines.writeLine('{"a":1}');
  lines.writeLine('{"b":"é"}');
  assert.deepEqual(output.writes, []);
  assert.equal(clock.pendingTimers, 1); // One timer for any number of lines.
  await clock.tick(0);
  assert.deepEqual(output.writes, ['{"a":1}\n{"b":"é"}\n']);
  assert.equal(clock.pendingTimers, 0);
  lines.flush(); // Nothing buffered: nothing written.
  assert.equal(output.writes.length, 1);
});

Deno.test("line writer: a full buffer is written before the line that does not fit; a line longer than the buffer goes on its own; order and bytes are kept", () => {
  const clock = new ManualClock(0);
  const output = recording(1000); // Short writes are continued.
  const hooks: string[] = [];
  const lines = new LineWriter(output, {
    clock,
    beforeWrite: () => hooks.push("before"),
    afterWrite: () => hooks.push("after"),
  });
  const expected: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const line = `${i}:${"x".repeat(i % 97)}ü`;
    lines.writeLine(line);
    expected.push(line);
  }
  const long = "y".repeat(200_000);
  lines.writeLine(long);
  expected.push(long);
  lines.writeLine("last");
  expected.push("last");
  assert.ok(output.writes.length > 0, "a full buffer is written at once");
  lines.flush();
  assert.equal(output.writes.join(""), expected.map((l) => `${l}\n`).join(""));
  assert.equal(clock.pendingTimers, 0); // flush() cancels the idle flush.
  assert.equal(hooks.length % 2, 0);
  assert.ok(hooks.length >= 6); // The buffered lines, the long one, the rest.
});

Deno.test("line writer: a failed write (a closed pipe) fails every later call with its error", async () => {
  const clock = new ManualClock(0);
  const closed = new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
  let calls = 0;
  const lines = new LineWriter({
    write: () => Promise.reject(closed),
    writeSync: () => {
      calls++;
      throw closed;
    },
    isTerminal: () => false,
  }, { clock });
  lines.writeLine("one");
  await clock.tick(0); // The idle flush fails; the error is kept.
  assert.equal(calls, 1);
  assert.throws(() => lines.writeLine("two"), (e) => e === closed);
  assert.throws(() => lines.flush(), (e) => e === closed);
  assert.equal(calls, 1);
});

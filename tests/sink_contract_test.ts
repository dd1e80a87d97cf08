/**
 * `runSink()` against an in-memory sink and a scripted upstream, on a
 * manual clock: batch triggers, the cursor written with each batch, and
 * backpressure (no reads while a write fails, the upstream closed after the
 * bound, a reopen from the stored cursor).
 */
import assert from "node:assert/strict";
import type { EventStream } from "../src/client.ts";
import type { EventStreamStats } from "../src/options.ts";
import { runSink, type Sink, type SinkState } from "../src/sink/contract.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

/** An upstream the test feeds: each event carries the cursor the stream has after it. */
class ScriptedStream implements EventStream<number> {
  cursor = "";
  eventText = ""; // The sink never reads it.
  reads = 0;
  closed = false;
  #queue: { event: number; cursor: string }[] = [];
  #waiting: ((result: IteratorResult<number>) => void) | undefined;
  constructor(readonly opened: string | undefined) {}
  get stats(): EventStreamStats {
    return {} as EventStreamStats;
  }
  push(event: number, cursor = `c${event}`): void {
    this.#queue.push({ event, cursor });
    this.#deliver();
  }
  /**
   * Hands `event` to the pending read the way the client does: the cursor
   * moves at once, the read's outcome arrives `hops` microtasks later.
   */
  handOverLate(event: number, hops = 20): void {
    const resolve = this.#waiting!;
    this.#waiting = undefined;
    this.cursor = `c${event}`;
    let later = Promise.resolve();
    for (let i = 0; i < hops; i++) later = later.then(() => {});
    later.then(() => resolve({ value: event, done: false }));
  }
  /** Moves the cursor without an event (the client dropped a filtered one). */
  drop(cursor: string): void {
    this.push(-1, cursor);
  }
  #deliver(): void {
    while (this.#waiting !== undefined && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.cursor = next.cursor;
      if (next.event === -1) continue;
      const resolve = this.#waiting;
      this.#waiting = undefined;
      resolve({ value: next.event, done: false });
    }
  }
  close(): Promise<void> {
    this.closed = true;
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = undefined;
    return Promise.resolve();
  }
  [Symbol.asyncIterator](): AsyncIterator<number> {
    return {
      next: () => {
        this.reads++;
        if (this.closed) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => {
          this.#waiting = resolve;
          this.#deliver();
        });
      },
    };
  }
}

class MemorySink implements Sink<number> {
  rows: number[] = [];
  batches: { events: number[]; cursor: string }[] = [];
  stored: string | undefined;
  failing = false;
  attempts = 0;
  readCursor(): Promise<string | undefined> {
    return Promise.resolve(this.stored);
  }
  writeBatch(events: readonly number[], cursor: string): Promise<void> {
    this.attempts++;
    if (this.failing) return Promise.reject(new Error("database down"));
    this.rows.push(...events);
    this.batches.push({ events: [...events], cursor });
    this.stored = cursor;
    return Promise.resolve();
  }
}

function start(
  sink: MemorySink,
  options: { batchSize?: number; closeUpstreamAfterMs?: number } = {},
) {
  const clock = new ManualClock(0);
  const streams: ScriptedStream[] = [];
  const states: SinkState[] = [];
  const stop = new AbortController();
  const running = runSink(sink, {
    open: (cursor) => {
      const stream = new ScriptedStream(cursor);
      streams.push(stream);
      return stream;
    },
    clock,
    signal: stop.signal,
    batchSize: options.batchSize ?? 3,
    batchMs: 1000,
    retryInitialMs: 100,
    retryMaxMs: 400,
    closeUpstreamAfterMs: options.closeUpstreamAfterMs ?? 30_000,
    onState: (state) => states.push(state),
  });
  return { clock, streams, states, stop, running };
}

Deno.test("runSink: a full batch is written at once, with the stream's cursor after its last event", async () => {
  const sink = new MemorySink();
  const { clock, streams, stop, running } = start(sink);
  await clock.tick(0);
  assert.equal(streams.length, 1);
  assert.equal(streams[0].opened, undefined);
  for (const event of [1, 2, 3, 4]) streams[0].push(event);
  await clock.tick(0);
  assert.deepEqual(sink.batches, [{ events: [1, 2, 3], cursor: "c3" }]);
  stop.abort();
  await running;
  assert.deepEqual(sink.batches.at(-1), { events: [4], cursor: "c4" }); // Written on stop.
  assert.ok(streams[0].closed);
});

Deno.test("runSink: a batch that does not fill is written when its first event is batchMs old; its cursor covers events dropped before its last", async () => {
  const sink = new MemorySink();
  const { clock, streams, stop, running } = start(sink);
  await clock.tick(0);
  streams[0].push(1);
  await clock.tick(0); // Taken at 0 ms.
  await clock.tick(500);
  streams[0].drop("after-filtered");
  streams[0].push(2, "c2-after-filtered");
  streams[0].drop("after-filtered-again"); // After the last event: the next batch covers it.
  await clock.tick(499);
  assert.deepEqual(sink.batches, []);
  await clock.tick(1);
  assert.deepEqual(sink.batches, [{
    events: [1, 2],
    cursor: "c2-after-filtered",
  }]);
  stop.abort();
  await running;
});

Deno.test("runSink: an event handed over as the time trigger fires is not covered by that batch's cursor", async () => {
  const sink = new MemorySink();
  const { clock, streams, stop, running } = start(sink);
  await clock.tick(0);
  streams[0].push(1);
  await clock.tick(0); // Taken at 0 ms.
  await clock.tick(999);
  // The client hands event 2 to the pending read (its cursor moves now), and
  // the batch's age is reached in the same turn, before the read's outcome.
  streams[0].handOverLate(2);
  await clock.tick(1);
  assert.deepEqual(sink.batches[0], { events: [1], cursor: "c1" });
  stop.abort();
  await running;
  assert.deepEqual(sink.batches.at(-1), { events: [2], cursor: "c2" });
});

Deno.test("runSink: while writes fail the upstream is not read, it is closed after the bound, and reopened from the stored cursor", async () => {
  const sink = new MemorySink();
  const { clock, streams, states, stop, running } = start(sink, {
    closeUpstreamAfterMs: 1000,
  });
  await clock.tick(0);
  for (const event of [1, 2, 3]) streams[0].push(event);
  await clock.tick(0);
  assert.equal(sink.stored, "c3");
  sink.failing = true;
  for (let event = 4; event <= 20; event++) streams[0].push(event);
  await clock.tick(0);
  // Bounded: reads 1-3, then 4-6 (the batch in hand); nothing is read past it.
  const readsWhileDown = streams[0].reads;
  assert.equal(readsWhileDown, 6);
  await clock.tick(900); // Retries at 100, 200, 400 ms...
  assert.equal(streams[0].reads, readsWhileDown);
  assert.ok(sink.attempts >= 4);
  assert.ok(!streams[0].closed);
  assert.ok(states.includes("backpressure"));
  await clock.tick(500); // ... past the bound: upstream closed.
  assert.ok(streams[0].closed);
  assert.equal(streams.length, 1);
  sink.failing = false;
  await clock.tick(400);
  assert.deepEqual(sink.rows, [1, 2, 3, 4, 5, 6]);
  assert.equal(streams.length, 2);
  assert.equal(streams[1].opened, "c6"); // The stored cursor, not the events read past it.
  assert.equal(states.at(-1), "leader");
  stop.abort();
  await running;
});

Deno.test("runSink: refuses a batch size that is not a positive integer", async () => {
  await assert.rejects(
    runSink(new MemorySink(), {
      open: () => new ScriptedStream(undefined),
      batchSize: 0,
    }),
    /Cannot run the sink: batchSize must be a positive integer, got 0/,
  );
});

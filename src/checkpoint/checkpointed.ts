/**
 * Saves a stream's cursor to a {@linkcode CheckpointStore} as the consumer
 * finishes processing events.
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import type { CheckpointStore } from "./store.ts";

/**
 * What {@linkcode checkpointed} needs from a stream: events, and the cursor
 * after the last one. An `EventStream` is one.
 *
 * @example A source over an array (for a test)
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CheckpointSource } from "@eventstreams/client/checkpoint";
 *
 * function fromOffsets(offsets: number[]): CheckpointSource<number> {
 *   let cursor = "";
 *   return {
 *     get cursor() {
 *       return cursor;
 *     },
 *     async *[Symbol.asyncIterator]() {
 *       for (const offset of offsets) {
 *         cursor = `[{"topic":"eqiad.test","partition":0,"offset":${offset + 1}}]`;
 *         yield offset;
 *       }
 *     },
 *   };
 * }
 * const source = fromOffsets([7, 8]);
 * assert.deepEqual(await Array.fromAsync(source), [7, 8]);
 * assert.equal(source.cursor, '[{"topic":"eqiad.test","partition":0,"offset":9}]');
 * ```
 */
export interface CheckpointSource<E> extends AsyncIterable<E> {
  /**
   * The `Last-Event-ID` after every event consumed: the last one handed out
   * and any the stream dropped since (`""` before any).
   */
  readonly cursor: string;
  /**
   * Ends the iteration, resolving a pending wait for the next event as done
   * (`EventStream.close`). {@linkcode checkpointed} calls it when a save made
   * by its timer fails, so that the error ends the loop even while no event
   * comes; without it, the error comes with the next event.
   */
  close?(): Promise<void> | void;
}

/**
 * Options for {@linkcode checkpointed}.
 *
 * @example Save at most once every 5 seconds (and at the end)
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointed, type CheckpointedOptions, MemoryCheckpointStore } from "@eventstreams/client/checkpoint";
 * import { ManualClock } from "@eventstreams/client/testing";
 *
 * const clock = new ManualClock(0);
 * const options: CheckpointedOptions = { intervalMs: 5_000, clock };
 * let offset = 0;
 * const stream = {
 *   get cursor() {
 *     return `[{"topic":"eqiad.test","partition":0,"offset":${offset}}]`;
 *   },
 *   async *[Symbol.asyncIterator]() {
 *     while (offset < 4) yield offset++;
 *   },
 * };
 * const store = new MemoryCheckpointStore();
 * for await (const _ of checkpointed(stream, store, options)) {
 *   await clock.tick(2_000); // processing takes 2 s of (virtual) time
 * }
 * // At 5 s (the timer: two events processed by then) and at the stream's end.
 * assert.equal(store.saves, 2);
 * assert.equal(await store.load(), '[{"topic":"eqiad.test","partition":0,"offset":4}]');
 * ```
 */
export interface CheckpointedOptions {
  /**
   * Save after this many processed events.
   *
   * @default 1 without `intervalMs`; with `intervalMs`, no count trigger
   */
  every?: number;
  /**
   * Save the processed events' cursor once this many milliseconds passed
   * since the last save: when an event finishes processing after that, and,
   * while the loop waits for the next event (a quiet stream), by a timer on
   * `clock` (the cursor also moves past events the stream drops, a filter's
   * rejects for instance, with no event handed out). So saves come at most
   * about once per `intervalMs` however fast events arrive, and no processed
   * event stays unsaved much longer than `intervalMs`. `undefined` means no
   * time trigger.
   *
   * @default undefined
   */
  intervalMs?: number;
  /**
   * Time source for `intervalMs`.
   *
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Called before each save, which waits for it: makes the processed
   * events' effects durable first, when processing only buffers them (a
   * buffered output's flush). A rejection fails the save.
   */
  beforeSave?: () => Promise<void> | void;
}

/**
 * Yields the events of `stream` and saves `stream.cursor` to `store` as they
 * are processed. An event counts as processed when the loop asks for the
 * next one.
 *
 * Guarantee: **at-least-once**. An event is never skipped across restarts
 * (resume with `eventStream(..., { cursor: await store.load() })`); events
 * processed after the last completed save are delivered again after a crash.
 * With `every: 1` (the default) that is at most the one event in flight;
 * with `intervalMs` alone (saves coalesced in time, the way Kafka consumers
 * commit), the events processed in about the last `intervalMs`.
 * Saves never overlap: each waits for the one before.
 * It is not exactly-once: processing and the save are two steps. For
 * exactly-once, commit your results and the cursor in one transaction
 * (see `KvCheckpointStore.stage`).
 *
 * When the loop ends early (`break`, `return` or an exception), the saved
 * cursor is the one from *before* the last event handed out, because that
 * event may not have been processed. If it was (for example you `break`
 * after handling it), call `store.save(stream.cursor)` after the loop.
 * When the stream ends by itself, or is closed while the loop waits for the
 * next event, the final cursor is saved: it covers the events the stream
 * dropped after the last one handed out.
 *
 * @param stream An `EventStream` (anything iterable with a `cursor`).
 * @param store Where to save the cursor.
 * @param options See {@linkcode CheckpointedOptions}.
 * @returns An async iterator over the same events.
 * @throws {RangeError} When `every` is not a positive integer or
 *   `intervalMs` is negative.
 * @throws The store's error, from the loop, when a save fails (one made by
 *   the timer: at the next event, or at once when `stream` has `close`).
 *
 * @example Resume where the last run stopped
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkpointed, MemoryCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * // Stand-in for eventStream("recentchange", { userAgent, cursor: await store.load() }).
 * function fakeStream(from: number) {
 *   let offset = from;
 *   return {
 *     get cursor() {
 *       return `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":${offset}}]`;
 *     },
 *     async *[Symbol.asyncIterator]() {
 *       while (offset < from + 3) yield { meta: { offset: offset++ } };
 *     },
 *   };
 * }
 * const store = new MemoryCheckpointStore();
 * for await (const event of checkpointed(fakeStream(0), store)) {
 *   assert.equal(typeof event.meta.offset, "number");
 * }
 * assert.ok((await store.load())?.includes('"offset":3'));
 * ```
 */
export function checkpointed<E>(
  stream: CheckpointSource<E>,
  store: CheckpointStore,
  options: CheckpointedOptions = {},
): AsyncGenerator<E, void, undefined> {
  const intervalMs = options.intervalMs;
  if (intervalMs !== undefined && !(intervalMs >= 0)) {
    throw new RangeError(
      `Cannot checkpoint every ${intervalMs} ms: expected a non-negative number`,
    );
  }
  const every = options.every ?? (intervalMs === undefined ? 1 : Infinity);
  if (every !== Infinity && (!Number.isInteger(every) || every < 1)) {
    throw new RangeError(
      `Cannot checkpoint every ${every} events: expected a positive integer`,
    );
  }
  const clock = options.clock ?? systemClock;
  return run(stream, store, every, intervalMs, clock, options.beforeSave);
}

async function* run<E>(
  stream: CheckpointSource<E>,
  store: CheckpointStore,
  every: number,
  intervalMs: number | undefined,
  clock: Clock,
  beforeSave: (() => Promise<void> | void) | undefined,
): AsyncGenerator<E, void, undefined> {
  let saved = stream.cursor;
  let completed = stream.cursor;
  let unsaved = 0;
  let lastSaveAt = clock.now();
  /** The loop waits for the next event: every event handed out is processed. */
  let waiting = false;
  let finished = false;
  /** The save in progress (or the last one): the next waits for it, whatever its outcome. */
  let saving: Promise<void> = Promise.resolve();
  /** A save by the timer that failed: thrown from the loop. */
  let failure: { error: unknown } | undefined;
  const save = (cursor: string): Promise<void> => {
    const write = async (): Promise<void> => {
      if (cursor === "" || cursor === saved) return;
      await beforeSave?.();
      await store.save(cursor);
      saved = cursor;
      unsaved = 0;
      lastSaveAt = clock.now();
    };
    return saving = saving.then(write, write);
  };
  /**
   * One timer for the interval (not one per event: arming and cancelling a
   * timer around every wait would cost more than the saves it coalesces).
   * When it is due it saves what is processed: while the loop waits, all the
   * stream consumed (dropped events too); while the consumer processes an
   * event, the ones before it. A failed save closes the stream, so that the
   * loop ends with the error even if no event comes.
   */
  let cancelTimer = () => {};
  const due = (): void => {
    const interval = intervalMs!;
    if (clock.now() - lastSaveAt < interval) {
      cancelTimer = clock.setTimeout(
        due,
        lastSaveAt + interval - clock.now(),
      );
      return;
    }
    save(waiting ? stream.cursor : completed).catch((error) => {
      failure ??= { error };
      void stream.close?.();
    });
    cancelTimer = clock.setTimeout(due, Math.max(interval, 1));
  };
  if (intervalMs !== undefined) cancelTimer = clock.setTimeout(due, intervalMs);
  const iterator = stream[Symbol.asyncIterator]();
  try {
    while (true) {
      waiting = true;
      const result = await iterator.next();
      if (failure) throw failure.error;
      if (result.done) break;
      waiting = false;
      const cursor = stream.cursor;
      yield result.value;
      // The consumer asked for the next event: this one is processed.
      completed = cursor;
      unsaved++;
      if (
        unsaved >= every ||
        (intervalMs !== undefined && clock.now() - lastSaveAt >= intervalMs)
      ) {
        await save(completed);
      }
    }
    finished = true;
  } finally {
    cancelTimer();
    if (!finished) await iterator.return?.();
    // At the stream's end, or stopped while waiting, every event handed out
    // was processed, and the cursor covers the dropped ones too.
    await save(finished || waiting ? stream.cursor : completed);
  }
}

/**
 * The sink contract and the loop that drives any sink.
 *
 * A sink is anything that can (1) write a batch of events together with the
 * cursor that covers them, atomically, and (2) read that cursor back. With
 * those two operations and an offset-keyed primary key (a replayed batch
 * inserts nothing), {@linkcode runSink} gives exactly-once delivery into the
 * store across crashes, restarts and database outages: it only ever resumes
 * from the cursor the store committed. PostgreSQL is the first implementation
 * (`@eventstreams/client/postgres`); Redis Streams, NATS JetStream and Kafka
 * fit the same contract (see the README, "Beyond one machine").
 *
 * Web standards only: this module is part of the portable core.
 *
 * @module
 */
import { type Clock, sleep, systemClock } from "../clock.ts";
import type { EventStream } from "../client.ts";

/**
 * What a sink must do. Both methods may throw (a database that is down):
 * {@linkcode runSink} retries with backoff and never reads ahead meanwhile.
 *
 * @example
 * ```ts no-assert
 * import type { Sink } from "@eventstreams/client/postgres";
 * const sink: Sink<unknown> = {
 *   readCursor: () => Promise.resolve(undefined),
 *   writeBatch: () => Promise.resolve(),
 * };
 * ```
 */
export interface Sink<E> {
  /**
   * Reads the cursor of the last committed batch.
   *
   * @returns The cursor, or `undefined` when nothing was ever written.
   */
  readCursor(): Promise<string | undefined>;
  /**
   * Writes `events` and `cursor` atomically: either both are durable or
   * neither is. Writing a batch again (after a crash between commit and
   * acknowledgement) must not duplicate events: key them by
   * `(topic, partition, offset)`.
   *
   * @param events The batch, in stream order (may be empty: only the cursor moves).
   * @param cursor The stream's cursor right after the batch's last event.
   * @throws {SinkLeaseLostError} When the replica no longer holds its lease.
   */
  writeBatch(events: readonly E[], cursor: string): Promise<void>;
  /**
   * Optional leader lease: tries once to become the replica that holds the
   * upstream connection. Without it, the sink is always the leader.
   *
   * @returns True when this replica holds the lease now.
   */
  tryAcquireLease?(): Promise<boolean>;
  /**
   * Optional check, while leading, that the lease is still held; the leader
   * calls it every `standbyRetryMs` so that a lease lost while the stream is
   * quiet (no batch to fail) closes the upstream before a standby opens its
   * own. Rejecting (database unreachable) is not taken as a loss.
   *
   * @returns False when this replica no longer holds the lease.
   */
  holdsLease?(): Promise<boolean>;
}

/**
 * Thrown by {@linkcode Sink.writeBatch} when the replica lost its lease: the
 * batch was not committed, and {@linkcode runSink} returns to standby.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SinkLeaseLostError } from "@eventstreams/client/postgres";
 * assert.ok(new SinkLeaseLostError("gone").name === "SinkLeaseLostError");
 * ```
 */
export class SinkLeaseLostError extends Error {
  /**
   * Creates the error.
   *
   * @param message What was lost.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SinkLeaseLostError";
  }
}

/**
 * What {@linkcode RunSinkOptions.onBatch} reports.
 *
 * @example
 * ```ts no-assert
 * import type { SinkBatchInfo } from "@eventstreams/client/postgres";
 * const info: SinkBatchInfo = { events: 500, last: undefined, cursor: "[]", trigger: "size", writeMs: 12, attempts: 1 };
 * ```
 */
export interface SinkBatchInfo<E = unknown> {
  /** Events in the batch. */
  events: number;
  /** Its last event (for lag). */
  last?: E;
  /** The cursor written with it. */
  cursor: string;
  /** What closed the batch. */
  trigger: "size" | "time" | "end";
  /** Time from the first write attempt to the commit. */
  writeMs: number;
  /** Write attempts (1 when the store was healthy). */
  attempts: number;
}

/**
 * The replica's role, as {@linkcode RunSinkOptions.onState} reports it:
 * waiting for the lease, holding the upstream, holding a batch the store
 * refuses for now, or done.
 *
 * @example
 * ```ts no-assert
 * import type { SinkState } from "@eventstreams/client/postgres";
 * const state: SinkState = "standby";
 * ```
 */
export type SinkState = "standby" | "leader" | "backpressure" | "stopped";

/**
 * Options for {@linkcode runSink}.
 *
 * @example
 * ```ts no-assert
 * import type { RunSinkOptions } from "@eventstreams/client/postgres";
 * const options: Partial<RunSinkOptions<unknown>> = { batchSize: 1000, batchMs: 500 };
 * ```
 */
export interface RunSinkOptions<E> {
  /**
   * Opens the upstream from a cursor (`undefined`: nothing stored yet, start
   * from the stream's `since` or live end). Called again after each close.
   */
  open(cursor: string | undefined): EventStream<E>;
  /**
   * A batch is written when it holds this many events.
   *
   * @default {500}
   */
  batchSize?: number;
  /**
   * ... or when its first event is this old.
   *
   * @default {1000}
   */
  batchMs?: number;
  /**
   * While writes fail, the upstream stays open (unread) this long, then it
   * is closed; the sink reopens it from the stored cursor once a write
   * succeeds.
   *
   * @default {30_000}
   */
  closeUpstreamAfterMs?: number;
  /**
   * First retry delay of a failed write or cursor read; it doubles up to
   * `retryMaxMs`.
   *
   * @default {100}
   */
  retryInitialMs?: number;
  /**
   * The cap on retry delays.
   *
   * @default {5_000}
   */
  retryMaxMs?: number;
  /**
   * How often a standby tries to take the lease. A leader that dies is
   * replaced within this interval plus the time its database session takes
   * to end (at once for a killed process: the socket closes).
   *
   * @default {1_000}
   */
  standbyRetryMs?: number;
  /**
   * Time for batch ages and retries.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /** Stops the loop: the batch in hand is written first, then `runSink` returns. */
  signal?: AbortSignal;
  /** Called after each committed batch. */
  onBatch?(info: SinkBatchInfo<E>): void;
  /** Called when the replica's role changes. */
  onState?(state: SinkState): void;
  /** Called on each failed write or cursor read (before its retry). */
  onError?(error: unknown, attempt: number): void;
}

/** The outcome of the one pending read, until the loop consumes it. */
interface Settled<E> {
  result?: IteratorResult<E>;
  error?: unknown;
}

/**
 * Consumes `options.open(storedCursor)` into `sink` in batches, forever (or
 * until `signal` aborts or the upstream ends).
 *
 * - Each batch is written with the stream's cursor taken right after its
 *   last event was consumed, so it also covers the filtered, canary and
 *   duplicate events before it (those dropped after it are covered by the
 *   next batch).
 * - One batch in flight, and while it is being written (or retried) the
 *   upstream is not read: memory is bounded by one batch plus the one event
 *   a pending read may hold.
 * - A write that keeps failing closes the upstream after
 *   `closeUpstreamAfterMs`; after the first success the loop reopens from the
 *   stored cursor.
 * - With a lease ({@linkcode Sink.tryAcquireLease}), the upstream is opened
 *   only while this replica holds it; a lost lease closes it at once.
 *
 * @param sink The store.
 * @param options Upstream factory, batch size and age, retry bounds, hooks.
 * @returns When `signal` aborts or the upstream ends (after the last write).
 * @throws {RangeError} On a non-positive batch size or negative duration.
 * @throws What the upstream throws (e.g. `EventStreamsHttpError`).
 *
 * @example Into an in-memory store
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventStream, type EventStreamsEvent } from "@eventstreams/client";
 * import { runSink, type Sink } from "@eventstreams/client/postgres";
 * import { serveEmulator } from "@eventstreams/client/testing";
 * await using emulator = serveEmulator({ generate: { counts: { "mediawiki.recentchange": 7, "mediawiki.page-create": 0 } } });
 * const rows: EventStreamsEvent[] = [];
 * let saved: string | undefined;
 * const sink: Sink<EventStreamsEvent> = {
 *   readCursor: () => Promise.resolve(saved),
 *   writeBatch: (events, cursor) => {
 *     rows.push(...events);
 *     saved = cursor;
 *     return Promise.resolve();
 *   },
 * };
 * const stop = new AbortController();
 * await runSink(sink, {
 *   open: (cursor) =>
 *     eventStream("recentchange", {
 *       baseUrl: emulator.url,
 *       userAgent: "doc-example/1.0 (https://example.org)",
 *       since: "2020-01-01T00:00:00Z",
 *       cursor,
 *     }),
 *   signal: stop.signal,
 *   onBatch: () => { if (rows.length === 7) stop.abort(); },
 * });
 * assert.ok(rows.length === 7);
 * ```
 */
export async function runSink<E>(
  sink: Sink<E>,
  options: RunSinkOptions<E>,
): Promise<void> {
  const batchSize = options.batchSize ?? 500;
  const batchMs = options.batchMs ?? 1000;
  const closeAfter = options.closeUpstreamAfterMs ?? 30_000;
  const retryInitial = options.retryInitialMs ?? 100;
  const retryMax = options.retryMaxMs ?? 5_000;
  const standbyMs = options.standbyRetryMs ?? 1_000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot run the sink: batchSize must be a positive integer, got ${batchSize}`,
    );
  }
  for (
    const [name, value] of Object.entries({
      batchMs,
      closeUpstreamAfterMs: closeAfter,
      retryInitialMs: retryInitial,
      retryMaxMs: retryMax,
      standbyRetryMs: standbyMs,
    })
  ) {
    if (!(value >= 0)) {
      throw new RangeError(
        `Cannot run the sink: ${name} must be >= 0 ms, got ${value}`,
      );
    }
  }
  const clock = options.clock ?? systemClock;
  const signal = options.signal;
  let state: SinkState | undefined;
  const setState = (next: SinkState) => {
    if (next === state) return;
    state = next;
    options.onState?.(next);
  };
  const stopped = () => signal?.aborted === true;
  /** Sleeps, ending early (without throwing) when `signal` aborts. */
  const pause = (ms: number) => sleep(clock, ms, signal).catch(() => {});

  /** Retries `fn` with doubling delays until it succeeds or the loop stops. */
  async function retrying<T>(
    fn: () => Promise<T>,
    onFailure?: (startedAt: number) => Promise<void>,
  ): Promise<{ value?: T; attempts: number; ok: boolean }> {
    const startedAt = clock.now();
    let delay = retryInitial;
    for (let attempt = 1;; attempt++) {
      try {
        return { value: await fn(), attempts: attempt, ok: true };
      } catch (error) {
        if (error instanceof SinkLeaseLostError) throw error;
        options.onError?.(error, attempt);
        await onFailure?.(startedAt);
        if (stopped()) return { attempts: attempt, ok: false };
        await pause(delay);
        delay = Math.min(retryMax, delay * 2);
      }
    }
  }

  try {
    while (!stopped()) {
      if (sink.tryAcquireLease !== undefined) {
        setState("standby");
        const held = await retrying(() => sink.tryAcquireLease!());
        if (!held.ok) return;
        if (!held.value) {
          await pause(standbyMs);
          continue;
        }
      }
      const read = await retrying(() => sink.readCursor());
      if (!read.ok) return;
      setState("leader");
      let ended: boolean;
      try {
        ended = await pump(read.value);
      } catch (error) {
        if (!(error instanceof SinkLeaseLostError)) throw error;
        options.onError?.(error, 1);
        continue; // Back to standby: the batch was not committed.
      }
      if (ended) return;
    }
  } finally {
    setState("stopped");
  }

  /**
   * Reads one upstream connection's worth into batches. Returns true when
   * the loop is done (stopped or the upstream ended), false to reopen.
   */
  async function pump(cursor: string | undefined): Promise<boolean> {
    const stream = options.open(cursor);
    const iterator = stream[Symbol.asyncIterator]();
    let upstreamOpen = true;
    const closeUpstream = async () => {
      if (!upstreamOpen) return;
      upstreamOpen = false;
      await stream.close();
    };
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    let wake: (() => void) | undefined;
    // At most one read is pending; its outcome waits here until consumed.
    let pending: Promise<void> | undefined;
    let settled: Settled<E> | undefined;
    const read = () => {
      pending ??= iterator.next().then(
        (result) => void (settled = { result }),
        (error) => void (settled = { error }),
      ).finally(() => {
        pending = undefined;
        wake?.();
      });
    };
    /** Waits for the pending read, `deadline` on the clock, or abort. */
    const waitUntil = (deadline: number | undefined) =>
      new Promise<void>((resolve) => {
        if (settled !== undefined || stopped()) return resolve();
        const cancel = deadline === undefined
          ? () => {}
          : clock.setTimeout(resolve, Math.max(0, deadline - clock.now()));
        wake = () => {
          cancel();
          resolve();
        };
      }).finally(() => wake = undefined);

    // While leading, check the lease every standbyRetryMs (one check at a time).
    let leaseLost = false;
    let cancelLeaseCheck = () => {};
    const checkLease = () => {
      cancelLeaseCheck = clock.setTimeout(() => {
        sink.holdsLease!().then(
          (held) => {
            if (!held) {
              leaseLost = true;
              wake?.();
            }
          },
          () => {}, // Unreachable: the write path decides.
        ).finally(() => {
          if (!leaseLost && upstreamOpen) checkLease();
        });
      }, standbyMs);
    };
    if (sink.holdsLease !== undefined) checkLease();

    let batch: E[] = [];
    // The stream's cursor right after the batch's last event, taken when that
    // event is consumed, never at flush time: a time-triggered flush runs with
    // a read pending, and the client moves its cursor as soon as it hands that
    // read an event (EventStream.cursor), a few microtasks before the read's
    // outcome reaches this loop. A cursor taken then covers an event that is
    // in no batch yet, and a crash before the next batch loses it (seen in the
    // 3-replica test at 10 leader kills).
    let batchCursor = "";
    let batchStartedAt = 0;
    /** Writes the batch; false when the loop stopped before it could. */
    const flush = async (trigger: SinkBatchInfo["trigger"]) => {
      const events = batch;
      const cursorNow = batchCursor;
      batch = [];
      const startedAt = clock.now();
      const written = await retrying(
        () => sink.writeBatch(events, cursorNow),
        async (failingSince) => {
          setState("backpressure");
          if (clock.now() - failingSince >= closeAfter) await closeUpstream();
        },
      );
      if (!written.ok) return false;
      setState("leader");
      options.onBatch?.({
        events: events.length,
        last: events.at(-1),
        cursor: cursorNow,
        trigger,
        writeMs: clock.now() - startedAt,
        attempts: written.attempts,
      });
      return true;
    };

    try {
      while (true) {
        if (leaseLost) {
          throw new SinkLeaseLostError(
            "Lost the leader lease while leading: closing the upstream connection",
          );
        }
        if (!upstreamOpen) return false; // Closed during an outage: reopen from the stored cursor.
        if (stopped()) {
          if (batch.length > 0) await flush("end");
          return true;
        }
        read();
        await waitUntil(
          batch.length > 0 ? batchStartedAt + batchMs : undefined,
        );
        const outcome = settled;
        settled = undefined;
        if (outcome === undefined) {
          if (batch.length > 0 && !stopped()) await flush("time");
          continue;
        }
        if (outcome.error !== undefined) throw outcome.error;
        if (outcome.result!.done) {
          if (batch.length > 0) await flush("end");
          // Closed by us during an outage: reopen. Else the upstream ended.
          return upstreamOpen || stopped();
        }
        if (batch.length === 0) batchStartedAt = clock.now();
        batch.push(outcome.result!.value);
        batchCursor = stream.cursor;
        if (batch.length >= batchSize) await flush("size");
      }
    } finally {
      cancelLeaseCheck();
      signal?.removeEventListener("abort", onAbort);
      await closeUpstream();
      await pending;
    }
  }
}

/**
 * The resume point of an EventStreams consumer: a KafkaSSE event id
 * (`Last-Event-ID`), read, advanced per delivered event, and written back.
 *
 * The server's own ids resume approximately (by timestamp); a
 * {@linkcode Cursor} in its default `"offset"` mode pins every
 * topic-partition it has delivered from to `offset: meta.offset + 1`, which
 * the server honours exactly.
 *
 * @module
 */

import { CursorError } from "./errors.ts";
import { quote, show } from "./_show.ts";

/**
 * One topic-partition of a cursor: where to resume it, either by Kafka
 * offset (exact; `-1` means "latest") or by Kafka timestamp in epoch
 * milliseconds (approximate: the first message at or after it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CursorEntry } from "@eventstreams/client";
 * const exact: CursorEntry = { topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 4369496613 };
 * const approximate: CursorEntry = { topic: "codfw.mediawiki.recentchange", partition: 0, timestamp: 1670732822001 };
 * assert.ok("offset" in exact && "timestamp" in approximate);
 * ```
 */
export type CursorEntry =
  | { topic: string; partition: number; offset: number }
  | { topic: string; partition: number; timestamp: number };

/**
 * The Kafka position of a delivered event: the fields of its `meta` that a
 * cursor needs. Any {@linkcode EventMeta} is one.
 *
 * @example
 * ```ts no-assert
 * import type { EventPosition } from "@eventstreams/client";
 * const position: EventPosition = {
 *   topic: "eqiad.mediawiki.page_change.v1",
 *   partition: 0,
 *   offset: 1109139115,
 *   dt: "2026-09-27T16:17:12.812Z",
 * };
 * ```
 */
export interface EventPosition {
  /** Kafka topic of the event (`meta.topic`). */
  topic: string;
  /** Kafka partition of the event (`meta.partition`). */
  partition: number;
  /** Kafka offset of the event (`meta.offset`). */
  offset: number;
  /** Event time, ISO-8601 (`meta.dt`); needed in `"timestamp"` mode only. */
  dt?: string;
}

/**
 * How {@linkcode Cursor.advance} records a delivered event: `"offset"`
 * (exact, the default) or `"timestamp"` (the server's own approximate id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cursor, type CursorMode } from "@eventstreams/client";
 * const mode: CursorMode = "timestamp";
 * assert.ok(Cursor.fromEntries([], { mode }).mode === "timestamp");
 * ```
 */
export type CursorMode = "offset" | "timestamp";

/**
 * Options of {@linkcode Cursor.parse} and {@linkcode Cursor.fromEntries}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cursor, type CursorOptions } from "@eventstreams/client";
 * const options: CursorOptions = { mode: "offset" };
 * assert.ok(Cursor.fromEntries([], options).mode === "offset");
 * ```
 */
export interface CursorOptions {
  /**
   * How {@linkcode Cursor.advance} records delivered events: `"offset"` pins
   * `offset: meta.offset + 1` (exact resume); `"timestamp"` writes
   * `timestamp: Date.parse(meta.dt) + 1` exactly like the server does
   * (approximate resume; for comparison, and as a fallback against another
   * Kafka cluster whose offsets differ).
   *
   * @default {"offset"}
   */
  mode?: CursorMode;
}

/** Internal state of one topic-partition. */
interface Slot {
  readonly topic: string;
  readonly partition: number;
  /** Resume offset; wins over `timestamp` when both are set (per KafkaSSE). */
  offset: number | undefined;
  timestamp: number | undefined;
  /** `{"topic":...,"partition":N,` — the constant head of this entry's JSON. */
  readonly head: string;
  /**
   * This entry's compact JSON, as the server wrote it until advanced;
   * `undefined` after a change, rebuilt by toString() (advance stays cheap).
   */
  json: string | undefined;
}

const EXPECTED = "{topic, partition, offset|timestamp}";

/**
 * A KafkaSSE resume point: one entry per topic-partition, in the server's
 * order. Parse the server's `id` (or a saved checkpoint),
 * {@linkcode Cursor.advance} it with each delivered event's `meta`, and send
 * {@linkcode Cursor.toString} as
 * `Last-Event-ID` when reconnecting.
 *
 * Entries never advanced keep exactly what the server gave (so
 * `Cursor.parse(id).toString() === id` for the server's compact ids).
 *
 * @example Exact resume after the server's approximate id
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cursor } from "@eventstreams/client";
 *
 * const serverId = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1670732822001},' +
 *   '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]';
 * const cursor = Cursor.parse(serverId);
 * cursor.advance({ topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 4369496612 });
 * assert.ok(cursor.toString() ===
 *   '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":4369496613},' +
 *   '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]');
 * ```
 */
export class Cursor {
  #mode: CursorMode;
  #slots: Slot[] = [];
  /** "topic\u0000partition" -> index in #slots. */
  #index: Map<string, number> = new Map();
  /** toString() result, cleared by any change. */
  #text: string | undefined;
  /** The slot found by the previous lookup. */
  #last: Slot | undefined;

  private constructor(mode: CursorMode) {
    this.#mode = mode;
  }

  /**
   * Reads a KafkaSSE event id (a `Last-Event-ID` value): a JSON array of
   * `{topic, partition, offset}` or `{topic, partition, timestamp}` objects
   * with integer values. An entry with both keeps both (the server lets
   * the offset win). Unknown keys in an entry are ignored.
   *
   * @param text The id, e.g. the `id` of the last frame the server sent.
   * @param options The cursor's mode.
   * @returns A cursor holding the id's entries in their order.
   * @throws {CursorError} When `text` is not such an array; the message
   *   quotes the text (up to 200 characters) and says what is expected.
   * @throws {RangeError} When `options.mode` is not a {@linkcode CursorMode}.
   * @throws {TypeError} When `text` is not a string.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor, CursorError } from "@eventstreams/client";
   *
   * const id = '[{"topic":"eqiad.mediawiki.page-move","partition":0,"timestamp":1606819475001}]';
   * assert.ok(Cursor.parse(id).toString() === id);
   *
   * try {
   *   Cursor.parse("abc");
   * } catch (error) {
   *   assert.ok(error instanceof CursorError);
   * }
   * ```
   */
  static parse(text: string, options?: CursorOptions): Cursor {
    if (typeof text !== "string") {
      throw new TypeError(
        `Cannot parse Last-Event-ID: expected a string, got ${show(text)}`,
      );
    }
    const cursor = new Cursor(checkMode(options));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
      throw new CursorError(
        `Cannot parse Last-Event-ID: expected a JSON array of ${
          Array.isArray(parsed) ? "at least one " : ""
        }${EXPECTED}, got ${quote(text)}`,
      );
    }
    for (let i = 0; i < parsed.length; i++) {
      const problem = cursor.#add(parsed[i], i);
      if (problem !== undefined) {
        throw new CursorError(
          `Cannot parse Last-Event-ID: ${problem}, got ${quote(text)}`,
        );
      }
    }
    return cursor;
  }

  /**
   * Builds a cursor from entries, e.g. a saved position or a hand-made start
   * point (`{topic, partition, offset: -1}` for "latest").
   *
   * @param entries The topic-partitions and where to resume each; the array
   *   may be empty (a cursor with no entries prints as `[]`, which the server
   *   rejects: advance it first).
   * @param options The cursor's mode.
   * @returns A cursor holding copies of the entries, in order.
   * @throws {TypeError} When an entry is malformed (the message names it).
   * @throws {RangeError} When `options.mode` is not a {@linkcode CursorMode}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.fromEntries([
   *   { topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 4369496613 },
   *   { topic: "codfw.mediawiki.recentchange", partition: 0, offset: -1 },
   * ]);
   * assert.ok(cursor.entries.length === 2);
   * ```
   */
  static fromEntries(
    entries: readonly CursorEntry[],
    options?: CursorOptions,
  ): Cursor {
    const cursor = new Cursor(checkMode(options));
    if (!Array.isArray(entries)) {
      throw new TypeError(
        `Cannot create Cursor: expected an array of ${EXPECTED}, got ${
          show(entries)
        }`,
      );
    }
    for (let i = 0; i < entries.length; i++) {
      const problem = cursor.#add(entries[i], i);
      if (problem !== undefined) {
        throw new TypeError(
          `Cannot create Cursor: ${problem}, got ${show(entries[i])}`,
        );
      }
    }
    return cursor;
  }

  /**
   * How {@linkcode Cursor.advance} records delivered events.
   *
   * @returns `"offset"` or `"timestamp"`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * assert.ok(Cursor.fromEntries([]).mode === "offset");
   * ```
   */
  get mode(): CursorMode {
    return this.#mode;
  }

  /**
   * The entries, in order, as fresh copies (changing them does not change
   * the cursor). An entry holding both an offset and a timestamp is shown
   * with its offset only, the one the server uses.
   *
   * @returns One entry per topic-partition.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.parse('[{"topic":"eqiad.x","partition":0,"offset":-1}]');
   * assert.ok(cursor.entries[0].topic === "eqiad.x");
   * ```
   */
  get entries(): readonly CursorEntry[] {
    return this.#slots.map((slot): CursorEntry =>
      slot.offset !== undefined
        ? { topic: slot.topic, partition: slot.partition, offset: slot.offset }
        : {
          topic: slot.topic,
          partition: slot.partition,
          timestamp: slot.timestamp!,
        }
    );
  }

  /**
   * Records that the event at `meta` was delivered. In `"offset"` mode the
   * entry of its topic-partition becomes `{offset: meta.offset + 1}`: the
   * server resumes exactly after it. In `"timestamp"` mode it becomes
   * `{timestamp: Date.parse(meta.dt) + 1}`, byte for byte what the server
   * writes into its own ids. A topic-partition not yet listed is appended.
   * Other entries are left as they are.
   *
   * @param meta The delivered event's `meta` (topic, partition, offset; `dt`
   *   in `"timestamp"` mode).
   * @throws {TypeError} When `meta.topic` is not a non-empty string,
   *   `meta.partition` not an integer >= 0 or `meta.offset` not an integer
   *   >= 0, or in `"timestamp"` mode `meta.dt` is not a string.
   * @throws {RangeError} In `"timestamp"` mode, when `meta.dt` is not a date
   *   `Date.parse` understands.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.parse('[{"topic":"eqiad.x","partition":0,"timestamp":1000}]');
   * cursor.advance({ topic: "eqiad.x", partition: 0, offset: 41 });
   * assert.ok(cursor.toString() === '[{"topic":"eqiad.x","partition":0,"offset":42}]');
   * ```
   */
  advance(meta: EventPosition): void {
    if (meta === null || typeof meta !== "object") {
      throw new TypeError(
        `Cannot advance cursor: expected an event meta object, got ${
          show(meta)
        }`,
      );
    }
    const { topic, partition, offset } = meta;
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(
        `Cannot advance cursor: expected meta.topic to be a non-empty string, got ${
          show(topic)
        }`,
      );
    }
    if (!Number.isSafeInteger(partition) || partition < 0) {
      throw new TypeError(
        `Cannot advance cursor: expected meta.partition to be an integer >= 0, got ${
          show(partition)
        }`,
      );
    }
    // Safe integers only: offset + 1 is exact below 2^53.
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new TypeError(
        `Cannot advance cursor: expected meta.offset to be a safe integer >= 0, got ${
          show(offset)
        }`,
      );
    }
    let slot = this.#slot(topic, partition);
    if (slot === undefined) {
      slot = newSlot(topic, partition);
      this.#index.set(key(topic, partition), this.#slots.length);
      this.#slots.push(slot);
    }
    if (this.#mode === "offset") {
      const next = offset + 1;
      if (slot.offset === next && slot.timestamp === undefined) return;
      slot.offset = next;
      slot.timestamp = undefined;
      slot.json = undefined;
    } else {
      const dt = meta.dt;
      if (typeof dt !== "string") {
        throw new TypeError(
          `Cannot advance cursor in timestamp mode: expected meta.dt to be an ISO-8601 string, got ${
            show(dt)
          }`,
        );
      }
      const ms = Date.parse(dt);
      if (Number.isNaN(ms)) {
        throw new RangeError(
          `Cannot advance cursor in timestamp mode: meta.dt is not a date, got ${
            show(dt)
          }`,
        );
      }
      // Per KafkaSSE: the id records the Kafka timestamp + 1, and the
      // producer sets the Kafka timestamp to meta.dt.
      const next = ms + 1;
      if (slot.timestamp === next && slot.offset === undefined) return;
      slot.offset = undefined;
      slot.timestamp = next;
      slot.json = undefined;
    }
    this.#text = undefined;
  }

  /**
   * Whether the event at `meta` lies below this cursor: the cursor holds an
   * offset entry (>= 0) for its topic-partition and `meta.offset` is less
   * than it, so the event was already delivered. Timestamp and `-1`
   * ("latest") entries cover nothing: they cannot tell.
   *
   * @param meta The event's `meta` (topic, partition, offset).
   * @returns `true` when the event is before the resume point.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.parse('[{"topic":"eqiad.x","partition":0,"offset":42}]');
   * assert.ok(cursor.covers({ topic: "eqiad.x", partition: 0, offset: 41 }));
   * assert.ok(!cursor.covers({ topic: "eqiad.x", partition: 0, offset: 42 }));
   * ```
   */
  covers(meta: EventPosition): boolean {
    const slot = this.#slot(meta.topic, meta.partition);
    return slot !== undefined && slot.offset !== undefined &&
      slot.offset >= 0 &&
      meta.offset < slot.offset;
  }

  /**
   * Replaces every `offset: -1` ("latest") entry by
   * `{timestamp: timestampMs}`, so that a resume does not skip what arrived
   * on those topic-partitions since this cursor was taken (the server would
   * start them at whatever is latest at reconnect time).
   *
   * @param timestampMs When the connection that produced the `-1` entries
   *   started, in epoch milliseconds (an integer).
   * @throws {RangeError} When `timestampMs` is not an integer.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.parse('[{"topic":"codfw.x","partition":0,"offset":-1}]');
   * cursor.pinLatest(1700000000000);
   * assert.ok(cursor.toString() === '[{"topic":"codfw.x","partition":0,"timestamp":1700000000000}]');
   * ```
   */
  pinLatest(timestampMs: number): void {
    if (!Number.isInteger(timestampMs)) {
      throw new RangeError(
        `Cannot pin latest entries: expected an integer timestamp in epoch milliseconds, got ${
          show(timestampMs)
        }`,
      );
    }
    for (const slot of this.#slots) {
      if (slot.offset !== -1) continue;
      slot.offset = undefined;
      slot.timestamp = timestampMs;
      slot.json = undefined;
      this.#text = undefined;
    }
  }

  /**
   * An independent copy with the same entries and mode.
   *
   * @returns The copy.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const a = Cursor.parse('[{"topic":"eqiad.x","partition":0,"offset":1}]');
   * const b = a.clone();
   * b.advance({ topic: "eqiad.x", partition: 0, offset: 5 });
   * assert.ok(a.toString() !== b.toString());
   * ```
   */
  clone(): Cursor {
    const copy = new Cursor(this.#mode);
    copy.#slots = this.#slots.map((slot) => ({ ...slot }));
    copy.#index = new Map(this.#index);
    copy.#text = this.#text;
    return copy;
  }

  /**
   * The `Last-Event-ID` header value: compact JSON, one object per entry
   * with keys in the order topic, partition, offset|timestamp.
   *
   * @returns The id text.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Cursor } from "@eventstreams/client";
   * const cursor = Cursor.fromEntries([{ topic: "eqiad.x", partition: 0, offset: -1 }]);
   * assert.ok(cursor.toString() === '[{"topic":"eqiad.x","partition":0,"offset":-1}]');
   * ```
   */
  toString(): string {
    if (this.#text === undefined) {
      let text = "[";
      for (let i = 0; i < this.#slots.length; i++) {
        if (i > 0) text += ",";
        const slot = this.#slots[i];
        slot.json ??= slot.offset !== undefined
          ? `${slot.head}"offset":${slot.offset}}`
          : `${slot.head}"timestamp":${slot.timestamp}}`;
        text += slot.json;
      }
      this.#text = text + "]";
    }
    return this.#text;
  }

  #slot(topic: string, partition: number): Slot | undefined {
    // Fast path: consecutive events mostly come from the same partition.
    const last = this.#last;
    if (
      last !== undefined && last.topic === topic && last.partition === partition
    ) return last;
    const i = this.#index.get(key(topic, partition));
    if (i === undefined) return undefined;
    return (this.#last = this.#slots[i]);
  }

  /** Validates and appends one entry; returns what is wrong with it, if anything. */
  #add(raw: unknown, i: number): string | undefined {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return `expected entry ${i} to be an object ${EXPECTED}`;
    }
    const entry = raw as Record<string, unknown>;
    const { topic, partition, offset, timestamp } = entry;
    if (typeof topic !== "string" || topic === "") {
      return `expected entry ${i} to have a non-empty string topic`;
    }
    if (!Number.isSafeInteger(partition) || (partition as number) < 0) {
      return `expected entry ${i} to have an integer partition >= 0`;
    }
    const hasOffset = offset !== undefined;
    const hasTimestamp = timestamp !== undefined;
    if (
      hasOffset && (!Number.isSafeInteger(offset) || (offset as number) < -1)
    ) {
      return `expected entry ${i} to have a safe integer offset >= -1`;
    }
    if (hasTimestamp && !Number.isSafeInteger(timestamp)) {
      return `expected entry ${i} to have an integer timestamp (epoch milliseconds)`;
    }
    if (!hasOffset && !hasTimestamp) {
      return `expected entry ${i} to have an offset or a timestamp`;
    }
    const k = key(topic, partition as number);
    if (this.#index.has(k)) {
      return `expected each topic-partition once, but entry ${i} repeats ${topic} partition ${partition}`;
    }
    const slot = newSlot(topic, partition as number);
    slot.offset = offset as number | undefined;
    slot.timestamp = timestamp as number | undefined;
    let body: string;
    if (!hasTimestamp) body = `"offset":${offset}`;
    else if (!hasOffset) body = `"timestamp":${timestamp}`;
    else {
      // Keep both, in the order given, so the text round-trips.
      const offsetFirst = Object.keys(entry).indexOf("offset") <
        Object.keys(entry).indexOf("timestamp");
      body = offsetFirst
        ? `"offset":${offset},"timestamp":${timestamp}`
        : `"timestamp":${timestamp},"offset":${offset}`;
    }
    slot.json = `${slot.head}${body}}`;
    this.#index.set(k, this.#slots.length);
    this.#slots.push(slot);
    return undefined;
  }
}

function newSlot(topic: string, partition: number): Slot {
  const head = `{"topic":${JSON.stringify(topic)},"partition":${partition},`;
  return {
    topic,
    partition,
    offset: undefined,
    timestamp: undefined,
    head,
    json: undefined,
  };
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function checkMode(options: CursorOptions | undefined): CursorMode {
  const mode = options?.mode ?? "offset";
  if (mode !== "offset" && mode !== "timestamp") {
    throw new RangeError(
      `Cannot create Cursor: expected mode "offset" or "timestamp", got ${
        show(mode)
      }`,
    );
  }
  return mode;
}

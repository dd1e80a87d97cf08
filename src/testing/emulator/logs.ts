/**
 * Kafka topic-partition logs as the emulated EventStreams server sees them:
 * messages with offsets, timestamps and the event JSON the server sends.
 *
 * @module
 */

/**
 * One Kafka message of a topic-partition log.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorMessage } from "@eventstreams/client/testing";
 * const message: EmulatorMessage = {
 *   offset: 4369496612,
 *   timestamp: Date.parse("2022-12-11T04:27:02Z"),
 *   data: '{"meta":{"dt":"2022-12-11T04:27:02Z","topic":"eqiad.mediawiki.recentchange","partition":0,"offset":4369496612}}',
 * };
 * assert.ok(message.timestamp === 1670732822000);
 * ```
 */
export interface EmulatorMessage {
  /** The Kafka offset; strictly increasing within a log (gaps allowed). */
  readonly offset: number;
  /** The Kafka timestamp in epoch milliseconds; on EventStreams it equals `Date.parse(meta.dt)`. */
  readonly timestamp: number;
  /**
   * The event as the server sends it: compact JSON with `meta.topic`,
   * `meta.partition` and `meta.offset` set (and `meta.key` when the message
   * has a key).
   */
  readonly data: string;
}

/**
 * A message together with the topic-partition it lives in.
 *
 * @example
 * ```ts no-assert
 * import type { PositionedMessage } from "@eventstreams/client/testing";
 * const message: PositionedMessage = {
 *   topic: "eqiad.mediawiki.recentchange",
 *   partition: 0,
 *   offset: 1,
 *   timestamp: 0,
 *   data: "{}",
 * };
 * ```
 */
export interface PositionedMessage extends EmulatorMessage {
  /** The Kafka topic, e.g. `eqiad.mediawiki.recentchange`. */
  readonly topic: string;
  /** The partition number. */
  readonly partition: number;
}

/**
 * Options for {@linkcode TopicPartitionLog}.
 *
 * @example
 * ```ts no-assert
 * import type { TopicPartitionLogOptions } from "@eventstreams/client/testing";
 * const options: TopicPartitionLogOptions = { topic: "eqiad.mediawiki.recentchange", partition: 1, baseOffset: 10 };
 * ```
 */
export interface TopicPartitionLogOptions {
  /** The Kafka topic name. */
  topic: string;
  /**
   * The partition number.
   *
   * @default {0}
   */
  partition?: number;
  /**
   * Messages already in the log, in offset order. Their `data` is kept
   * verbatim (it must already be what the server sends).
   *
   * @default {[]}
   */
  messages?: readonly EmulatorMessage[];
  /**
   * The offset the first appended message gets when the log is empty.
   *
   * @default {0}
   */
  baseOffset?: number;
}

/**
 * Options for {@linkcode TopicPartitionLog.prototype.append}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AppendOptions, TopicPartitionLog } from "@eventstreams/client/testing";
 * const options: AppendOptions = { timestamp: 1000, key: { wiki_id: "enwiki", page_id: 1 } };
 * const log = new TopicPartitionLog({ topic: "eqiad.mediawiki.page_change.v1" });
 * assert.ok(log.append({ meta: {} }, options).timestamp === 1000);
 * ```
 */
export interface AppendOptions {
  /**
   * The Kafka timestamp in epoch milliseconds.
   *
   * @default {Date.parse(event.meta.dt)}
   */
  timestamp?: number;
  /**
   * The Kafka message key. When given, the server copies it to `meta.key`
   * (after `meta.offset`), as it does for `mediawiki.page_change.v1`.
   *
   * @default {undefined}
   */
  key?: unknown;
}

const encoder = new TextEncoder();
const LINE_BREAK = /[\r\n]/;

/**
 * Where a log's encoded lines live: views into shared buffers, filled by
 * `encodeInto`, instead of an ArrayBuffer per line (whose allocation and
 * collection cost more than the encoding). A buffer starts at 16 KiB and
 * doubles up to 1 MiB, so a small log stays small.
 */
class LineSlab {
  #buffer = new Uint8Array(0);
  #at = 0;

  encode(text: string): Uint8Array {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = text.length * 3;
    if (most > SLAB_MAX_BYTES / 4) return encoder.encode(text);
    if (this.#at + most > this.#buffer.length) {
      const size = Math.min(
        SLAB_MAX_BYTES,
        Math.max(16 * 1024, this.#buffer.length * 2),
      );
      this.#buffer = new Uint8Array(size);
      this.#at = 0;
    }
    const { written } = encoder.encodeInto(
      text,
      this.#buffer.subarray(this.#at),
    );
    const bytes = this.#buffer.subarray(this.#at, this.#at + written);
    this.#at += written;
    return bytes;
  }
}
const SLAB_MAX_BYTES = 1024 * 1024;

/**
 * One Kafka topic-partition: an append-only list of messages with offsets
 * and timestamps, and the lookups the server's consumer does on it
 * (offset seek, Kafka's offsets-for-times, the latest offset).
 *
 * The SSE `data:` line and the JSON-mode line of each message are encoded
 * once and cached, so serving a message to many connections costs no
 * re-encoding.
 *
 * @example Appending events and looking them up by time
 * ```ts
 * import assert from "node:assert/strict";
 * import { TopicPartitionLog } from "@eventstreams/client/testing";
 * const log = new TopicPartitionLog({ topic: "eqiad.mediawiki.recentchange", baseOffset: 100 });
 * log.append({ meta: { dt: "2026-01-01T00:00:00Z" } });
 * log.append({ meta: { dt: "2026-01-01T00:00:01Z" } });
 * assert.ok(log.nextOffset === 102);
 * assert.ok(log.offsetForTimestamp(Date.parse("2026-01-01T00:00:00.500Z")) === 101);
 * assert.ok(JSON.parse(log.messages[0].data).meta.offset === 100);
 * ```
 */
export class TopicPartitionLog {
  /** The Kafka topic name. */
  readonly topic: string;
  /** The partition number. */
  readonly partition: number;
  #messages: EmulatorMessage[] = [];
  // Running maximum of timestamps: monotonic even when timestamps are not, so
  // offsets-for-times is a binary search.
  #maxTimestamps: number[] = [];
  #sseLines: (Uint8Array | undefined)[] = [];
  #jsonLines: (Uint8Array | undefined)[] = [];
  #slab = new LineSlab();
  #nextOffset: number;
  #listeners = new Set<() => void>();

  /**
   * Creates a log.
   *
   * @param options Topic, partition, initial messages, base offset.
   * @throws {RangeError} When the initial messages' offsets do not strictly increase.
   */
  constructor(options: TopicPartitionLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition ?? 0;
    this.#nextOffset = options.baseOffset ?? 0;
    for (const message of options.messages ?? []) this.#push({ ...message });
  }

  /** The messages in offset order (do not mutate). */
  get messages(): readonly EmulatorMessage[] {
    return this.#messages;
  }

  /** How many messages the log holds. */
  get length(): number {
    return this.#messages.length;
  }

  /** The first retained offset (Kafka's log start offset); `nextOffset` when empty. */
  get earliestOffset(): number {
    return this.#messages.length > 0
      ? this.#messages[0].offset
      : this.#nextOffset;
  }

  /** The offset the next appended message gets (Kafka's high watermark, "latest"). */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  /**
   * Appends an event as a producer would, and sets `meta.topic`,
   * `meta.partition`, `meta.offset` (and `meta.key`) the way the server's
   * deserializer does before sending it.
   *
   * @param event The event: an object, or its JSON text.
   * @param options Timestamp and key.
   * @returns The stored message.
   * @throws {TypeError} When the event is not a JSON object, or has no parseable
   *   `meta.dt` and no `timestamp` is given.
   */
  append(
    event: string | Record<string, unknown>,
    options: AppendOptions = {},
  ): EmulatorMessage {
    const text = typeof event === "string" ? event : JSON.stringify(event);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON at all: reported like any other non-object below.
    }
    if (
      parsed === null || typeof parsed !== "object" || Array.isArray(parsed)
    ) {
      throw new TypeError(
        `Cannot append to ${this.topic}/${this.partition}: expected a JSON object, got '${
          text.slice(0, 80)
        }'`,
      );
    }
    const object = parsed as Record<string, unknown>;
    // Per the eventstreams deserializer: a missing meta becomes {}, then
    // topic, partition, offset (and key when the message has one) are set.
    if (object.meta === null || typeof object.meta !== "object") {
      object.meta = {};
    }
    const meta = object.meta as Record<string, unknown>;
    const timestamp = options.timestamp ?? Date.parse(String(meta.dt));
    if (!Number.isFinite(timestamp)) {
      throw new TypeError(
        `Cannot append to ${this.topic}/${this.partition}: the event has no parseable meta.dt ` +
          `(got '${String(meta.dt)}'); pass a timestamp`,
      );
    }
    const offset = this.#nextOffset;
    meta.topic = this.topic;
    meta.partition = this.partition;
    meta.offset = offset;
    if (options.key !== undefined && options.key !== null) {
      meta.key = options.key;
    }
    const message: EmulatorMessage = {
      offset,
      timestamp,
      data: JSON.stringify(object),
    };
    this.#push(message);
    for (const listener of [...this.#listeners]) listener();
    return message;
  }

  /**
   * Appends a message that already has its offset, timestamp and final data
   * (a relay mirroring another server's log), and wakes subscribers.
   *
   * @param message The message; its offset must follow the last one.
   * @throws {RangeError} When the offset does not follow the last one.
   */
  appendMessage(message: EmulatorMessage): void {
    this.#push({ ...message });
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * The index of the first message whose offset is at least `offset`
   * (`length` when there is none).
   *
   * @param offset A Kafka offset.
   * @returns An index into {@linkcode TopicPartitionLog.prototype.messages}.
   */
  indexOfOffset(offset: number): number {
    let lo = 0;
    let hi = this.#messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#messages[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Kafka's offsets-for-times as an index: the first message, in offset
   * order, whose timestamp is at least `timestamp` (`length` when none is).
   *
   * @param timestamp Epoch milliseconds.
   * @returns An index into {@linkcode TopicPartitionLog.prototype.messages}.
   */
  indexForTimestamp(timestamp: number): number {
    let lo = 0;
    let hi = this.#maxTimestamps.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#maxTimestamps[mid] < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Kafka's offsets-for-times: the offset of the first message whose
   * timestamp is at least `timestamp`, or `-1` when there is none (the
   * consumer then starts at the end).
   *
   * @param timestamp Epoch milliseconds.
   * @returns An offset, or -1.
   */
  offsetForTimestamp(timestamp: number): number {
    const index = this.indexForTimestamp(timestamp);
    return index < this.#messages.length ? this.#messages[index].offset : -1;
  }

  /**
   * Calls `listener` after every append (the emulator wakes live
   * connections with it).
   *
   * @param listener Called synchronously after each append.
   * @returns A function that removes the listener.
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The SSE `data:` line of the message at `index`, with the blank line that
   * ends the frame (`data: <json>\n\n`), encoded once and cached.
   *
   * @param index An index into the messages.
   * @returns UTF-8 bytes (do not mutate).
   */
  sseDataLine(index: number): Uint8Array {
    let bytes = this.#sseLines[index];
    if (bytes === undefined) {
      const data = this.#messages[index].data;
      // Per KafkaSSE's SSEResponse: runs of CR/LF in data become one LF and
      // each line gets its own "data: " prefix. Compact JSON has none: one
      // line, encoded straight (the split and join cost 10x the encoding).
      bytes = LINE_BREAK.test(data)
        ? this.#slab.encode(
          data.replace(/[\r\n]+/g, "\n").split("\n")
            .map((line) => `data: ${line}\n`).join("") + "\n",
        )
        : this.#slab.encode(`data: ${data}\n\n`);
      this.#sseLines[index] = bytes;
    }
    return bytes;
  }

  /**
   * The JSON-mode line of the message at `index` (`<json>\n`), encoded once
   * and cached.
   *
   * @param index An index into the messages.
   * @returns UTF-8 bytes (do not mutate).
   */
  jsonLine(index: number): Uint8Array {
    let bytes = this.#jsonLines[index];
    if (bytes === undefined) {
      const data = this.#messages[index].data;
      bytes = this.#slab.encode(
        (LINE_BREAK.test(data) ? data.replace(/[\r\n]+/g, "\n") : data) +
          "\n",
      );
      this.#jsonLines[index] = bytes;
    }
    return bytes;
  }

  #push(message: EmulatorMessage): void {
    if (!Number.isSafeInteger(message.offset) || message.offset < 0) {
      throw new RangeError(
        `Cannot add a message to ${this.topic}/${this.partition}: offset must be a non-negative integer, got ${message.offset}`,
      );
    }
    const last = this.#messages.at(-1);
    if (last !== undefined && message.offset <= last.offset) {
      throw new RangeError(
        `Cannot add a message to ${this.topic}/${this.partition}: offset ${message.offset} does not follow ${last.offset}`,
      );
    }
    const previousMax = this.#maxTimestamps.at(-1) ?? -Infinity;
    this.#messages.push(message);
    this.#maxTimestamps.push(Math.max(previousMax, message.timestamp));
    this.#sseLines.push(undefined);
    this.#jsonLines.push(undefined);
    this.#nextOffset = message.offset + 1;
  }
}

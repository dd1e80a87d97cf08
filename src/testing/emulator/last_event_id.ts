/**
 * The `Last-Event-ID` rules of EventStreams, as its KafkaSSE library applies
 * them: parsing, validation, topic checks, and resolving each entry to a
 * starting position (offsets, Kafka's offsets-for-times, latest).
 *
 * @module
 */

import type { TopicPartitionLog } from "./logs.ts";

/**
 * One object entry of a KafkaSSE assignment (`Last-Event-ID` array item).
 * Validation requires a string `topic`, an integer `partition` and an
 * integer `offset` or `timestamp`; other keys are kept (and echoed in ids).
 *
 * @example
 * ```ts no-assert
 * import type { KafkaAssignment } from "@eventstreams/client/testing";
 * const entry: KafkaAssignment = { topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 12 };
 * ```
 */
export interface KafkaAssignment {
  /** The Kafka topic. */
  topic: string;
  /** The partition number. */
  partition: number;
  /** Where to start: an offset (`-1` latest, `-2` earliest). Wins over `timestamp`. */
  offset?: unknown;
  /** Where to start: epoch ms, resolved with Kafka's offsets-for-times. */
  timestamp?: unknown;
  /** Other keys, kept verbatim. */
  [key: string]: unknown;
}

/**
 * A KafkaSSE assignment item: a topic name (all its partitions, from `since`
 * or latest) or a {@linkcode KafkaAssignment}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { AssignmentEntry } from "@eventstreams/client/testing";
 * const entries: AssignmentEntry[] = ["codfw.mediawiki.recentchange", { topic: "eqiad.mediawiki.recentchange", partition: 0, timestamp: 1 }];
 * assert.ok(entries.length === 2);
 * ```
 */
export type AssignmentEntry = string | KafkaAssignment;

/**
 * An error the way KafkaSSE reports it before streaming: an HTTP status and
 * a JSON body `{message, origin: "KafkaSSE", name, originalName?, ...}`
 * (KafkaSSEError.toJSON), written with a trailing newline and no
 * content-type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KafkaSseError } from "@eventstreams/client/testing";
 * const error = new KafkaSseError("TopicNotAvailableError", "Topics x are not available for consumption.", {
 *   properties: { availableTopics: ["eqiad.test.event"], statusCode: 404 },
 * });
 * assert.ok(error.status === 404);
 * assert.ok(error.body.startsWith('{"message":"Topics x are not available for consumption.","origin":"KafkaSSE"'));
 * ```
 */
export class KafkaSseError extends Error {
  /** The HTTP status the server answers with (`properties.statusCode`, else 500). */
  readonly status: number;
  /** The name of the wrapped error (e.g. `SyntaxError`), when one was wrapped. */
  readonly originalName: string | undefined;
  /** Extra enumerable properties, in the order KafkaSSE serializes them. */
  readonly properties: Readonly<Record<string, unknown>>;

  /**
   * Creates a KafkaSSE-style error.
   *
   * @param name The KafkaSSE error class, e.g. `InvalidAssignmentError`.
   * @param message The message.
   * @param options The wrapped error's name and the extra properties (with `statusCode`).
   */
  constructor(
    name: string,
    message: string,
    options: { originalName?: string; properties?: Record<string, unknown> } =
      {},
  ) {
    super(message);
    this.name = name;
    this.originalName = options.originalName;
    this.properties = options.properties ?? {};
    const status = this.properties.statusCode;
    this.status = typeof status === "number" ? status : 500;
  }

  /**
   * The JSON form KafkaSSE sends (`message`, `origin`, `name`,
   * `originalName`, then the extra properties).
   *
   * @returns A JSON-serializable object.
   */
  toJSON(): Record<string, unknown> {
    return {
      message: this.message,
      origin: "KafkaSSE",
      name: this.name,
      ...(this.originalName === undefined
        ? {}
        : { originalName: this.originalName }),
      ...this.properties,
    };
  }

  /** The response body: the JSON form and a newline. */
  get body(): string {
    return `${JSON.stringify(this)}\n`;
  }
}

// Per KafkaSSE utils.validateAssignments (the double space is the server's).
const INVALID_ASSIGNMENTS_MESSAGE =
  "Must provide either an array topic names, or " +
  " an array of objects with topic, partition and offset|timestamp.";

/**
 * Parses a `Last-Event-ID` header like KafkaSSE: `JSON.parse`, a JSON string
 * is split on commas into topic names, then the result must be a non-empty
 * array of topic names or `{topic, partition, offset|timestamp}` objects with
 * integer values.
 *
 * @param header The header value (present, possibly empty).
 * @returns The assignment entries.
 * @throws {KafkaSseError} `InvalidAssignmentError` (status 400) when the text is
 *   not JSON or has the wrong shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLastEventId } from "@eventstreams/client/testing";
 * const entries = parseLastEventId('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5}]');
 * assert.ok(entries.length === 1);
 * assert.throws(
 *   () => parseLastEventId('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":"1"}]'),
 *   { name: "InvalidAssignmentError", status: 400 },
 * );
 * ```
 */
export function parseLastEventId(header: string): AssignmentEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch (error) {
    throw new KafkaSseError(
      "InvalidAssignmentError",
      (error as Error).message,
      {
        originalName: (error as Error).name,
        properties: { last_event_id: header, statusCode: 400 },
      },
    );
  }
  if (typeof value === "string") value = value.split(",");
  if (!isValidAssignments(value)) {
    throw new KafkaSseError(
      "InvalidAssignmentError",
      INVALID_ASSIGNMENTS_MESSAGE,
      {
        originalName: "Error",
        properties: { assignments: value, statusCode: 400 },
      },
    );
  }
  return value;
}

function isValidAssignments(value: unknown): value is AssignmentEntry[] {
  return Array.isArray(value) && value.length > 0 &&
    value.every((entry) =>
      typeof entry === "string" || (
        entry !== null && typeof entry === "object" && !Array.isArray(entry) &&
        typeof entry.topic === "string" && Number.isInteger(entry.partition) &&
        (Number.isInteger(entry.offset) || Number.isInteger(entry.timestamp))
      )
    );
}

/**
 * Throws KafkaSSE's 404 when an assignment names a topic the requested
 * streams do not have.
 *
 * @param entries The assignment entries.
 * @param availableTopics The requested streams' topics.
 * @throws {KafkaSseError} `TopicNotAvailableError` (status 404).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkTopicsAvailable } from "@eventstreams/client/testing";
 * checkTopicsAvailable(["eqiad.test.event"], ["eqiad.test.event", "codfw.test.event"]);
 * assert.throws(
 *   () => checkTopicsAvailable(["eqiad.other"], ["eqiad.test.event"]),
 *   { name: "TopicNotAvailableError", status: 404 },
 * );
 * ```
 */
export function checkTopicsAvailable(
  entries: readonly AssignmentEntry[],
  availableTopics: readonly string[],
): void {
  const topics = [
    ...new Set(entries.map((e) => typeof e === "string" ? e : e.topic)),
  ];
  const unavailable = topics.filter((topic) =>
    !availableTopics.includes(topic)
  );
  if (unavailable.length > 0) {
    throw new KafkaSseError(
      "TopicNotAvailableError",
      `Topics ${unavailable.join(", ")} are not available for consumption.`,
      {
        properties: { availableTopics: [...availableTopics], statusCode: 404 },
      },
    );
  }
}

/**
 * What the consumer does with an offset outside the log (librdkafka
 * `auto.offset.reset`; its default is latest).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { OffsetReset } from "@eventstreams/client/testing";
 * const reset: OffsetReset = "earliest";
 * assert.ok(reset === "earliest");
 * ```
 */
export type OffsetReset = "latest" | "earliest";

/**
 * Options for {@linkcode resolveAssignments}.
 *
 * @example
 * ```ts no-assert
 * import type { ResolveAssignmentsOptions } from "@eventstreams/client/testing";
 * const options: ResolveAssignmentsOptions = { partitions: () => [], atTimestamp: 0, offsetReset: "latest" };
 * ```
 */
export interface ResolveAssignmentsOptions {
  /** The partitions of a topic (empty when it has none). */
  partitions: (topic: string) => readonly TopicPartitionLog[];
  /**
   * `since` in epoch ms: topic-name entries start there (KafkaSSE's
   * `atTimestamp`); absent: they start at latest (`offset: -1`).
   *
   * @default {undefined}
   */
  atTimestamp?: number;
  /**
   * Where an offset below the log start or past the end starts.
   *
   * @default {"latest"}
   */
  offsetReset?: OffsetReset;
}

/**
 * Where one assigned topic-partition starts, and its id entry until it delivers.
 *
 * @example
 * ```ts no-assert
 * import type { StartPosition } from "@eventstreams/client/testing";
 * const position: StartPosition = {
 *   topic: "codfw.mediawiki.recentchange",
 *   partition: 0,
 *   entry: '{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}',
 *   index: undefined,
 * };
 * ```
 */
export interface StartPosition {
  /** The Kafka topic. */
  readonly topic: string;
  /** The partition number. */
  readonly partition: number;
  /** The id entry (compact JSON) the server lists for it until it delivers a message. */
  readonly entry: string;
  /** Index into the log's messages to start at; `undefined` for "latest at connect time". */
  readonly index: number | undefined;
}

/**
 * Resolves assignment entries to starting positions exactly as KafkaSSE's
 * `buildAssignmentsAsync` does: topic names expand to all their partitions
 * at `atTimestamp` (else `offset: -1`); objects with an offset are kept as
 * they are; objects with only a timestamp are resolved with Kafka's
 * offsets-for-times (first message with timestamp >= t, else `-1`) and
 * listed after the offset ones. Server quirk kept: when any entry needs
 * offsets-for-times, entries carrying both an offset and a timestamp are
 * dropped.
 *
 * @param entries The validated assignment entries.
 * @param options Partition lookup, `since`, offset reset policy.
 * @returns The positions, in the order the ids list them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveAssignments, TopicPartitionLog } from "@eventstreams/client/testing";
 * const log = new TopicPartitionLog({ topic: "eqiad.test.event" });
 * log.append({ meta: { dt: "2026-01-01T00:00:00Z" } });
 * const [position] = resolveAssignments(["eqiad.test.event"], { partitions: () => [log] });
 * assert.ok(position.entry === '{"topic":"eqiad.test.event","partition":0,"offset":-1}');
 * assert.ok(position.index === undefined);
 * ```
 */
export function resolveAssignments(
  entries: readonly AssignmentEntry[],
  options: ResolveAssignmentsOptions,
): StartPosition[] {
  const { partitions, atTimestamp } = options;
  const reset = options.offsetReset ?? "latest";
  // Per KafkaSSE: `atTimestamp ? {timestamp} : {offset: -1}` (the caller
  // applies the truthiness of the raw query value).
  const expanded: KafkaAssignment[] = entries.flatMap((entry) =>
    typeof entry === "string"
      ? partitions(entry).map((log) => ({
        topic: entry,
        partition: log.partition,
        ...(atTimestamp === undefined
          ? { offset: -1 }
          : { timestamp: atTimestamp }),
      }))
      : [entry]
  );
  const timestampOnly = expanded.filter((a) =>
    "timestamp" in a && !("offset" in a)
  );
  const logOf = (a: KafkaAssignment) =>
    partitions(a.topic).find((l) => l.partition === a.partition);

  const fromOffset = (a: KafkaAssignment): StartPosition => {
    const log = logOf(a);
    return {
      topic: a.topic,
      partition: a.partition,
      entry: JSON.stringify(a),
      index: log === undefined ? undefined : startIndex(log, a.offset, reset),
    };
  };
  if (timestampOnly.length === 0) return dedupe(expanded.map(fromOffset));

  const resolved = timestampOnly.map((a): StartPosition => {
    const log = logOf(a);
    const timestamp = a.timestamp as number;
    // Per Kafka ListOffsets: -1 is "latest", -2 "earliest"; otherwise the
    // first offset with timestamp >= t, or -1 when there is none.
    const offset = log === undefined
      ? -1
      : timestamp === -1
      ? log.nextOffset
      : timestamp === -2
      ? log.earliestOffset
      : log.offsetForTimestamp(timestamp);
    return {
      topic: a.topic,
      partition: a.partition,
      entry: JSON.stringify({ topic: a.topic, partition: a.partition, offset }),
      index: log === undefined ? undefined : startIndex(log, offset, reset),
    };
  });
  const withOffset = expanded.filter((a) =>
    !("timestamp" in a) && "offset" in a
  ).map(fromOffset);
  return dedupe([...withOffset, ...resolved]);
}

/** Where a consumer assigned at `offset` starts reading `log`. */
function startIndex(
  log: TopicPartitionLog,
  offset: unknown,
  reset: OffsetReset,
): number | undefined {
  if (offset === -1) return undefined;
  if (offset === -2) return 0;
  // Offsets outside [log start, high watermark] (and non-integers, which the
  // consumer cannot use) fall back to auto.offset.reset.
  if (
    typeof offset !== "number" || !Number.isInteger(offset) ||
    offset < log.earliestOffset ||
    offset > log.nextOffset
  ) {
    return reset === "earliest" ? 0 : undefined;
  }
  return log.indexOfOffset(offset);
}

/** One position per topic-partition: the first keeps its place in the id, the last one wins. */
function dedupe(positions: StartPosition[]): StartPosition[] {
  const byKey = new Map<string, StartPosition>();
  for (const position of positions) {
    // Map.set on an existing key keeps the key's original place.
    byKey.set(`${position.topic}\u0000${position.partition}`, position);
  }
  return [...byKey.values()];
}

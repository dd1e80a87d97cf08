/**
 * The shape every EventStreams event shares: a JSON object with a `meta`
 * object that says where the event sits in Kafka.
 *
 * Per-stream event types (`RecentChangeEvent`, `PageChangeEvent`, ...) are
 * generated from the server's schemas in `events.generated.ts` and extend
 * {@linkcode EventStreamsEvent}.
 *
 * @module
 */

/**
 * The `meta` object of an EventStreams event.
 *
 * `topic`, `partition` and `offset` are not part of the event schemas: the
 * server adds them to every event it sends (KafkaSSE copies the Kafka
 * message's coordinates into `meta`). They are what an exact resume cursor
 * is built from (see {@linkcode Cursor}). The other fields come from the
 * event producer. Additional fields are allowed, since live events carry
 * fields newer than any published schema.
 *
 * @example Reading an event's Kafka position
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventMeta } from "@eventstreams/client";
 *
 * const meta: EventMeta = {
 *   topic: "eqiad.mediawiki.recentchange",
 *   partition: 0,
 *   offset: 4369496612,
 *   dt: "2022-12-11T04:27:02Z",
 *   id: "0b4a6a1a-32b2-4be2-9ec4-6c7e4b5a0f1e",
 *   stream: "mediawiki.recentchange",
 *   domain: "en.wikipedia.org",
 * };
 * assert.ok(`${meta.topic}/${meta.partition}@${meta.offset}` ===
 *   "eqiad.mediawiki.recentchange/0@4369496612");
 * ```
 */
export interface EventMeta {
  /** Kafka topic the event was read from, e.g. `eqiad.mediawiki.recentchange` (added by the server). */
  topic: string;
  /** Kafka partition within {@linkcode EventMeta.topic} (added by the server). */
  partition: number;
  /** Kafka offset within the topic-partition (added by the server); exact resume points are built from it. */
  offset: number;
  /** UTC event time in ISO-8601; the server's Kafka timestamp equals it. */
  dt: string;
  /** Unique id of this event (a UUID); the same event seen twice has the same id. */
  id: string;
  /** Name of the stream the event belongs to, e.g. `mediawiki.recentchange`. */
  stream: string;
  /** Domain the event pertains to, e.g. `en.wikipedia.org`; `canary` for synthetic monitoring events. */
  domain?: string;
  /** Unique URI identifying the event or entity. */
  uri?: string;
  /** Unique id of the request that caused the event. */
  request_id?: string;
  /** Kafka message key, when the stream has one (`mediawiki.page_change.v1`). */
  key?: unknown;
  /** Fields newer than this type. */
  [key: string]: unknown;
}

/**
 * Any EventStreams event: a JSON object with a {@linkcode EventMeta}.
 * Per-stream types extend it; use it for streams this library does not know.
 *
 * @example Handling events of an unknown stream
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventStreamsEvent } from "@eventstreams/client";
 *
 * function label(event: EventStreamsEvent): string {
 *   return `${event.meta.stream} ${event.meta.dt}`;
 * }
 * const event: EventStreamsEvent = {
 *   meta: {
 *     topic: "eqiad.example.stream",
 *     partition: 0,
 *     offset: 7,
 *     dt: "2024-11-01T00:00:00Z",
 *     id: "b4f1c2de-0000-4000-8000-000000000000",
 *     stream: "example.stream",
 *   },
 *   anything: "else",
 * };
 * assert.ok(label(event) === "example.stream 2024-11-01T00:00:00Z");
 * ```
 */
export interface EventStreamsEvent {
  /** Where the event comes from: stream, time, id and Kafka position. */
  meta: EventMeta;
  /** The event's own fields (see the per-stream types). */
  [key: string]: unknown;
}

/**
 * Request headers in any form `new Headers(init)` takes: a `Headers`, an
 * object of names to values, or a list of `[name, value]` pairs. The same
 * as the DOM lib's `HeadersInit`, spelled out so that the declarations need
 * no DOM lib (a Node project type-checks them with `@types/node` alone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HeadersLike } from "@eventstreams/client";
 * const pairs: HeadersLike = [["x-requested-with", "my-page"]];
 * assert.equal(new Headers(pairs).get("X-Requested-With"), "my-page");
 * ```
 */
export type HeadersLike = Headers | Record<string, string> | [string, string][];

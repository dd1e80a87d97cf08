/**
 * The catalogue of public EventStreams streams: names, aliases, the event
 * type of each, and how long each may stay silent before a connection
 * should be presumed dead.
 *
 * @module
 */

import {
  STREAM_ALIASES,
  type StreamEventMap,
  STREAMS,
} from "./events.generated.ts";
import type { EventStreamsEvent } from "./types.ts";

/**
 * A stream name the server's 2024-11 catalogue knows: a canonical name
 * (`mediawiki.recentchange`) or an alias (`recentchange`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StreamName } from "@eventstreams/client";
 * const names: StreamName[] = ["recentchange", "mediawiki.page_change.v1"];
 * assert.ok(names.length === 2);
 * ```
 */
export type StreamName = keyof StreamEventMap;

/**
 * A canonical stream name: what the server calls the stream in `meta.stream`
 * and what this library puts in request URLs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CanonicalStreamName } from "@eventstreams/client";
 * const name: CanonicalStreamName = "mediawiki.recentchange";
 * assert.ok(name.startsWith("mediawiki."));
 * ```
 */
export type CanonicalStreamName = typeof STREAMS[number];

/**
 * The event type of a stream name, or the union of the event types of a
 * list of names. Names outside the catalogue give
 * {@linkcode EventStreamsEvent}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventOf, PageChangeEvent, RecentChangeEvent } from "@eventstreams/client";
 *
 * type Edit = EventOf<"recentchange">; // RecentChangeEvent
 * type Either = EventOf<readonly ["recentchange", "mediawiki.page_change.v1"]>;
 * const fromEdit = (event: RecentChangeEvent): Either => event;
 * const fromChange = (event: PageChangeEvent): Either => event;
 * const title = (event: Edit): string | undefined => event.title;
 * assert.ok([fromEdit, fromChange, title].every((f) => typeof f === "function"));
 * ```
 */
export type EventOf<S> = S extends readonly (infer N)[] ? EventOfName<N>
  : EventOfName<S>;

/**
 * The event type of one stream name ({@linkcode EventStreamsEvent} for names
 * outside the catalogue).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EventOfName, TestEvent } from "@eventstreams/client";
 * const same = (event: EventOfName<"test">): TestEvent => event;
 * assert.ok(typeof same === "function");
 * ```
 */
export type EventOfName<N> = N extends StreamName ? StreamEventMap[N]
  : EventStreamsEvent;

/**
 * What this library knows about one public stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KNOWN_STREAMS, type StreamInfo } from "@eventstreams/client";
 * const info: StreamInfo | undefined = KNOWN_STREAMS.find((s) => s.name === "mediawiki.recentchange");
 * assert.ok(info?.aliases.includes("recentchange"));
 * ```
 */
export interface StreamInfo {
  /** The canonical name. */
  readonly name: CanonicalStreamName;
  /** Other names the server accepts for it. */
  readonly aliases: readonly string[];
  /** Expected traffic, in words, with the source of the estimate. */
  readonly expectedTraffic: string;
  /**
   * How long a connection consuming only this stream may stay silent before
   * the client presumes it dead and reconnects.
   */
  readonly idleTimeoutMs: number;
}

/**
 * Idle timeout for streams outside the catalogue: nothing is known about
 * their traffic, so be patient.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UNKNOWN_STREAM_IDLE_TIMEOUT_MS } from "@eventstreams/client";
 * assert.ok(UNKNOWN_STREAM_IDLE_TIMEOUT_MS === 300_000);
 * ```
 */
export const UNKNOWN_STREAM_IDLE_TIMEOUT_MS = 300_000;

const MINUTE = 60_000;

// Expected traffic per stream. The server sends no heartbeats, so an idle
// timeout is the only way to notice a dead ("zombie") connection; it must be
// long enough that a healthy but quiet stream rarely trips it (a false trip
// costs one reconnect, lossless with an offset cursor) and short enough that
// a dead connection is noticed soon. Rule of thumb: at least ~5 times the
// longest usual gap between events. Sources:
// - measured: fixtures/page_change_v1.2026-09-27.sse has 169 events in 7.5 s
//   (~22/s); fixtures/wme-testdata (eqiad topics, consecutive-ish offsets):
//   revision-create 38 offsets in 3 s (~13/s, 2020-12-02), page-move 6
//   offsets in 218 s (~1.7/min, 2020-12-01), page-delete 300 offsets in 341 s
//   (2020-11-18, during a bulk deletion on mg.wiktionary);
// - the server's spec: the test stream gets "a new event about once a minute";
// - assumed (unverified): recentchange carries every edit and log action of
//   all wikis (tens to hundreds per second); page-links-change and
//   revision-tags-change follow edits (many per second); page-create,
//   page-delete, page-properties-change several per minute or more;
//   revision-visibility-change and page-move a few per minute; page-undelete
//   rarer.
const TRAFFIC: Record<
  CanonicalStreamName,
  { expectedTraffic: string; idleTimeoutMs: number }
> = {
  "eventgate-main.test.event": {
    expectedTraffic: "about 1 per minute (per the server's spec)",
    idleTimeoutMs: 5 * MINUTE,
  },
  "mediawiki.page-create": {
    expectedTraffic: "several per minute or more (assumed)",
    idleTimeoutMs: 2 * MINUTE,
  },
  "mediawiki.page-delete": {
    expectedTraffic:
      "several per minute (assumed; ~50/min seen during a bulk deletion)",
    idleTimeoutMs: 2 * MINUTE,
  },
  "mediawiki.page-links-change": {
    expectedTraffic: "many per second (assumed: follows edits)",
    idleTimeoutMs: MINUTE,
  },
  "mediawiki.page-move": {
    expectedTraffic: "a few per minute (~1.7/min measured in 2020)",
    idleTimeoutMs: 3 * MINUTE,
  },
  "mediawiki.page-properties-change": {
    expectedTraffic: "several per minute (assumed)",
    idleTimeoutMs: 2 * MINUTE,
  },
  "mediawiki.page-undelete": {
    expectedTraffic: "rare: about one per minute or less (assumed)",
    idleTimeoutMs: 5 * MINUTE,
  },
  "mediawiki.page_change.v1": {
    expectedTraffic: "tens per second (~22/s measured in 2026)",
    idleTimeoutMs: MINUTE,
  },
  "mediawiki.recentchange": {
    expectedTraffic:
      "tens to hundreds per second (assumed: every edit and log action)",
    idleTimeoutMs: MINUTE,
  },
  "mediawiki.revision-create": {
    expectedTraffic: "tens per second (~13/s measured in 2020)",
    idleTimeoutMs: MINUTE,
  },
  "mediawiki.revision-tags-change": {
    expectedTraffic: "many per second (assumed: follows edits and reverts)",
    idleTimeoutMs: MINUTE,
  },
  "mediawiki.revision-visibility-change": {
    expectedTraffic: "a few per minute (assumed)",
    idleTimeoutMs: 3 * MINUTE,
  },
};

/**
 * Every public stream of the server's 2024-11 catalogue, with its aliases
 * and expected traffic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KNOWN_STREAMS } from "@eventstreams/client";
 * for (const stream of KNOWN_STREAMS) {
 *   assert.ok(stream.idleTimeoutMs >= 60_000, stream.name);
 * }
 * ```
 */
export const KNOWN_STREAMS: readonly StreamInfo[] = STREAMS.map((
  name,
): StreamInfo => ({
  name,
  aliases: Object.entries(STREAM_ALIASES)
    .filter(([, canonical]) => canonical === name)
    .map(([alias]) => alias),
  ...TRAFFIC[name],
}));

/** Any accepted name -> canonical name. */
const CANONICAL: ReadonlyMap<string, string> = new Map<string, string>([
  ...STREAMS.map((name): [string, string] => [name, name]),
  ...Object.entries(STREAM_ALIASES),
]);

const IDLE_TIMEOUT: ReadonlyMap<string, number> = new Map(
  KNOWN_STREAMS.map((s) => [s.name, s.idleTimeoutMs]),
);

/**
 * Options of {@linkcode resolveStreamName}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveStreamName, type ResolveStreamNameOptions } from "@eventstreams/client";
 * const options: ResolveStreamNameOptions = { allowUnknown: true };
 * assert.ok(resolveStreamName("mediawiki.brand-new", options) === "mediawiki.brand-new");
 * ```
 */
export interface ResolveStreamNameOptions {
  /**
   * Pass names outside the catalogue through unchanged instead of throwing
   * (for streams newer than this library).
   *
   * @default {false}
   */
  allowUnknown?: boolean;
}

/**
 * Turns a stream name or alias into the canonical name
 * (`recentchange` -> `mediawiki.recentchange`).
 *
 * @param name A stream name or alias.
 * @param options Whether names outside the catalogue are allowed.
 * @returns The canonical name (an unknown name, when allowed, as given).
 * @throws {TypeError} When `name` is not a non-empty string, contains a comma,
 *   or is unknown and `allowUnknown` is not set (the message lists the known
 *   streams).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveStreamName } from "@eventstreams/client";
 * assert.ok(resolveStreamName("recentchange") === "mediawiki.recentchange");
 * assert.ok(resolveStreamName("mediawiki.page_change.v1") === "mediawiki.page_change.v1");
 * ```
 */
export function resolveStreamName(
  name: string,
  options?: ResolveStreamNameOptions,
): string {
  const canonical = CANONICAL.get(name);
  if (canonical !== undefined) return canonical;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(
      `Cannot resolve stream name: expected a non-empty string, got ${
        typeof name === "string" ? "''" : String(name)
      }`,
    );
  }
  if (name.includes(",")) {
    throw new TypeError(
      `Cannot resolve stream name '${name}': pass several streams as an array, not a comma-separated string`,
    );
  }
  if (options?.allowUnknown) return name;
  throw new TypeError(
    `Unknown stream '${name}': expected one of ${knownList()}; ` +
      "pass allowUnknownStreams: true for streams newer than this catalogue",
  );
}

let known: string | undefined;
function knownList(): string {
  known ??= KNOWN_STREAMS
    .map((
      s,
    ) => (s.aliases.length > 0
      ? `${s.name} (${s.aliases.join(", ")})`
      : s.name)
    )
    .join(", ");
  return known;
}

/**
 * The idle timeout for a connection consuming the given streams: the
 * shortest of their per-stream timeouts, since the busiest stream keeps the
 * connection talking. Streams outside the catalogue count as
 * {@linkcode UNKNOWN_STREAM_IDLE_TIMEOUT_MS}. Aliases are accepted.
 *
 * @param canonicalNames The streams of one connection.
 * @returns Milliseconds of silence after which the connection is presumed dead.
 * @throws {RangeError} When `canonicalNames` is empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultIdleTimeoutMs } from "@eventstreams/client";
 * assert.ok(defaultIdleTimeoutMs(["eventgate-main.test.event"]) === 300_000);
 * assert.ok(defaultIdleTimeoutMs(["eventgate-main.test.event", "mediawiki.recentchange"]) === 60_000);
 * ```
 */
export function defaultIdleTimeoutMs(
  canonicalNames: readonly string[],
): number {
  if (canonicalNames.length === 0) {
    throw new RangeError(
      "Cannot choose an idle timeout: expected at least one stream name, got an empty list",
    );
  }
  let timeout = Infinity;
  for (const name of canonicalNames) {
    const canonical = CANONICAL.get(name) ?? name;
    timeout = Math.min(
      timeout,
      IDLE_TIMEOUT.get(canonical) ?? UNKNOWN_STREAM_IDLE_TIMEOUT_MS,
    );
  }
  return timeout;
}

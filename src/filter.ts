/**
 * Event predicates for {@linkcode EventStreamOptions.filter}: canary
 * detection, wiki and domain selection, and combinators.
 *
 * Events a filter rejects are consumed (the cursor moves past them), so they
 * never come back after a reconnect.
 *
 * @module
 */
import type { EventStreamsEvent } from "./types.ts";

/**
 * A predicate over events: `true` keeps the event, `false` drops it.
 *
 * @typeParam E The event type.
 *
 * @example
 * ```ts
 * import type { EventFilter, RecentChangeEvent } from "@eventstreams/client";
 * const humansOnly: EventFilter<RecentChangeEvent> = (event) => event.bot !== true;
 * console.assert(typeof humansOnly === "function");
 * ```
 */
export type EventFilter<E> = (event: E) => boolean;

/**
 * Whether `event` is a canary: a synthetic monitoring event
 * (`meta.domain === "canary"`) that the server mixes into every stream.
 * {@linkcode eventStream} drops them unless `canary: true`.
 *
 * @param event The event to test.
 * @returns `true` for a canary event.
 *
 * @example
 * ```ts
 * import { isCanaryEvent } from "@eventstreams/client";
 * const meta = { topic: "eqiad.test", partition: 0, offset: 1, dt: "", id: "x", stream: "test" };
 * console.assert(isCanaryEvent({ meta: { ...meta, domain: "canary" } }));
 * console.assert(!isCanaryEvent({ meta: { ...meta, domain: "en.wikipedia.org" } }));
 * ```
 */
export function isCanaryEvent(event: EventStreamsEvent): boolean {
  return event.meta.domain === "canary";
}

/**
 * Keeps events whose `meta.domain` is one of `domains` (exact,
 * case-insensitive), e.g. `"en.wikipedia.org"`.
 *
 * @param domains The domains to keep.
 * @returns A filter.
 * @throws {TypeError} When no domain is given.
 *
 * @example
 * ```ts
 * import { byDomain } from "@eventstreams/client";
 * const keep = byDomain("en.wikipedia.org", "www.wikidata.org");
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * console.assert(keep({ meta: { ...meta, domain: "www.wikidata.org" } }));
 * console.assert(!keep({ meta: { ...meta, domain: "de.wikipedia.org" } }));
 * ```
 */
export function byDomain(...domains: string[]): EventFilter<EventStreamsEvent> {
  const wanted = lowerSet("byDomain", "domain", domains);
  return (event) => {
    const domain = event.meta.domain;
    return typeof domain === "string" && wanted.has(domain.toLowerCase());
  };
}

/**
 * Keeps events of the given wikis by database name (`"enwiki"`,
 * `"wikidatawiki"`), read from the field each stream uses: `wiki`
 * (recentchange), `wiki_id` (page_change), or `database` (the other
 * `mediawiki.*` streams).
 *
 * @param wikis The database names to keep.
 * @returns A filter.
 * @throws {TypeError} When no wiki is given.
 *
 * @example
 * ```ts
 * import { byWiki } from "@eventstreams/client";
 * const keep = byWiki("enwiki");
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * console.assert(keep({ meta, wiki: "enwiki" }));
 * console.assert(keep({ meta, wiki_id: "enwiki" }));
 * console.assert(!keep({ meta, database: "dewiki" }));
 * ```
 */
export function byWiki(...wikis: string[]): EventFilter<EventStreamsEvent> {
  const wanted = lowerSet("byWiki", "wiki", wikis);
  return (event) => {
    const wiki = event.wiki ?? event.wiki_id ?? event.database;
    return typeof wiki === "string" && wanted.has(wiki.toLowerCase());
  };
}

/**
 * Keeps events that every filter keeps.
 *
 * @typeParam E The event type.
 * @param filters The filters to combine.
 * @returns A filter (which keeps everything when `filters` is empty).
 *
 * @example
 * ```ts
 * import { allOf, byWiki, isCanaryEvent } from "@eventstreams/client";
 * const keep = allOf(byWiki("enwiki"), (event) => !isCanaryEvent(event));
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * console.assert(keep({ meta, wiki: "enwiki" }));
 * console.assert(!keep({ meta: { ...meta, domain: "canary" }, wiki: "enwiki" }));
 * ```
 */
export function allOf<E>(...filters: EventFilter<E>[]): EventFilter<E> {
  return (event) => filters.every((keep) => keep(event));
}

function lowerSet(fn: string, what: string, values: string[]): Set<string> {
  if (values.length === 0) {
    throw new TypeError(
      `Cannot build ${fn}() without a ${what}: pass at least one`,
    );
  }
  return new Set(values.map((v) => v.toLowerCase()));
}

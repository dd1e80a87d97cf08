/**
 * Event predicates for {@linkcode EventStreamOptions.filter}: canary
 * detection, selection by wiki, domain, change type, namespace, bot flag or
 * any field, and combinators. The selectors read the field each stream uses
 * for the same idea, so one filter works on `mediawiki.recentchange`,
 * `mediawiki.page_change.v1` and the other `mediawiki.*` streams.
 *
 * Events a filter rejects are consumed (the cursor moves past them), so they
 * never come back after a reconnect. The selectors (`byWiki`, `byDomain`,
 * `byType`, `byNamespace`, `byBot`, and `allOf`/`anyOf` of them) carry a
 * {@linkcode EventFilter.prefilter} that rejects most non-matching events
 * on their raw text, before the full `JSON.parse`.
 *
 * @module
 */
import { getPath } from "./_path.ts";
import { mayHaveLiteral, mayHaveString } from "./raw_event.ts";
import type { EventStreamsEvent } from "./types.ts";

/**
 * A predicate over events: `true` keeps the event, `false` drops it. It may
 * carry a `prefilter`, a test on the event's raw JSON text that returns
 * `false` only for events the predicate would surely reject, so that
 * {@linkcode eventStream} can drop them without parsing them in full.
 *
 * @typeParam E The event type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byWiki, type EventFilter, type RecentChangeEvent } from "@eventstreams/client";
 * const humansOnly: EventFilter<RecentChangeEvent> = (event) => event.bot !== true;
 * assert.equal(humansOnly.prefilter, undefined); // A plain function: parsed, then tested.
 * assert.equal(byWiki("enwiki").prefilter?.('{"wiki":"dewiki"}'), false);
 * ```
 */
export interface EventFilter<E> {
  /** Tests a parsed event: `true` keeps it. */
  (event: E): boolean;
  /**
   * Tests the event's raw JSON text first: `false` only when the predicate
   * would surely reject the event (then it is dropped unparsed), `true` when
   * it may keep it.
   */
  prefilter?: (text: string) => boolean;
}

/** Attaches a prefilter to a predicate. */
function withPrefilter<E>(
  keep: (event: E) => boolean,
  prefilter: ((text: string) => boolean) | undefined,
): EventFilter<E> {
  const filter: EventFilter<E> = keep;
  if (prefilter) filter.prefilter = prefilter;
  return filter;
}

/** Where each stream keeps the wiki's database name. */
const WIKI_FIELDS = ["wiki", "database", "wiki_id"];
/** Where each stream keeps the kind of change. */
const TYPE_FIELDS = ["type", "page_change_kind"];
/** Where each stream keeps the page's namespace id. */
const NAMESPACE_FIELDS = ["namespace", "page_namespace", "page.namespace_id"];
/** Where each stream keeps the bot flag, in the order they are read. */
const BOT_FIELDS = ["bot", "performer.is_bot", "performer.user_is_bot"];

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
 * import assert from "node:assert/strict";
 * import { isCanaryEvent } from "@eventstreams/client";
 * const meta = { topic: "eqiad.test", partition: 0, offset: 1, dt: "", id: "x", stream: "test" };
 * assert.ok(isCanaryEvent({ meta: { ...meta, domain: "canary" } }));
 * assert.ok(!isCanaryEvent({ meta: { ...meta, domain: "en.wikipedia.org" } }));
 * ```
 */
export function isCanaryEvent(event: EventStreamsEvent): boolean {
  return event.meta.domain === "canary";
}

/**
 * Keeps events whose `meta.domain` is one of `domains`, case-insensitively:
 * exactly (`"en.wikipedia.org"`), or, for a pattern starting with `*.`, any
 * subdomain (`"*.wikipedia.org"` keeps `en.wikipedia.org` and
 * `de.wikipedia.org`).
 *
 * @param domains The domains or `*.suffix` patterns to keep.
 * @returns A filter.
 * @throws {TypeError} When no domain is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byDomain } from "@eventstreams/client";
 * const keep = byDomain("*.wikipedia.org", "www.wikidata.org");
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(keep({ meta: { ...meta, domain: "www.wikidata.org" } }));
 * assert.ok(keep({ meta: { ...meta, domain: "de.wikipedia.org" } }));
 * assert.ok(!keep({ meta: { ...meta, domain: "commons.wikimedia.org" } }));
 * ```
 */
export function byDomain(...domains: string[]): EventFilter<EventStreamsEvent> {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const domain of lowerSet("byDomain", "domain", domains)) {
    if (domain.startsWith("*.")) suffixes.push(domain.slice(1));
    else exact.add(domain);
  }
  const mayExact = mayHaveString([...exact]);
  const maySuffix = mayHaveString(suffixes, true);
  return withPrefilter((event) => {
    const domain = event.meta?.domain;
    if (typeof domain !== "string") return false;
    const lower = domain.toLowerCase();
    return exact.has(lower) ||
      suffixes.some((suffix) => lower.endsWith(suffix));
  }, (text) =>
    (exact.size > 0 && mayExact(text)) ||
    (suffixes.length > 0 && maySuffix(text)));
}

/**
 * Keeps events of the given wikis by database name (`"enwiki"`,
 * `"wikidatawiki"`), case-insensitively, read from the field each stream
 * uses: `wiki` (recentchange), `database` (revision-create, page-delete and
 * the other `mediawiki.*` streams) or `wiki_id` (page_change).
 *
 * @param wikis The database names to keep.
 * @returns A filter.
 * @throws {TypeError} When no wiki is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byWiki } from "@eventstreams/client";
 * const keep = byWiki("enwiki");
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(keep({ meta, wiki: "enwiki" }));
 * assert.ok(keep({ meta, wiki_id: "enwiki" }));
 * assert.ok(!keep({ meta, database: "dewiki" }));
 * ```
 */
export function byWiki(...wikis: string[]): EventFilter<EventStreamsEvent> {
  const wanted = lowerSet("byWiki", "wiki", wikis);
  return withPrefilter(
    (event) =>
      anyField(
        event,
        WIKI_FIELDS,
        (v) => typeof v === "string" && wanted.has(v.toLowerCase()),
      ),
    mayHaveString([...wanted]),
  );
}

/**
 * Keeps changes of the given kinds (exact, case-sensitive), read from `type`
 * (recentchange: `edit`, `new`, `log`, `categorize`, `external`) or
 * `page_change_kind` (page_change: `create`, `edit`, `move`, `delete`,
 * `undelete`, `visibility_change`).
 *
 * @param types The kinds to keep.
 * @returns A filter.
 * @throws {TypeError} When no type is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byType } from "@eventstreams/client";
 * const edits = byType("edit");
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(edits({ meta, type: "edit" }));
 * assert.ok(edits({ meta, page_change_kind: "edit" }));
 * assert.ok(!edits({ meta, type: "log" }));
 * ```
 */
export function byType(...types: string[]): EventFilter<EventStreamsEvent> {
  const wanted = new Set(nonEmpty("byType", "type", types));
  return withPrefilter(
    (event) =>
      anyField(
        event,
        TYPE_FIELDS,
        (v) => typeof v === "string" && wanted.has(v),
      ),
    mayHaveString([...wanted]),
  );
}

/**
 * Keeps events on pages in the given namespaces (`0` articles, `14`
 * categories), read from `namespace` (recentchange), `page_namespace`
 * (revision-create, page-create and the other `mediawiki.page-*` streams) or
 * `page.namespace_id` (page_change).
 *
 * @param namespaces The namespace ids to keep.
 * @returns A filter.
 * @throws {TypeError} When no namespace is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byNamespace } from "@eventstreams/client";
 * const articles = byNamespace(0);
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(articles({ meta, namespace: 0 }));
 * assert.ok(articles({ meta, page: { namespace_id: 0 } }));
 * assert.ok(!articles({ meta, page_namespace: 14 }));
 * ```
 */
export function byNamespace(
  ...namespaces: number[]
): EventFilter<EventStreamsEvent> {
  const wanted = new Set(nonEmpty("byNamespace", "namespace", namespaces));
  return withPrefilter(
    (event) =>
      anyField(
        event,
        NAMESPACE_FIELDS,
        (v) => typeof v === "number" && wanted.has(v),
      ),
    // Non-finite numbers have no JSON form: no prefilter can be sound there.
    [...wanted].every(Number.isFinite)
      ? mayHaveLiteral([...wanted])
      : undefined,
  );
}

/**
 * Keeps only bot changes (`byBot(true)`) or only non-bot changes
 * (`byBot(false)`), reading the first boolean among `bot` (recentchange),
 * `performer.is_bot` (page_change) and `performer.user_is_bot`
 * (revision-create, page-create and the other `mediawiki.page-*` streams).
 * Events without any of these fields are dropped either way.
 *
 * @param isBot `true` for bots only, `false` for humans only.
 * @returns A filter.
 * @throws {TypeError} When `isBot` is not a boolean.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byBot } from "@eventstreams/client";
 * const humans = byBot(false);
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(humans({ meta, bot: false }));
 * assert.ok(!humans({ meta, performer: { user_is_bot: true } }));
 * assert.ok(!humans({ meta }));
 * ```
 */
export function byBot(isBot: boolean): EventFilter<EventStreamsEvent> {
  if (typeof isBot !== "boolean") {
    throw new TypeError(
      `Cannot build byBot() from ${
        String(isBot)
      }: pass true (bots only) or false (humans only)`,
    );
  }
  return withPrefilter(
    (event) =>
      BOT_FIELDS.map((path) => getPath(event, path)).find((v) =>
        typeof v === "boolean"
      ) === isBot,
    mayHaveLiteral([isBot]),
  );
}

/**
 * Keeps events whose field at a dotted `path` (`performer.user_text`,
 * `meta.domain`, `length.new`) equals `value` as text: strings as they are,
 * numbers and booleans as `String()` writes them (`"1000"`, `"false"`),
 * objects and arrays as compact JSON. Events without the field are dropped.
 *
 * @param path Dot-separated property names.
 * @param value The text the field must equal.
 * @returns A filter.
 * @throws {TypeError} When `path` is empty or has an empty segment, or
 *   `value` is not a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byField } from "@eventstreams/client";
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * const event = { meta, performer: { user_text: "Example" }, length: { new: 1000 } };
 * assert.ok(byField("performer.user_text", "Example")(event));
 * assert.ok(byField("length.new", "1000")(event));
 * assert.ok(!byField("performer.user_text", "Other")(event));
 * ```
 */
export function byField(
  path: string,
  value: string,
): EventFilter<EventStreamsEvent> {
  if (
    typeof path !== "string" || path.split(".").some((part) => part === "")
  ) {
    throw new TypeError(
      `Cannot build byField() for path '${path}': expected a dotted path like performer.user_text`,
    );
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot build byField('${path}') with ${typeof value} ${
        String(value)
      }: pass the value as a string, like '${String(value)}'`,
    );
  }
  return (event) => {
    const found = getPath(event, path);
    if (found === undefined) return false;
    return (typeof found === "object" && found !== null
      ? JSON.stringify(found)
      : String(found)) === value;
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
 * import assert from "node:assert/strict";
 * import { allOf, byWiki, isCanaryEvent } from "@eventstreams/client";
 * const keep = allOf(byWiki("enwiki"), (event) => !isCanaryEvent(event));
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(keep({ meta, wiki: "enwiki" }));
 * assert.ok(!keep({ meta: { ...meta, domain: "canary" }, wiki: "enwiki" }));
 * ```
 */
export function allOf<E>(...filters: EventFilter<E>[]): EventFilter<E> {
  const prefilters = filters.flatMap((f) => f.prefilter ? [f.prefilter] : []);
  return withPrefilter(
    (event) => filters.every((keep) => keep(event)),
    prefilters.length === 0
      ? undefined
      : (text) => prefilters.every((may) => may(text)),
  );
}

/**
 * Keeps events that at least one filter keeps.
 *
 * @typeParam E The event type.
 * @param filters The filters to combine.
 * @returns A filter (which keeps nothing when `filters` is empty).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { anyOf, byBot, byNamespace } from "@eventstreams/client";
 * const keep = anyOf(byNamespace(0), byBot(true));
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.ok(keep({ meta, namespace: 0, bot: false }));
 * assert.ok(keep({ meta, namespace: 2, bot: true }));
 * assert.ok(!keep({ meta, namespace: 2, bot: false }));
 * ```
 */
export function anyOf<E>(...filters: EventFilter<E>[]): EventFilter<E> {
  const prefilters = filters.flatMap((f) => f.prefilter ? [f.prefilter] : []);
  return withPrefilter(
    (event) => filters.some((keep) => keep(event)),
    prefilters.length === 0 || prefilters.length < filters.length
      ? undefined
      : (text) => prefilters.some((may) => may(text)),
  );
}

/** Whether any of `paths` in `event` holds a value that passes `test`. */
function anyField(
  event: EventStreamsEvent,
  paths: readonly string[],
  test: (value: unknown) => boolean,
): boolean {
  for (const path of paths) {
    if (test(getPath(event, path))) return true;
  }
  return false;
}

function nonEmpty<T>(fn: string, what: string, values: T[]): T[] {
  if (values.length === 0) {
    throw new TypeError(
      `Cannot build ${fn}() without a ${what}: pass at least one`,
    );
  }
  return values;
}

function lowerSet(fn: string, what: string, values: string[]): Set<string> {
  return new Set(nonEmpty(fn, what, values).map((v) => v.toLowerCase()));
}

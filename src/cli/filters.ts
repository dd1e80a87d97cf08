/**
 * The event predicates behind `eventstreams tail`'s filter flags
 * (`--wiki`, `--domain`, `--type`, `--namespace`, `--bot`, `--match`).
 * They read the field each stream uses for the same idea, so one flag works
 * on `recentchange`, `page_change` and the other `mediawiki.*` streams.
 *
 * @module
 */

import type { EventStreamsEvent } from "../types.ts";

/** A `--match path=value` condition. */
export interface MatchCondition {
  /** Dotted path into the event, e.g. `meta.domain` or `performer.user_text`. */
  path: string;
  /** The expected value, compared with the field converted to a string. */
  value: string;
}

/** Which events to keep. Values of one field are alternatives (OR); fields combine with AND. */
export interface EventSelection {
  /**
   * Wiki database names (`enwiki`), matched case-insensitively against
   * `wiki` (recentchange), `database` (revision-create, page-delete, ...)
   * or `wiki_id` (page_change).
   *
   * @default [] (any wiki)
   */
  wiki?: readonly string[];
  /**
   * Domains matched against `meta.domain`, case-insensitively; a leading
   * `*.` matches any subdomain (`*.wikipedia.org`).
   *
   * @default [] (any domain)
   */
  domain?: readonly string[];
  /**
   * Change kinds matched against `type` (recentchange: edit, new, log,
   * categorize, external) or `page_change_kind` (page_change: create, edit,
   * move, delete, undelete, visibility_change).
   *
   * @default [] (any type)
   */
  type?: readonly string[];
  /**
   * Namespace ids matched against `namespace` (recentchange),
   * `page_namespace` (revision-create, page-*), or `page.namespace_id`
   * (page_change).
   *
   * @default [] (any namespace)
   */
  namespace?: readonly number[];
  /**
   * `true` keeps only bot changes, `false` only non-bot changes, reading
   * `bot` (recentchange), `performer.is_bot` (page_change) or
   * `performer.user_is_bot` (revision-create, page-*). Events without any of
   * these fields are dropped when this is set.
   *
   * @default undefined (bots and humans)
   */
  bot?: boolean;
  /**
   * Conditions that must all hold.
   *
   * @default []
   */
  match?: readonly MatchCondition[];
}

/**
 * Reads a dotted path (`performer.user_text`) from a JSON value.
 *
 * @param value The object to read.
 * @param path Dot-separated property names.
 * @returns The value there, or `undefined` when any step is missing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getPath } from "./filters.ts";
 *
 * assert.equal(getPath({ page: { namespace_id: 0 } }, "page.namespace_id"), 0);
 * assert.equal(getPath({ page: null }, "page.namespace_id"), undefined);
 * ```
 */
export function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Parses a `--match` argument, `path=value`. The value may itself contain `=`.
 *
 * @param text The argument.
 * @returns The condition.
 * @throws {TypeError} When there is no `=` or the path is empty or has an empty segment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMatch } from "./filters.ts";
 *
 * assert.deepEqual(parseMatch("performer.user_text=Jimbo Wales"), {
 *   path: "performer.user_text",
 *   value: "Jimbo Wales",
 * });
 * ```
 */
export function parseMatch(text: string): MatchCondition {
  const index = text.indexOf("=");
  const path = index < 0 ? "" : text.slice(0, index).trim();
  if (index < 0 || path === "" || path.split(".").some((part) => part === "")) {
    throw new TypeError(
      `Invalid --match '${text}': expected path=value with a dotted path, like meta.domain=en.wikipedia.org or performer.user_text=Example`,
    );
  }
  return { path, value: text.slice(index + 1) };
}

const WIKI_FIELDS = ["wiki", "database", "wiki_id"];
const TYPE_FIELDS = ["type", "page_change_kind"];
const NAMESPACE_FIELDS = ["namespace", "page_namespace", "page.namespace_id"];
const BOT_FIELDS = ["bot", "performer.is_bot", "performer.user_is_bot"];

/**
 * Builds one predicate from a selection, for `eventStream`'s `filter`
 * option (dropped events still advance the cursor).
 *
 * @param selection Which events to keep.
 * @returns A predicate, or `undefined` when the selection keeps everything.
 *
 * @example Non-bot edits to English Wikipedia articles
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectEvents } from "./filters.ts";
 *
 * const keep = selectEvents({ wiki: ["enwiki"], namespace: [0], bot: false })!;
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "mediawiki.recentchange" };
 * assert.ok(keep({ meta, wiki: "enwiki", namespace: 0, bot: false }));
 * assert.ok(!keep({ meta, wiki: "enwiki", namespace: 0, bot: true }));
 * assert.ok(!keep({ meta, wiki: "dewiki", namespace: 0, bot: false }));
 * ```
 */
export function selectEvents(
  selection: EventSelection,
): ((event: EventStreamsEvent) => boolean) | undefined {
  const tests: ((event: EventStreamsEvent) => boolean)[] = [];
  if (selection.wiki?.length) {
    const wanted = new Set(selection.wiki.map((wiki) => wiki.toLowerCase()));
    tests.push((event) =>
      anyField(
        event,
        WIKI_FIELDS,
        (v) => typeof v === "string" && wanted.has(v.toLowerCase()),
      )
    );
  }
  if (selection.domain?.length) {
    const exact = new Set<string>();
    const suffixes: string[] = [];
    for (const domain of selection.domain) {
      const lower = domain.toLowerCase();
      if (lower.startsWith("*.")) suffixes.push(lower.slice(1));
      else exact.add(lower);
    }
    tests.push((event) => {
      const domain = event.meta?.domain;
      if (typeof domain !== "string") return false;
      const lower = domain.toLowerCase();
      return exact.has(lower) ||
        suffixes.some((suffix) => lower.endsWith(suffix));
    });
  }
  if (selection.type?.length) {
    const wanted = new Set(selection.type);
    tests.push((event) =>
      anyField(
        event,
        TYPE_FIELDS,
        (v) => typeof v === "string" && wanted.has(v),
      )
    );
  }
  if (selection.namespace?.length) {
    const wanted = new Set(selection.namespace);
    tests.push((event) =>
      anyField(
        event,
        NAMESPACE_FIELDS,
        (v) => typeof v === "number" && wanted.has(v),
      )
    );
  }
  if (selection.bot !== undefined) {
    const wanted = selection.bot;
    tests.push((event) => {
      const flag = BOT_FIELDS.map((path) => getPath(event, path)).find((v) =>
        typeof v === "boolean"
      );
      return flag === wanted;
    });
  }
  for (const { path, value } of selection.match ?? []) {
    tests.push((event) => {
      const found = getPath(event, path);
      if (found === undefined) return false;
      return (typeof found === "object" && found !== null
        ? JSON.stringify(found)
        : String(found)) === value;
    });
  }
  if (tests.length === 0) return undefined;
  if (tests.length === 1) return tests[0];
  return (event) => tests.every((test) => test(event));
}

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

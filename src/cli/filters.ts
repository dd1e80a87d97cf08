/**
 * `eventstreams tail`'s filter flags (`--wiki`, `--domain`, `--type`,
 * `--namespace`, `--bot`, `--match`) turned into one event filter, composed
 * from the library's predicates ({@linkcode byWiki}, {@linkcode byDomain},
 * {@linkcode byType}, {@linkcode byNamespace}, {@linkcode byBot},
 * {@linkcode byField}). Those read the field each stream uses for the same
 * idea, so one flag works on `recentchange`, `page_change` and the other
 * `mediawiki.*` streams.
 *
 * @module
 */

import {
  allOf,
  byBot,
  byDomain,
  byField,
  byNamespace,
  byType,
  byWiki,
  type EventFilter,
} from "../filter.ts";
import type { EventStreamsEvent } from "../types.ts";
import { quote } from "../_show.ts";

/** A `--match path=value` condition. */
export interface MatchCondition {
  /** Dotted path into the event, e.g. `meta.domain` or `performer.user_text`. */
  path: string;
  /** The expected value, compared with the field converted to a string. */
  value: string;
}

/**
 * Which events to keep: one library predicate per field (see each field).
 * Values of one field are alternatives (OR); fields combine with AND.
 */
export interface EventSelection {
  /**
   * Wiki database names (`enwiki`), as {@linkcode byWiki} matches them
   * (`wiki`, `database` or `wiki_id`, case-insensitively).
   *
   * @default [] (any wiki)
   */
  wiki?: readonly string[];
  /**
   * Domains, or `*.suffix` for any subdomain (`*.wikipedia.org`), as
   * {@linkcode byDomain} matches them against `meta.domain`.
   *
   * @default [] (any domain)
   */
  domain?: readonly string[];
  /**
   * Change kinds (`edit`, `new`, `log`, `create`, `move`, ...), as
   * {@linkcode byType} matches them against `type` or `page_change_kind`.
   *
   * @default [] (any type)
   */
  type?: readonly string[];
  /**
   * Namespace ids, as {@linkcode byNamespace} matches them against
   * `namespace`, `page_namespace` or `page.namespace_id`.
   *
   * @default [] (any namespace)
   */
  namespace?: readonly number[];
  /**
   * `true` keeps only bot changes, `false` only non-bot changes, as
   * {@linkcode byBot} reads them; events without a bot flag are dropped
   * when this is set.
   *
   * @default undefined (bots and humans)
   */
  bot?: boolean;
  /**
   * Conditions that must all hold, each as {@linkcode byField} compares it.
   *
   * @default []
   */
  match?: readonly MatchCondition[];
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

/**
 * The change kinds `--type` can match: recentchange `type` values, then
 * page_change `page_change_kind` values (a recentchange `type` may also be a
 * number).
 */
export const CHANGE_TYPES: readonly string[] = [
  "edit",
  "new",
  "log",
  "categorize",
  "external",
  "create",
  "move",
  "delete",
  "undelete",
  "visibility_change",
];

const DB_NAME = /^[a-z0-9_]+$/i;
const HOST = /^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

/**
 * Checks a `--wiki`, `--domain` or `--type` value that could never match an
 * event, so that `tail` refuses it instead of printing nothing forever: a
 * domain given to `--wiki`, a database name given to `--domain`, a change
 * kind that does not exist.
 *
 * @param flag The flag, without dashes.
 * @param value One value of it.
 * @throws {TypeError} With the value and the right flag or the valid values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFilterValue } from "./filters.ts";
 *
 * checkFilterValue("wiki", "enwiki"); // fine
 * assert.throws(() => checkFilterValue("wiki", "en.wikipedia.org"), /use --domain en\.wikipedia\.org/);
 * assert.throws(() => checkFilterValue("domain", "enwiki"), /use --wiki enwiki/);
 * assert.throws(() => checkFilterValue("type", "edits"), /expected one of edit, new, log/);
 * ```
 */
export function checkFilterValue(
  flag: "wiki" | "domain" | "type",
  value: string,
): void {
  switch (flag) {
    case "wiki":
      if (DB_NAME.test(value)) return;
      throw new TypeError(
        HOST.test(value.replace(/^https?:\/\//, "").replace(/\/.*$/, ""))
          ? `Invalid --wiki ${
            quote(value)
          }: that is a domain, and --wiki takes database names like enwiki; use --domain ${
            value.replace(/^https?:\/\//, "").replace(/\/.*$/, "")
          }`
          : `Invalid --wiki ${
            quote(value)
          }: expected a wiki database name like enwiki or wikidatawiki (letters, digits and _)`,
      );
    case "domain":
      if (HOST.test(value) || value === "canary") return;
      if (DB_NAME.test(value) && /wik/i.test(value)) {
        throw new TypeError(
          `Invalid --domain ${
            quote(value)
          }: that is a wiki database name, and --domain takes host names like en.wikipedia.org or *.wikipedia.org; use --wiki ${value}`,
        );
      }
      throw new TypeError(
        `Invalid --domain ${
          quote(value)
        }: expected a host name like en.wikipedia.org, or *.wikipedia.org for every subdomain (no scheme, no path)`,
      );
    case "type":
      if (CHANGE_TYPES.includes(value) || /^\d+$/.test(value)) return;
      throw new TypeError(
        `Invalid --type ${quote(value)}: expected one of ${
          CHANGE_TYPES.join(", ")
        }${
          CHANGE_TYPES.includes(value.toLowerCase())
            ? ` (types are lower case: --type ${value.toLowerCase()})`
            : ""
        }`,
      );
  }
}

/**
 * Builds one predicate from a selection, for `eventStream`'s `filter`
 * option (dropped events still advance the cursor): each field's library
 * predicate, combined with {@linkcode allOf}.
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
): EventFilter<EventStreamsEvent> | undefined {
  const filters: EventFilter<EventStreamsEvent>[] = [];
  if (selection.wiki?.length) filters.push(byWiki(...selection.wiki));
  if (selection.domain?.length) filters.push(byDomain(...selection.domain));
  if (selection.type?.length) filters.push(byType(...selection.type));
  if (selection.namespace?.length) {
    filters.push(byNamespace(...selection.namespace));
  }
  if (selection.bot !== undefined) filters.push(byBot(selection.bot));
  for (const { path, value } of selection.match ?? []) {
    filters.push(byField(path, value));
  }
  if (filters.length === 0) return undefined;
  if (filters.length === 1) return filters[0];
  return allOf(...filters);
}

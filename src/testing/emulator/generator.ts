/**
 * Seeded synthetic EventStreams events: realistic field shapes for every
 * public stream, deterministic for a given seed.
 *
 * @module
 */

import { seededRandom } from "../random.ts";

/**
 * Options for {@linkcode EventGenerator}.
 *
 * @example
 * ```ts no-assert
 * import type { EventGeneratorOptions } from "@eventstreams/client/testing";
 * const options: EventGeneratorOptions = { seed: 5, canaryEvery: 50 };
 * ```
 */
export interface EventGeneratorOptions {
  /**
   * The PRNG seed; the same seed gives the same events.
   *
   * @default {1}
   */
  seed?: number;
  /**
   * Every Nth event of each stream is a canary event (`meta.domain`
   * `"canary"`, the schema's example body, as Wikimedia's monitoring sends
   * them). 0 disables canaries.
   *
   * @default {0}
   */
  canaryEvery?: number;
}

/**
 * Options for {@linkcode EventGenerator.prototype.event}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventGenerator, type GenerateEventOptions } from "@eventstreams/client/testing";
 * const options: GenerateEventOptions = { canary: true };
 * const { event } = new EventGenerator().event("mediawiki.recentchange", 0, options);
 * assert.ok((event.meta as { domain: string }).domain === "canary");
 * ```
 */
export interface GenerateEventOptions {
  /**
   * Makes this event a canary event regardless of `canaryEvery`.
   *
   * @default {false}
   */
  canary?: boolean;
}

/**
 * A generated event and its Kafka message key (if the stream has keys).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventGenerator, type GeneratedEvent } from "@eventstreams/client/testing";
 * const generated: GeneratedEvent = new EventGenerator().event("mediawiki.page_change.v1", 0);
 * assert.ok(typeof generated.key === "object");
 * ```
 */
export interface GeneratedEvent {
  /** The event object, `meta` included (without topic/partition/offset). */
  event: Record<string, unknown>;
  /** The Kafka key (`mediawiki.page_change.v1` has `{wiki_id, page_id}`), or `undefined`. */
  key?: unknown;
}

interface Wiki {
  db: string;
  domain: string;
  weight: number;
  lang: string;
}

const WIKIS: readonly Wiki[] = [
  { db: "wikidatawiki", domain: "www.wikidata.org", weight: 30, lang: "en" },
  {
    db: "commonswiki",
    domain: "commons.wikimedia.org",
    weight: 18,
    lang: "en",
  },
  { db: "enwiki", domain: "en.wikipedia.org", weight: 16, lang: "en" },
  { db: "dewiki", domain: "de.wikipedia.org", weight: 4, lang: "de" },
  { db: "frwiki", domain: "fr.wikipedia.org", weight: 4, lang: "fr" },
  { db: "eswiki", domain: "es.wikipedia.org", weight: 3, lang: "es" },
  { db: "jawiki", domain: "ja.wikipedia.org", weight: 3, lang: "ja" },
  { db: "ruwiki", domain: "ru.wikipedia.org", weight: 3, lang: "ru" },
  { db: "itwiki", domain: "it.wikipedia.org", weight: 2, lang: "it" },
  { db: "zhwiki", domain: "zh.wikipedia.org", weight: 2, lang: "zh" },
  { db: "enwiktionary", domain: "en.wiktionary.org", weight: 2, lang: "en" },
  { db: "ptwiki", domain: "pt.wikipedia.org", weight: 2, lang: "pt" },
  { db: "metawiki", domain: "meta.wikimedia.org", weight: 1, lang: "en" },
  { db: "plwiki", domain: "pl.wikipedia.org", weight: 1, lang: "pl" },
  { db: "nlwiki", domain: "nl.wikipedia.org", weight: 1, lang: "nl" },
  { db: "arwiki", domain: "ar.wikipedia.org", weight: 1, lang: "ar" },
];
const WIKI_WEIGHT = WIKIS.reduce((sum, wiki) => sum + wiki.weight, 0);

const NAMESPACES: readonly [number, string, number][] = [
  [0, "", 62],
  [1, "Talk:", 4],
  [2, "User:", 8],
  [3, "User talk:", 6],
  [4, "Project:", 2],
  [6, "File:", 6],
  [10, "Template:", 3],
  [14, "Category:", 7],
  [118, "Draft:", 2],
];
const NAMESPACE_WEIGHT = NAMESPACES.reduce((sum, ns) => sum + ns[2], 0);

const WORDS = [
  "Siege",
  "River",
  "Battle",
  "Church",
  "Station",
  "History",
  "List",
  "Mountain",
  "Museum",
  "Bridge",
  "Festival",
  "Castle",
  "Election",
  "Airport",
  "Library",
  "Park",
  "Opera",
  "Lake",
  "Valley",
  "School",
  "Café",
  "Zürich",
  "Kraków",
  "São Paulo",
  "Ōsaka",
  "Ålesund",
  "Montréal",
  "Cáceres",
];
const NAME_PARTS = [
  "Ada",
  "Brn",
  "Cel",
  "Dor",
  "Eli",
  "Fen",
  "Gro",
  "Hal",
  "Ivo",
  "Jun",
  "Kai",
  "Lin",
  "Mar",
  "Nox",
  "Ori",
  "Pim",
  "Qui",
  "Ros",
  "Sol",
  "Tam",
  "Uli",
  "Vex",
  "Wen",
  "Yra",
  "Zed",
];
const COMMENTS = [
  "",
  "typo",
  "/* Early life */ expanded",
  "Reverted edits by [[Special:Contributions/203.0.113.7|203.0.113.7]] to last version",
  "/* wbsetclaim-create:2||1 */ [[Property:P31]]: [[Q5]]",
  "/* wbsetdescription-add:1|en */ painting",
  "/* wbeditentity-update:0| */ Bot: updating labels",
  "Added category",
  "Undo revision 1245305770 by Example",
  "copyedit",
  "[[WP:AES|←]]Created page with '{{Short description}}'",
  "Tag: mobile edit",
  "Уточнение",
  "編集内容の要約",
];
const LOG_TYPES: readonly [string, string][] = [
  ["delete", "delete"],
  ["block", "block"],
  ["move", "move"],
  ["newusers", "create"],
  ["upload", "upload"],
  ["patrol", "patrol"],
  ["thanks", "thank"],
  ["protect", "protect"],
];
const GROUPS = [
  ["*", "user", "autoconfirmed"],
  ["*", "user"],
  ["bot", "*", "user", "autoconfirmed"],
  ["sysop", "*", "user", "autoconfirmed"],
  ["rollbacker", "*", "user", "autoconfirmed"],
];

/** Streams whose `meta.dt` has millisecond precision; the others have seconds. */
const MILLISECOND_STREAMS = new Set([
  "mediawiki.page_change.v1",
  "eventgate-main.test.event",
]);

/** Schema URIs as the live streams send them. */
const SCHEMAS: Record<string, string> = {
  "mediawiki.recentchange": "/mediawiki/recentchange/1.0.0",
  "mediawiki.revision-create": "/mediawiki/revision/create/1.1.0",
  "mediawiki.page-create": "/mediawiki/revision/create/1.1.0",
  "mediawiki.page-delete": "/mediawiki/page/delete/1.0.0",
  "mediawiki.page-undelete": "/mediawiki/page/undelete/1.0.0",
  "mediawiki.page-move": "/mediawiki/page/move/1.0.0",
  "mediawiki.page-links-change": "/mediawiki/page/links-change/1.0.0",
  "mediawiki.page-properties-change": "/mediawiki/page/properties-change/1.0.0",
  "mediawiki.revision-tags-change": "/mediawiki/revision/tags-change/1.0.0",
  "mediawiki.revision-visibility-change":
    "/mediawiki/revision/visibility-change/1.0.0",
  "mediawiki.page_change.v1": "/mediawiki/page/change/1.1.0",
  "eventgate-main.test.event": "/test/event/1.0.0",
};

/**
 * Draw helpers over {@linkcode seededRandom}: the same seed gives the same
 * sequence on every platform.
 */
class Prng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  uuid(): string {
    const hex = (n: number) => {
      let s = "";
      for (let i = 0; i < n; i++) {
        s += Math.floor(this.next() * 16).toString(16);
      }
      return s;
    };
    const variant = "89ab"[Math.floor(this.next() * 4)];
    return `${hex(8)}-${hex(4)}-4${hex(3)}-${variant}${hex(3)}-${hex(12)}`;
  }
  base36(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 36).toString(36);
    return s;
  }
}

/**
 * Generates realistic, deterministic events for the public EventStreams
 * streams: `mediawiki.recentchange` (edit, new, log and categorize changes
 * with `namespace`, `title`, `user`, `bot`, `wiki`, `server_name`, `length`,
 * `revision`, `comment`), `revision-create`, `page-create`, `page-delete`,
 * `page-undelete`, `page-move`, `page-links-change`,
 * `page-properties-change`, `revision-tags-change`,
 * `revision-visibility-change`, `page_change.v1` and the test stream. Other
 * names get a minimal event. `meta.dt` has second precision (millisecond for
 * `page_change.v1` and the test stream) like the live streams, so many events
 * share a Kafka timestamp.
 *
 * @example Two generators with the same seed agree
 * ```ts
 * import assert from "node:assert/strict";
 * import { EventGenerator } from "@eventstreams/client/testing";
 * const a = new EventGenerator({ seed: 7 }).event("mediawiki.recentchange", Date.UTC(2026, 0, 1));
 * const b = new EventGenerator({ seed: 7 }).event("mediawiki.recentchange", Date.UTC(2026, 0, 1));
 * assert.ok(JSON.stringify(a) === JSON.stringify(b));
 * assert.ok((a.event.meta as { dt: string }).dt === "2026-01-01T00:00:00Z");
 * ```
 */
export class EventGenerator {
  #prng: Prng;
  #canaryEvery: number;
  #counts = new Map<string, number>();
  #revision = 1_300_000_000;
  #rcid = 1_800_000_000;
  #logId = 170_000_000;

  /**
   * Creates a generator.
   *
   * @param options Seed and canary rate.
   * @throws {RangeError} When `canaryEvery` is negative or not an integer.
   */
  constructor(options: EventGeneratorOptions = {}) {
    this.#prng = new Prng(options.seed ?? 1);
    this.#canaryEvery = options.canaryEvery ?? 0;
    if (!Number.isInteger(this.#canaryEvery) || this.#canaryEvery < 0) {
      throw new RangeError(
        `Cannot create an EventGenerator: canaryEvery must be a non-negative integer, got ${options.canaryEvery}`,
      );
    }
  }

  /**
   * Draws a number in [0, 1) from the generator's seeded sequence (the
   * stream builders use it for timing and partition choices).
   *
   * @returns A pseudo-random number.
   */
  random(): number {
    return this.#prng.next();
  }

  /**
   * Generates the next event of `stream`.
   *
   * @param stream A canonical stream name, e.g. `mediawiki.recentchange`.
   * @param timestampMs When the event happened (epoch ms); `meta.dt` is derived from it.
   * @param options Force a canary event.
   * @returns The event and its Kafka key.
   */
  event(
    stream: string,
    timestampMs: number,
    options: GenerateEventOptions = {},
  ): GeneratedEvent {
    const count = (this.#counts.get(stream) ?? 0) + 1;
    this.#counts.set(stream, count);
    const dt = MILLISECOND_STREAMS.has(stream)
      ? new Date(timestampMs).toISOString()
      : new Date(Math.floor(timestampMs / 1000) * 1000).toISOString().replace(
        ".000Z",
        "Z",
      );
    const canary = options.canary === true ||
      (this.#canaryEvery > 0 && count % this.#canaryEvery === 0);
    if (canary) return { event: this.#canary(stream, dt) };
    switch (stream) {
      case "mediawiki.recentchange":
        return { event: this.#recentChange(dt) };
      case "mediawiki.revision-create":
      case "mediawiki.page-create":
        return { event: this.#revisionCreate(stream, dt) };
      case "mediawiki.page-delete":
      case "mediawiki.page-undelete":
        return { event: this.#pageDelete(stream, dt) };
      case "mediawiki.page-move":
        return { event: this.#pageMove(dt) };
      case "mediawiki.page-links-change":
      case "mediawiki.page-properties-change":
        return { event: this.#pageLinks(stream, dt) };
      case "mediawiki.revision-tags-change":
      case "mediawiki.revision-visibility-change":
        return { event: this.#revisionChange(stream, dt) };
      case "mediawiki.page_change.v1":
        return this.#pageChange(dt);
      case "eventgate-main.test.event":
        return { event: this.#test(dt) };
      default:
        return {
          event: {
            meta: this.#meta(stream, dt, this.#wiki(), "Special:BlankPage"),
          },
        };
    }
  }

  #wiki(): Wiki {
    let r = this.#prng.next() * WIKI_WEIGHT;
    for (const wiki of WIKIS) {
      r -= wiki.weight;
      if (r < 0) return wiki;
    }
    return WIKIS[0];
  }

  #namespace(): [number, string] {
    let r = this.#prng.next() * NAMESPACE_WEIGHT;
    for (const [id, prefix, weight] of NAMESPACES) {
      r -= weight;
      if (r < 0) return [id, prefix];
    }
    return [0, ""];
  }

  #title(wiki: Wiki, prefix: string): string {
    if (wiki.db === "wikidatawiki" && prefix === "") {
      return `Q${this.#prng.int(1, 130_000_000)}`;
    }
    if (wiki.db === "commonswiki" && prefix === "") prefix = "File:";
    const words = [this.#prng.pick(WORDS), "of", this.#prng.pick(WORDS)];
    if (this.#prng.chance(0.4)) words.push(`(${this.#prng.int(1200, 2026)})`);
    const title = words.join(" ");
    return prefix === "File:" ? `${prefix}${title}.jpg` : prefix + title;
  }

  #user(): { name: string; bot: boolean; anonymous: boolean; id: number } {
    if (this.#prng.chance(0.12)) {
      return {
        name: `203.0.113.${this.#prng.int(1, 254)}`,
        bot: false,
        anonymous: true,
        id: 0,
      };
    }
    const bot = this.#prng.chance(0.15);
    const name = this.#prng.pick(NAME_PARTS) +
      this.#prng.pick(NAME_PARTS).toLowerCase() +
      (this.#prng.chance(0.5) ? String(this.#prng.int(1, 999)) : "") +
      (bot ? "Bot" : "");
    return { name, bot, anonymous: false, id: this.#prng.int(1, 50_000_000) };
  }

  #meta(
    stream: string,
    dt: string,
    wiki: Wiki,
    title: string,
  ): Record<string, unknown> {
    return {
      uri: `https://${wiki.domain}/wiki/${encodeTitle(title)}`,
      request_id: this.#prng.uuid(),
      id: this.#prng.uuid(),
      dt,
      domain: wiki.domain,
      stream,
    };
  }

  #performer(
    user: { name: string; bot: boolean; anonymous: boolean; id: number },
  ): Record<
    string,
    unknown
  > {
    if (user.anonymous) {
      return { user_text: user.name, user_groups: ["*"], user_is_bot: false };
    }
    return {
      user_text: user.name,
      user_groups: user.bot ? GROUPS[2] : this.#prng.pick(GROUPS),
      user_is_bot: user.bot,
      user_id: user.id,
      user_registration_dt: new Date(
        Date.UTC(2004 + this.#prng.int(0, 21), this.#prng.int(0, 11), 1),
      )
        .toISOString().replace(".000Z", "Z"),
      user_edit_count: this.#prng.int(1, 900_000),
    };
  }

  #recentChange(dt: string): Record<string, unknown> {
    const wiki = this.#wiki();
    const user = this.#user();
    const r = this.#prng.next();
    const type = r < 0.62
      ? "edit"
      : r < 0.72
      ? "new"
      : r < 0.82
      ? "log"
      : "categorize";
    let [namespace, prefix] = this.#namespace();
    if (type === "categorize") [namespace, prefix] = [14, "Category:"];
    const title = this.#title(wiki, prefix);
    const titleUrl = `https://${wiki.domain}/wiki/${encodeTitle(title)}`;
    const timestamp = Math.floor(Date.parse(dt) / 1000);
    const event: Record<string, unknown> = {
      $schema: SCHEMAS["mediawiki.recentchange"],
      meta: {
        ...this.#meta("mediawiki.recentchange", dt, wiki, title),
        uri: titleUrl,
      },
      id: this.#rcid++,
      type,
      namespace,
      title,
      title_url: titleUrl,
    };
    let comment = this.#prng.pick(COMMENTS);
    if (type === "log") {
      const [logType, logAction] = this.#prng.pick(LOG_TYPES);
      comment = logType === "newusers" ? "" : comment;
      Object.assign(event, {
        comment,
        timestamp,
        user: user.name,
        bot: user.bot,
        log_id: this.#logId++,
        log_type: logType,
        log_action: logAction,
        log_params: logType === "move"
          ? { target: this.#title(wiki, prefix), noredir: "0" }
          : logType === "block"
          ? { duration: "1 week", flags: "nocreate" }
          : [],
        log_action_comment: `${logAction}: ${comment}`,
        server_url: `https://${wiki.domain}`,
        server_name: wiki.domain,
        server_script_path: "/w",
        wiki: wiki.db,
        parsedcomment: escapeHtml(comment),
      });
      return event;
    }
    if (type === "categorize") {
      const page = this.#title(wiki, "");
      comment = `[[:${page}]] ${
        this.#prng.chance(0.8) ? "added to" : "removed from"
      } category`;
      Object.assign(event, {
        comment,
        timestamp,
        user: user.name,
        bot: user.bot,
        server_url: `https://${wiki.domain}`,
        server_name: wiki.domain,
        server_script_path: "/w",
        wiki: wiki.db,
        parsedcomment: `<a href="/wiki/${encodeTitle(page)}" title="${
          escapeHtml(page)
        }">${escapeHtml(page)}</a> ${
          comment.endsWith("added to category") ? "added to" : "removed from"
        } category`,
      });
      return event;
    }
    const newRevision = this.#revision += this.#prng.int(1, 40);
    const oldRevision = type === "new"
      ? null
      : newRevision - this.#prng.int(1, 5_000_000);
    const newLength = this.#prng.int(0, 180_000);
    const oldLength = type === "new"
      ? null
      : Math.max(0, newLength + this.#prng.int(-4_000, 4_000));
    Object.assign(event, {
      comment,
      timestamp,
      user: user.name,
      bot: user.bot,
      notify_url: type === "new"
        ? `https://${wiki.domain}/w/index.php?oldid=${newRevision}&rcid=${event.id}`
        : `https://${wiki.domain}/w/index.php?diff=${newRevision}&oldid=${oldRevision}`,
      minor: type === "edit" && this.#prng.chance(0.3),
      ...(wiki.db === "enwiki" || wiki.db === "commonswiki" ? {} : {
        patrolled: user.bot || this.#prng.chance(0.6),
      }),
      length: type === "new"
        ? { new: newLength }
        : { old: oldLength, new: newLength },
      revision: type === "new"
        ? { new: newRevision }
        : { old: oldRevision, new: newRevision },
      server_url: `https://${wiki.domain}`,
      server_name: wiki.domain,
      server_script_path: "/w",
      wiki: wiki.db,
      parsedcomment: escapeHtml(comment),
    });
    return event;
  }

  #revisionCreate(stream: string, dt: string): Record<string, unknown> {
    const wiki = this.#wiki();
    const [namespace, prefix] = this.#namespace();
    const title = this.#title(wiki, prefix);
    const user = this.#user();
    const comment = this.#prng.pick(COMMENTS);
    const revId = this.#revision += this.#prng.int(1, 40);
    const sha1 = this.#prng.base36(31);
    const event: Record<string, unknown> = {
      $schema: SCHEMAS[stream],
      meta: this.#meta(stream, dt, wiki, title),
      database: wiki.db,
      page_id: this.#prng.int(1, 90_000_000),
      page_title: title.replaceAll(" ", "_"),
      page_namespace: namespace,
      rev_id: revId,
      rev_timestamp: dt,
      rev_sha1: sha1,
      rev_minor_edit: stream === "mediawiki.revision-create" &&
        this.#prng.chance(0.3),
      rev_len: this.#prng.int(0, 180_000),
      rev_content_model: wiki.db === "wikidatawiki" && namespace === 0
        ? "wikibase-item"
        : "wikitext",
      rev_content_format: wiki.db === "wikidatawiki" && namespace === 0
        ? "application/json"
        : "text/x-wiki",
      performer: this.#performer(user),
      page_is_redirect: this.#prng.chance(0.05),
      comment,
      parsedcomment: escapeHtml(comment),
    };
    if (stream === "mediawiki.revision-create") {
      event.rev_parent_id = revId - this.#prng.int(1, 5_000_000);
      event.rev_content_changed = this.#prng.chance(0.97);
      event.rev_is_revert = this.#prng.chance(0.04);
    } else {
      event.rev_content_changed = true;
      event.rev_is_revert = false;
    }
    return event;
  }

  #pageDelete(stream: string, dt: string): Record<string, unknown> {
    const wiki = this.#wiki();
    const [namespace, prefix] = this.#namespace();
    const title = this.#title(wiki, prefix);
    const comment = this.#prng.pick([
      "[[WP:CSD#G11|G11]]: Unambiguous advertising or promotion",
      "Spam",
      "Housekeeping",
      "Restored per request",
    ]);
    const event: Record<string, unknown> = {
      $schema: SCHEMAS[stream],
      meta: this.#meta(stream, dt, wiki, title),
      database: wiki.db,
      performer: this.#performer({ ...this.#user(), anonymous: false }),
      page_id: this.#prng.int(1, 90_000_000),
      page_title: title.replaceAll(" ", "_"),
      page_namespace: namespace,
      page_is_redirect: this.#prng.chance(0.1),
      rev_id: this.#revision += this.#prng.int(1, 40),
    };
    if (stream === "mediawiki.page-delete") {
      event.rev_count = this.#prng.int(1, 40);
    }
    event.comment = comment;
    event.parsedcomment = escapeHtml(comment);
    return event;
  }

  #pageMove(dt: string): Record<string, unknown> {
    const wiki = this.#wiki();
    const [namespace, prefix] = this.#namespace();
    const title = this.#title(wiki, prefix);
    const prior = this.#title(wiki, "Draft:");
    const comment = this.#prng.pick([
      "Moving from draft",
      "Correct capitalisation",
      "Per RM",
    ]);
    return {
      $schema: SCHEMAS["mediawiki.page-move"],
      meta: this.#meta("mediawiki.page-move", dt, wiki, title),
      database: wiki.db,
      performer: this.#performer({ ...this.#user(), anonymous: false }),
      page_id: this.#prng.int(1, 90_000_000),
      page_title: title.replaceAll(" ", "_"),
      page_namespace: namespace,
      page_is_redirect: false,
      rev_id: this.#revision += this.#prng.int(1, 40),
      prior_state: {
        page_title: prior.replaceAll(" ", "_"),
        page_namespace: 118,
        rev_id: this.#revision - this.#prng.int(1, 100_000),
      },
      comment,
      parsedcomment: escapeHtml(comment),
    };
  }

  /** The page fields that page-links, page-properties and revision changes share, drawn in one order. */
  #pageHead(stream: string, dt: string) {
    const wiki = this.#wiki();
    const title = this.#title(wiki, "");
    const event: Record<string, unknown> = {
      $schema: SCHEMAS[stream],
      meta: this.#meta(stream, dt, wiki, title),
      database: wiki.db,
      page_id: this.#prng.int(1, 90_000_000),
      page_title: title.replaceAll(" ", "_"),
      page_namespace: 0,
      page_is_redirect: false,
    };
    return { wiki, event };
  }

  #pageLinks(stream: string, dt: string): Record<string, unknown> {
    const { wiki, event } = this.#pageHead(stream, dt);
    event.rev_id = this.#revision += this.#prng.int(1, 40);
    event.performer = this.#performer(this.#user());
    if (stream === "mediawiki.page-links-change") {
      const link = this.#title(wiki, "");
      event.added_links = [{
        link: `/wiki/${encodeTitle(link)}`,
        external: false,
      }];
      if (this.#prng.chance(0.3)) {
        event.removed_links = [{
          link: "https://example.org/dead-link",
          external: true,
        }];
      }
    } else {
      event.added_properties = {
        wikibase_item: `Q${this.#prng.int(1, 130_000_000)}`,
      };
    }
    return event;
  }

  #revisionChange(stream: string, dt: string): Record<string, unknown> {
    const { event } = this.#pageHead(stream, dt);
    event.rev_id = this.#revision - this.#prng.int(1, 1_000_000);
    event.rev_timestamp = dt;
    event.rev_minor_edit = false;
    event.rev_len = this.#prng.int(0, 180_000);
    event.performer = this.#performer({ ...this.#user(), anonymous: false });
    if (stream === "mediawiki.revision-tags-change") {
      event.tags = [
        this.#prng.pick([
          "mw-reverted",
          "mobile edit",
          "visualeditor",
          "mw-undo",
        ]),
      ];
      event.prior_state = { tags: [] };
    } else {
      event.visibility = { text: false, user: true, comment: true };
      event.prior_state = {
        visibility: { text: true, user: true, comment: true },
      };
    }
    return event;
  }

  #pageChange(dt: string): GeneratedEvent {
    const wiki = this.#wiki();
    const [namespace, prefix] = this.#namespace();
    const title = this.#title(wiki, prefix).replaceAll(" ", "_");
    const user = this.#user();
    const pageId = this.#prng.int(1, 90_000_000);
    const revId = this.#revision += this.#prng.int(1, 40);
    const parentId = revId - this.#prng.int(1, 5_000_000);
    const size = this.#prng.int(0, 180_000);
    const kind = this.#prng.next() < 0.9 ? "edit" : "create";
    const editor: Record<string, unknown> = {
      user_text: user.name,
      groups: user.anonymous ? ["*"] : ["*", "user", "autoconfirmed"],
      is_bot: user.bot,
      is_system: false,
      is_temp: false,
    };
    if (!user.anonymous) {
      editor.user_id = user.id;
      editor.edit_count = this.#prng.int(1, 900_000);
    }
    const comment = this.#prng.pick(COMMENTS);
    const model = wiki.db === "wikidatawiki" && namespace === 0
      ? "wikibase-item"
      : "wikitext";
    const revision = (
      revIdValue: number,
      parent: number | undefined,
      revSize: number,
    ) => ({
      rev_id: revIdValue,
      rev_dt: dt.replace(/\.\d{3}Z$/, "Z"),
      is_minor_edit: false,
      rev_sha1: this.#prng.base36(31),
      rev_size: revSize,
      ...(parent === undefined ? {} : { rev_parent_id: parent }),
      comment,
      is_content_visible: true,
      is_editor_visible: true,
      is_comment_visible: true,
      editor,
      content_slots: {
        main: {
          slot_role: "main",
          content_model: model,
          content_size: revSize,
          content_format: model === "wikitext"
            ? "text/x-wiki"
            : "application/json",
          origin_rev_id: revIdValue,
        },
      },
    });
    const event: Record<string, unknown> = {
      changelog_kind: kind === "edit" ? "update" : "insert",
      page_change_kind: kind,
      dt: dt.replace(/\.\d{3}Z$/, "Z"),
      wiki_id: wiki.db,
      page: {
        page_id: pageId,
        page_title: title,
        namespace_id: namespace,
        is_redirect: false,
        namespace_is_content: namespace === 0,
      },
      performer: editor,
      revision: revision(revId, kind === "edit" ? parentId : undefined, size),
      ...(kind === "edit"
        ? {
          prior_state: {
            revision: revision(parentId, undefined, Math.max(0, size - 120)),
          },
        }
        : {}),
      $schema: SCHEMAS["mediawiki.page_change.v1"],
      meta: {
        stream: "mediawiki.page_change.v1",
        uri: `https://${wiki.domain}/wiki/${encodeTitle(title)}`,
        id: this.#prng.uuid(),
        domain: wiki.domain,
        request_id: this.#prng.uuid(),
        dt,
      },
    };
    return { event, key: { wiki_id: wiki.db, page_id: pageId } };
  }

  #test(dt: string): Record<string, unknown> {
    return {
      $schema: SCHEMAS["eventgate-main.test.event"],
      meta: {
        stream: "eventgate-main.test.event",
        id: this.#prng.uuid(),
        dt,
        domain: "eventgate-main.svc.eqiad.wmnet",
        request_id: this.#prng.uuid(),
      },
      test: "specific test value",
      test_map: { key1: "val1", key2: "val2" },
    };
  }

  #canary(stream: string, dt: string): Record<string, unknown> {
    // Canary events are the schema's example event with meta.domain "canary";
    // they lack most fields a consumer expects (that is why clients drop them).
    return {
      $schema: SCHEMAS[stream] ?? "/canary/1.0.0",
      meta: {
        stream,
        domain: "canary",
        dt,
        id: this.#prng.uuid(),
        request_id: this.#prng.uuid(),
        uri: "https://canary/Canary_Event",
      },
    };
  }
}

function encodeTitle(title: string): string {
  return encodeURIComponent(title.replaceAll(" ", "_")).replaceAll("%3A", ":")
    .replaceAll(
      "%2F",
      "/",
    );
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  )
    .replaceAll('"', "&quot;");
}

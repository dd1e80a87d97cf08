/**
 * Sample events shaped like the three families of streams the filters and
 * the CLI's output handle: `mediawiki.recentchange` (`wiki`, `type`,
 * `namespace`, `bot`), `mediawiki.page_change.v1` (`wiki_id`,
 * `page_change_kind`, `page.namespace_id`, `performer.is_bot`) and
 * `mediawiki.revision-create` (`database`, `page_namespace`,
 * `performer.user_is_bot`).
 */
import type { EventMeta, EventStreamsEvent } from "../src/types.ts";

/** A recentchange `meta` at 2026-09-27T16:17:12Z on en.wikipedia.org, with `extra` over it. */
export function eventMeta(extra: Record<string, unknown> = {}): EventMeta {
  return {
    topic: "eqiad.mediawiki.recentchange",
    partition: 0,
    offset: 1,
    dt: "2026-09-27T16:17:12Z",
    id: "00000000-0000-4000-8000-000000000001",
    stream: "mediawiki.recentchange",
    domain: "en.wikipedia.org",
    ...extra,
  };
}

/** A human edit of an enwiki article that shrank it by 200 bytes. */
export const recentChange: EventStreamsEvent = {
  meta: eventMeta(),
  wiki: "enwiki",
  type: "edit",
  namespace: 0,
  title: "Earth",
  user: "Example",
  bot: false,
  length: { old: 1200, new: 1000 },
};

/** A human edit of a Wikidata item that grew it by 735 bytes. */
export const pageChange: EventStreamsEvent = {
  meta: eventMeta({
    stream: "mediawiki.page_change.v1",
    domain: "www.wikidata.org",
  }),
  wiki_id: "wikidatawiki",
  page_change_kind: "edit",
  page: { page_title: "Q60988248", namespace_id: 0 },
  performer: { user_text: "Immanuelle", is_bot: false },
  revision: { rev_size: 7458 },
  prior_state: { revision: { rev_size: 6723 } },
};

/** A bot's revision of a dewiki category page. */
export const revisionCreate: EventStreamsEvent = {
  meta: eventMeta({
    stream: "mediawiki.revision-create",
    domain: "de.wikipedia.org",
  }),
  database: "dewiki",
  page_namespace: 14,
  page_title: "Kategorie:Erde",
  performer: { user_text: "ExampleBot", user_is_bot: true },
  rev_len: 20,
};

/** The three samples, in the order above. */
export const sampleEvents: readonly EventStreamsEvent[] = [
  recentChange,
  pageChange,
  revisionCreate,
];

import assert from "node:assert/strict";
import {
  allOf,
  anyOf,
  byBot,
  byDomain,
  byField,
  byNamespace,
  byType,
  byWiki,
  type EventFilter,
  isCanaryEvent,
} from "../src/filter.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import { sampleEvents } from "./_sample_events.ts";

const RC = "mediawiki.recentchange";
const PC = "mediawiki.page_change.v1";
const RV = "mediawiki.revision-create";

/** The streams of the sample events (recentchange, page_change, revision-create) a filter keeps. */
function kept(keep: EventFilter<EventStreamsEvent>): string[] {
  return sampleEvents.filter(keep).map((e) => e.meta.stream);
}

function event(
  fields: Record<string, unknown>,
  domain?: string,
): EventStreamsEvent {
  return {
    meta: {
      topic: "eqiad.x",
      partition: 0,
      offset: 1,
      dt: "2026-01-01T00:00:00Z",
      id: "x",
      stream: "x",
      domain,
    },
    ...fields,
  };
}

Deno.test("isCanaryEvent tells canary events by meta.domain", () => {
  assert.equal(isCanaryEvent(event({}, "canary")), true);
  assert.equal(isCanaryEvent(event({}, "en.wikipedia.org")), false);
  assert.equal(isCanaryEvent(event({})), false);
});

Deno.test("byWiki reads wiki, wiki_id or database, case-insensitively", () => {
  const keep = byWiki("enwiki", "WikidataWiki");
  assert.equal(keep(event({ wiki: "enwiki" })), true); // recentchange
  assert.equal(keep(event({ wiki_id: "wikidatawiki" })), true); // page_change
  assert.equal(keep(event({ database: "ENWIKI" })), true); // revision-create and others
  assert.equal(keep(event({ database: "dewiki" })), false);
  assert.equal(keep(event({})), false);
  assert.equal(keep(event({ wiki: 7, database: "enwiki" })), true); // any field that matches
  assert.deepEqual(kept(byWiki("ENWIKI", "dewiki")), [RC, RV]);
  assert.deepEqual(kept(byWiki("wikidatawiki")), [PC]);
  assert.throws(() => byWiki(), {
    name: "TypeError",
    message: "Cannot build byWiki() without a wiki: pass at least one",
  });
});

Deno.test("byDomain keeps the given domains", () => {
  const keep = byDomain("en.wikipedia.org");
  assert.equal(keep(event({}, "EN.wikipedia.org")), true);
  assert.equal(keep(event({}, "de.wikipedia.org")), false);
  assert.equal(keep(event({})), false);
  assert.deepEqual(kept(byDomain("www.wikidata.org")), [PC]);
  assert.throws(() => byDomain(), {
    name: "TypeError",
    message: "Cannot build byDomain() without a domain: pass at least one",
  });
});

Deno.test("byDomain keeps any subdomain for a *.suffix pattern, not the bare domain", () => {
  const keep = byDomain("*.Wikipedia.org");
  assert.equal(keep(event({}, "en.wikipedia.org")), true);
  assert.equal(keep(event({}, "DE.WIKIPEDIA.ORG")), true);
  assert.equal(keep(event({}, "wikipedia.org")), false);
  assert.equal(keep(event({}, "en.wikipedia.org.example")), false);
  assert.deepEqual(kept(byDomain("*.wikipedia.org")), [RC, RV]);
});

Deno.test("byType reads type (recentchange) or page_change_kind (page_change), exactly", () => {
  const keep = byType("edit", "new");
  assert.equal(keep(event({ type: "new" })), true);
  assert.equal(keep(event({ page_change_kind: "edit" })), true);
  assert.equal(keep(event({ type: "Edit" })), false);
  assert.equal(keep(event({ type: "log" })), false);
  assert.equal(keep(event({})), false);
  assert.deepEqual(kept(byType("edit")), [RC, PC]);
  assert.throws(() => byType(), {
    name: "TypeError",
    message: "Cannot build byType() without a type: pass at least one",
  });
});

Deno.test("byNamespace reads namespace, page_namespace or page.namespace_id", () => {
  const keep = byNamespace(0, -1);
  assert.equal(keep(event({ namespace: 0 })), true); // recentchange
  assert.equal(keep(event({ page_namespace: -1 })), true); // revision-create and page-*
  assert.equal(keep(event({ page: { namespace_id: 0 } })), true); // page_change
  assert.equal(keep(event({ namespace: "0" })), false);
  assert.equal(keep(event({ page: null })), false);
  assert.deepEqual(kept(byNamespace(0)), [RC, PC]);
  assert.deepEqual(kept(byNamespace(14)), [RV]);
  assert.throws(() => byNamespace(), {
    name: "TypeError",
    message:
      "Cannot build byNamespace() without a namespace: pass at least one",
  });
});

Deno.test("byBot reads the first boolean of bot, performer.is_bot, performer.user_is_bot; events without one are dropped", () => {
  assert.deepEqual(kept(byBot(true)), [RV]);
  assert.deepEqual(kept(byBot(false)), [RC, PC]);
  const humans = byBot(false);
  assert.equal(
    humans(event({ bot: false, performer: { is_bot: true } })),
    true,
  );
  assert.equal(
    humans(event({ bot: "no", performer: { is_bot: false } })),
    true,
  );
  assert.equal(humans(event({})), false);
  assert.equal(byBot(true)(event({})), false);
  assert.throws(() => byBot(undefined as unknown as boolean), {
    name: "TypeError",
    message:
      "Cannot build byBot() from undefined: pass true (bots only) or false (humans only)",
  });
});

Deno.test("byField compares a dotted path's value as text, objects as compact JSON", () => {
  assert.deepEqual(kept(byField("performer.user_text", "Immanuelle")), [PC]);
  assert.deepEqual(
    kept(allOf(byField("length.new", "1000"), byField("bot", "false"))),
    [RC],
  );
  assert.deepEqual(
    kept(byField("page", '{"page_title":"Q60988248","namespace_id":0}')),
    [PC],
  );
  assert.equal(byField("meta.domain", "a=b")(event({}, "a=b")), true);
  assert.equal(byField("x", "null")(event({ x: null })), true);
  assert.equal(byField("x", "undefined")(event({})), false);
  assert.throws(() => byField("a..b", "1"), {
    name: "TypeError",
    message:
      "Cannot build byField() for path 'a..b': expected a dotted path like performer.user_text",
  });
  assert.throws(() => byField("", "1"), TypeError);
  assert.throws(() => byField("bot", false as unknown as string), {
    name: "TypeError",
    message:
      "Cannot build byField('bot') with boolean false: pass the value as a string, like 'false'",
  });
});

Deno.test("allOf keeps what every filter keeps", () => {
  const keep = allOf(
    byWiki("enwiki"),
    (e: EventStreamsEvent) => !isCanaryEvent(e),
  );
  assert.equal(keep(event({ wiki: "enwiki" })), true);
  assert.equal(keep(event({ wiki: "enwiki" }, "canary")), false);
  assert.equal(keep(event({ wiki: "dewiki" })), false);
  assert.equal(allOf<EventStreamsEvent>()(event({})), true);
  assert.deepEqual(kept(allOf(byWiki("enwiki"), byBot(true))), []);
});

Deno.test("anyOf keeps what at least one filter keeps", () => {
  assert.deepEqual(kept(anyOf(byWiki("enwiki"), byBot(true))), [RC, RV]);
  assert.deepEqual(kept(anyOf(byNamespace(14))), [RV]);
  assert.equal(anyOf<EventStreamsEvent>()(event({})), false);
});

Deno.test("a selector's prefilter never rejects an event the selector keeps (seeded generated events of six streams)", async () => {
  const { EventGenerator } = await import(
    "../src/testing/emulator/generator.ts"
  );
  const generator = new EventGenerator({ seed: 11, canaryEvery: 50 });
  const streams = [
    RC,
    PC,
    RV,
    "mediawiki.page-create",
    "mediawiki.page-delete",
    "mediawiki.page-move",
  ];
  const events: [EventStreamsEvent, string][] = [];
  for (let i = 0; i < 3_000; i++) {
    const { event } = generator.event(streams[i % streams.length], i * 1000);
    (event.meta as Record<string, unknown>).topic = `eqiad.${streams[i % 6]}`;
    events.push([event as unknown as EventStreamsEvent, JSON.stringify(event)]);
  }
  // Upper case in the data: the selectors are case-insensitive, so must the prefilters be.
  events.push([
    event({ wiki: "EnWiki", type: "edit" }, "EN.Wikipedia.org"),
    JSON.stringify(event({ wiki: "EnWiki", type: "edit" }, "EN.Wikipedia.org")),
  ]);
  const filters: [string, EventFilter<EventStreamsEvent>][] = [
    ["byWiki(enwiki)", byWiki("enwiki")],
    ["byWiki(dewiki, frwiki)", byWiki("dewiki", "frwiki")],
    ["byDomain(en.wikipedia.org)", byDomain("en.wikipedia.org")],
    ["byDomain(*.wikipedia.org)", byDomain("*.wikipedia.org")],
    ["byType(edit)", byType("edit")],
    ["byType(new, log)", byType("new", "log")],
    ["byNamespace(0)", byNamespace(0)],
    ["byNamespace(14, 6)", byNamespace(14, 6)],
    ["byBot(true)", byBot(true)],
    ["byBot(false)", byBot(false)],
    ["allOf", allOf(byWiki("enwiki"), byType("edit"), byBot(false))],
    ["anyOf", anyOf(byWiki("jawiki"), byNamespace(1))],
  ];
  for (const [name, filter] of filters) {
    assert.ok(filter.prefilter, `${name} has a prefilter`);
    let rejected = 0;
    let kept = 0;
    for (const [parsed, text] of events) {
      const keep = filter(parsed);
      if (keep) kept++;
      if (!filter.prefilter!(text)) {
        rejected++;
        assert.equal(
          keep,
          false,
          `${name} prefilter rejected a kept event: ${text}`,
        );
      }
    }
    assert.ok(kept > 0, `${name} keeps some events`);
    if (!name.startsWith("byBot") && name !== "byNamespace(0)") {
      assert.ok(
        rejected > events.length / 4,
        `${name} prefilter rejects many (${rejected})`,
      );
    }
  }
  assert.equal(
    anyOf(byWiki("enwiki"), (e) => e.meta.offset > 0).prefilter,
    undefined,
  );
  assert.equal(
    allOf((e: EventStreamsEvent) => e.meta.offset > 0).prefilter,
    undefined,
  );
});

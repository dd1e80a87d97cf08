import assert from "node:assert/strict";
import { allOf, byDomain, byWiki, isCanaryEvent } from "../src/filter.ts";
import type { EventStreamsEvent } from "../src/types.ts";

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
  assert.throws(() => byDomain(), TypeError);
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
});

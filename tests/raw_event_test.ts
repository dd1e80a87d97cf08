import assert from "node:assert/strict";
import { mayHaveLiteral, mayHaveString, readMeta } from "../src/raw_event.ts";

Deno.test("readMeta finds the top-level meta, whatever precedes it, and nothing else", () => {
  const meta = {
    topic: "eqiad.x",
    partition: 0,
    offset: 7,
    dt: "2026-01-01T00:00:00Z",
  };
  const cases: [string, unknown][] = [
    [JSON.stringify({ $schema: "/x", meta, wiki: "enwiki" }), meta],
    [JSON.stringify({ meta }), meta],
    [
      `{ "title" : "}{\\"meta\\":1" , "nested": {"meta": {"a": 1}}, "meta" : ${
        JSON.stringify(meta)
      } }`,
      meta,
    ],
    [
      JSON.stringify({
        list: [{ meta: {} }],
        meta: { ...meta, tags: ["a}", { b: "]" }] },
      }),
      { ...meta, tags: ["a}", { b: "]" }] },
    ],
    [JSON.stringify({ nested: { meta } }), undefined],
    [JSON.stringify({ meta: "text" }), undefined],
    ['{"meta":{"topic":"x"', undefined],
    ['{"meta":{"topic":"x\\"}', undefined],
    ["not json", undefined],
    ["", undefined],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(readMeta(text), expected, text);
  }
});

Deno.test("readMeta agrees with JSON.parse on every prefix of an event", () => {
  const text = JSON.stringify({
    $schema: "/mediawiki/recentchange/1.0.0",
    meta: {
      topic: "eqiad.mediawiki.recentchange",
      partition: 0,
      offset: 12,
      id: 'a\\"b',
      dt: "2026-01-01T00:00:00Z",
    },
    title: 'Quote " and brace } and "meta":{}',
  });
  const full = JSON.parse(text).meta;
  for (let end = 0; end <= text.length; end++) {
    const meta = readMeta(text.slice(0, end));
    if (meta !== undefined) assert.deepEqual(meta, full, `prefix ${end}`);
  }
  assert.deepEqual(readMeta(text), full);
});

Deno.test("mayHaveString and mayHaveLiteral say no only when no value can match; a \\u escape is a maybe", () => {
  const wiki = mayHaveString(["enwiki", 'we"ird']);
  assert.equal(wiki('{"wiki":"enwiki"}'), true);
  assert.equal(wiki('{"wiki":"ENWIKI"}'), true);
  assert.equal(wiki('{"wiki":"we\\"ird"}'), true);
  assert.equal(wiki('{"wiki":"enwikinews"}'), false);
  assert.equal(wiki('{"wiki":"en\\u0077iki"}'), true);
  const suffix = mayHaveString([".wikipedia.org"], true);
  assert.equal(suffix('{"d":"en.wikipedia.org"}'), true);
  assert.equal(suffix('{"d":"en.wikipedia.org.evil"}'), false);
  const ns = mayHaveLiteral([0, 14]);
  assert.equal(ns('{"namespace":14}'), true);
  assert.equal(ns('{"namespace": 0 ,"x":1}'), true);
  assert.equal(ns('{"namespace":140,"offset":1014,"v":0.5,"w":-14}'), false);
  assert.equal(mayHaveLiteral([true])('{"bot":false,"minor":false}'), false);
});

Deno.test("readMeta past the first characters: meta last (page_change's place, with its nested key), in the middle, or only nested", () => {
  const meta = {
    topic: "eqiad.mediawiki.page_change.v1",
    partition: 0,
    offset: 1109139115,
    key: { wiki_id: "wikidatawiki", page_id: 60841697 },
  };
  const pad = "x".repeat(700); // Beyond the early scan.
  const cases: [string, unknown][] = [
    [JSON.stringify({ pad, meta }), meta],
    [`{"pad":"${pad}" , "meta" : ${JSON.stringify(meta)} }`, meta],
    [JSON.stringify({ pad, meta, after: 1 }), meta],
    [JSON.stringify({ pad, meta, b: { meta: { x: 1 } } }), meta],
    [JSON.stringify({ pad, meta, ['a"meta']: { x: 1 } }), meta],
    [JSON.stringify({ pad, b: { meta: { x: 1 } } }), undefined],
    [JSON.stringify({ pad, b: [{ meta: { x: 1 } }] }), undefined],
    [JSON.stringify({ pad: `${pad}","meta":{"fake":1}}` }), undefined],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(readMeta(text), expected, text.slice(700));
  }
  // Every prefix of such an event: the real meta or nothing.
  const text = JSON.stringify({ pad, title: '"meta":{}}', meta });
  for (let end = 0; end <= text.length; end++) {
    const found = readMeta(text.slice(0, end));
    if (found !== undefined) assert.deepEqual(found, meta, `prefix ${end}`);
  }
});

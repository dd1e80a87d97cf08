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

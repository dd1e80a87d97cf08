import assert from "node:assert/strict";
import {
  mayHaveLiteral,
  mayHaveString,
  readMeta,
  readPosition,
} from "../src/raw_event.ts";

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

Deno.test("mayHaveString and mayHaveLiteral say no only when no value can match, however JSON spells it", () => {
  const wiki = mayHaveString(["enwiki", 'we"ird']);
  assert.equal(wiki('{"wiki":"enwiki"}'), true);
  assert.equal(wiki('{"wiki":"ENWIKI"}'), true);
  assert.equal(wiki('{"wiki":"we\\"ird"}'), true);
  assert.equal(wiki('{"wiki":"enwikinews"}'), false);
  // Any character may be a \u escape, of either case, with hex digits of either case.
  for (
    const spelled of [
      "en\\u0077iki",
      "EN\\u0057IKI",
      "\\u0065\\u006E\\u0077\\u0069\\u006b\\u0069",
      "we\\u0022ird",
    ]
  ) {
    assert.equal(wiki(`{"wiki":"${spelled}"}`), true, spelled);
    assert.ok(
      ["enwiki", 'we"ird'].includes(JSON.parse(`"${spelled}"`).toLowerCase()),
      `the test spells a value: ${spelled}`,
    );
  }
  // An escape elsewhere is no reason to parse: it does not spell the value.
  assert.equal(
    wiki('{"wiki":"dewiki","title":"Caf\\u00e9","c":"<a \\"x\\">"}'),
    false,
  );
  assert.equal(wiki('{"wiki":"en\\u0077ikinews"}'), false);
  assert.equal(mayHaveString(["a/b"])('{"x":"a\\/b"}'), true);
  const emoji = mayHaveString(["a\u{1f600}"]);
  assert.equal(emoji('{"x":"a\u{1f600}"}'), true);
  assert.equal(emoji('{"x":"a\\ud83d\\ude00"}'), true);
  assert.equal(emoji('{"x":"a\\uD83D\\uDE01"}'), false);
  const suffix = mayHaveString([".wikipedia.org"], true);
  assert.equal(suffix('{"d":"en.wikipedia.org"}'), true);
  assert.equal(suffix('{"d":"en.wikipedia\\u002eorg"}'), true);
  assert.equal(suffix('{"d":"en.wikipedia.org.evil"}'), false);
  const ns = mayHaveLiteral([0, 14]);
  assert.equal(ns('{"namespace":14}'), true);
  assert.equal(ns('{"namespace": 0 ,"x":1}'), true);
  assert.equal(ns('{"namespace":140,"offset":1014,"v":0.5,"w":-14}'), false);
  assert.equal(
    ns('{"namespace":1,"t":"\\u0030"}'),
    false,
    "a literal has no escapes",
  );
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

Deno.test("readPosition reads meta's topic, partition and offset as JSON.parse does, or leaves the event to readMeta", () => {
  const position = {
    topic: "eqiad.mediawiki.recentchange",
    partition: 3,
    offset: 4369496613,
  };
  const rc = (meta: object, rest: object = { wiki: "enwiki" }) =>
    JSON.stringify({ $schema: "/mediawiki/recentchange/1.0.0", meta, ...rest });
  const head = {
    uri: "https://en.wikipedia.org/wiki/A",
    id: "x",
    dt: "2026-01-01T00:00:00Z",
  };
  const key = { wiki_id: "enwiki", page_id: 1 };
  const pad = "x".repeat(700); // Beyond the early scan: meta found as the last member.
  const cases: [string, unknown][] = [
    [rc({ ...head, ...position }), position],
    // A new topic (no cached string), then the first again.
    [rc({ ...head, ...position, topic: "codfw.mediawiki.recentchange" }), {
      ...position,
      topic: "codfw.mediawiki.recentchange",
    }],
    [rc({ ...head, ...position }), position],
    [rc({ ...head, ...position, partition: 0, offset: 0 }), {
      ...position,
      partition: 0,
      offset: 0,
    }],
    // Not the compact spelling: JSON.parse reads the members from "topic" on.
    // Early, a nested object after "offset" ends the flat read: readMeta decides.
    [rc({ ...head, ...position, key }), undefined],
    [JSON.stringify({ pad, meta: { ...head, ...position, key } }), {
      ...position,
      key,
    }],
    [JSON.stringify({ meta: { ...head, ...position } }, null, 1), position],
    [rc({ ...head, topic: 't\\"x', partition: 1, offset: 2 }), {
      topic: 't\\"x',
      partition: 1,
      offset: 2,
    }],
    [rc({ ...head, ...position, offset: 2 ** 60 }), {
      ...position,
      offset: 2 ** 60,
    }],
    // A brace before "topic": it may be nested; readMeta decides.
    [
      rc({ nested: { topic: "evil", partition: 9, offset: 9 }, ...position }),
      undefined,
    ],
    [rc({ uri: "https://x/{}", ...position }), undefined],
    [rc({ uri: "https://x/}", ...position }), undefined],
    // No topic, or members before it that matter: readMeta decides.
    [rc({ ...head, partition: 0, offset: 1 }), undefined],
    [rc({ partition: 0, offset: 1, topic: "eqiad.x" }), { topic: "eqiad.x" }],
    ['{"meta":{"topic":"eqiad.x","partition":01,"offset":1}}', undefined],
    ['{"meta":{"topic":"eqiad.x","partition":0,"offset":1', undefined],
    ['{"meta":{"topic":"eqiad.x","partition":0,"offset":1,}}', undefined],
    // What follows meta is not read (nor by readMeta).
    ['{"meta":{"topic":"eqiad.x","partition":0,"offset":1}, "b": }', {
      topic: "eqiad.x",
      partition: 0,
      offset: 1,
    }],
    [JSON.stringify({ nested: { meta: position } }), undefined],
    [JSON.stringify({ pad, nested: { meta: position } }), undefined],
    [
      JSON.stringify({
        pad,
        meta: position,
        after: { topic: "evil", partition: 9, offset: 9 },
      }),
      undefined,
    ],
    ["", undefined],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(readPosition(text), expected, text.slice(0, 300));
  }
  // Every prefix of an event: its own position or nothing.
  for (
    const text of [
      rc({ ...head, ...position }),
      JSON.stringify({ pad, meta: { ...position, key } }),
    ]
  ) {
    const meta = JSON.parse(text).meta;
    for (let end = 0; end <= text.length; end++) {
      const found = readPosition(text.slice(0, end)) as
        | Record<string, unknown>
        | undefined;
      if (found === undefined) continue;
      for (const [name, value] of Object.entries(found)) {
        assert.deepEqual(value, meta[name], `prefix ${end}: ${name}`);
      }
    }
  }
});

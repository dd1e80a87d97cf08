import assert from "node:assert/strict";
import {
  type Cassette,
  CassetteError,
  isSecretHeader,
  parseCassette,
  serializeCassette,
  stripSecretHeaders,
  stripUrlSecrets,
} from "../src/testing/cassette.ts";
import { readCassette, writeCassette } from "../src/testing/cassette_file.ts";
import { parseRecordArgs } from "../src/cli/args.ts";
import { eventStream } from "../src/client.ts";

const enc = new TextEncoder();

function sample(): Cassette {
  const eacute = enc.encode("data: café\n"); // "é" is C3 A9
  const split = eacute.indexOf(0xc3) + 1;
  return {
    format: 1,
    recordedAt: "2026-09-27T16:17:00.000Z",
    tool: "tests/cassette_test.ts",
    note: "two connections, a split character",
    connections: [
      {
        request: {
          startedAt: 0,
          method: "GET",
          url:
            "https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16%3A00%3A00.000Z",
          headers: {
            accept: "text/event-stream",
            "user-agent": "test/1.0 (me@example.org)",
          },
        },
        response: {
          at: 80,
          status: 200,
          statusText: "OK",
          headers: { "content-type": "text/event-stream; charset=utf-8" },
        },
        chunks: [
          { at: 81, bytes: enc.encode(":ok\n\n") },
          { at: 90, bytes: eacute.slice(0, split) }, // ends with a lone C3
          { at: 90, bytes: eacute.slice(split) }, // starts with a lone A9
          { at: 95, bytes: new Uint8Array([0xef, 0xbb, 0xbf, 0x0a]) }, // a BOM stays text
          { at: 96, bytes: new Uint8Array(0) },
          { at: 97, bytes: enc.encode("line\r\n\r\n") },
        ],
        end: { at: 1000, reason: "error", message: "connection reset" },
      },
      {
        request: {
          startedAt: 2100,
          method: "GET",
          url: "https://stream.wikimedia.org/v2/stream/test",
          headers: {
            "last-event-id":
              '[{"topic":"eqiad.test","partition":0,"offset":5}]',
          },
        },
        response: { at: 40, status: 200, statusText: "", headers: {} },
        chunks: [{ at: 41, bytes: enc.encode(":ok\n\n") }],
        end: { at: 60_000, reason: "aborted" },
      },
      {
        request: {
          startedAt: 70_000,
          method: "GET",
          url: "https://stream.wikimedia.org/v2/stream/test",
          headers: {},
        },
        chunks: [],
        end: {
          at: 3,
          reason: "error",
          message: "Connection refused (os error 111)",
        },
      },
      {
        request: {
          startedAt: 80_000,
          method: "GET",
          url: "https://stream.wikimedia.org/v2/stream/test",
          headers: {},
        },
        response: { at: 1, status: 200, statusText: "OK", headers: {} },
        chunks: [{ at: 2, bytes: enc.encode(":ok\n\n") }],
      },
    ],
  };
}

const HEADER =
  '{"format":1,"recordedAt":"2026-09-27T16:17:00.000Z","tool":"t"}';
const REQUEST =
  '{"type":"request","conn":0,"startedAt":0,"method":"GET","url":"https://x.test/v2/stream/a","headers":{}}';
const RESPONSE =
  '{"type":"response","conn":0,"at":1,"status":200,"statusText":"OK","headers":{}}';

function parseError(
  lines: string[],
  source = "fixtures/x.jsonl",
): CassetteError {
  try {
    parseCassette(lines.join("\n"), { source });
  } catch (error) {
    assert.ok(
      error instanceof CassetteError,
      `expected a CassetteError, got ${error}`,
    );
    return error;
  }
  assert.fail("parseCassette accepted an invalid cassette");
}

Deno.test("a cassette survives a round trip through its text, byte for byte", () => {
  const cassette = sample();
  const text = serializeCassette(cassette);
  assert.deepStrictEqual(parseCassette(text), cassette);
  assert.equal(serializeCassette(parseCassette(text)), text);
});

Deno.test("a chunk that splits a multi-byte character is written as base64, whole characters as text", () => {
  const lines = serializeCassette(sample()).trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  const chunks = lines.filter((line) =>
    line.type === "chunk" && line.conn === 0
  );
  assert.deepStrictEqual(chunks.map((c) => "text" in c ? "text" : "base64"), [
    "text",
    "base64",
    "base64",
    "text",
    "text",
    "text",
  ]);
  assert.equal(chunks[1].base64, btoa("data: caf\xc3"));
  assert.equal(chunks[3].text, "\ufeff\n");
  assert.equal(chunks[5].text, "line\r\n\r\n");
});

Deno.test("the text is one JSON object per line, header first, events in connection order", () => {
  const text = serializeCassette(sample());
  assert.ok(text.endsWith("\n"));
  const lines = text.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepStrictEqual(lines[0], {
    format: 1,
    recordedAt: "2026-09-27T16:17:00.000Z",
    tool: "tests/cassette_test.ts",
    note: "two connections, a split character",
  });
  assert.deepStrictEqual(
    lines.slice(1).map((line) => `${line.conn}:${line.type}`),
    [
      "0:request",
      "0:response",
      ...Array(6).fill("0:chunk"),
      "0:end",
      "1:request",
      "1:response",
      "1:chunk",
      "1:end",
      "2:request",
      "2:end",
      "3:request",
      "3:response",
      "3:chunk",
    ],
  );
  assert.equal(
    text.split("\n")[1],
    '{"type":"request","conn":0,"startedAt":0,"method":"GET",' +
      '"url":"https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16%3A00%3A00.000Z",' +
      '"headers":{"accept":"text/event-stream","user-agent":"test/1.0 (me@example.org)"}}',
  );
});

Deno.test("secret headers never appear in the serialized text", () => {
  const cassette = sample();
  cassette.connections[0].request.headers = {
    ...cassette.connections[0].request.headers,
    authorization: "Bearer SECRET-1",
    cookie: "session=SECRET-2",
    "proxy-authorization": "Basic SECRET-3",
    "x-api-key": "SECRET-4",
  };
  cassette.connections[0].response!.headers = {
    ...cassette.connections[0].response!.headers,
    "set-cookie": "id=SECRET-5",
  };
  const text = serializeCassette(cassette);
  assert.doesNotMatch(text, /SECRET|authorization|cookie|api-key/i);
  assert.match(text, /"user-agent":"test\/1.0/);
});

Deno.test("URL credentials and secret query values never appear in the serialized text; the rest of the URL stays byte for byte", () => {
  const cassette = sample();
  cassette.connections[0].request.url =
    "https://me:SECRET-1@stream.wikimedia.org/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=SECRET-2&api_key=SECRET-3";
  cassette.connections[1].request.url =
    "https://stream.wikimedia.org/v2/stream/test?Session%5FId=SECRET-4";
  const text = serializeCassette(cassette);
  assert.doesNotMatch(text, /SECRET|me:/);
  const [first, second] = parseCassette(text).connections;
  assert.equal(
    first.request.url,
    "https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=REDACTED&api_key=REDACTED",
  );
  assert.equal(
    second.request.url,
    "https://stream.wikimedia.org/v2/stream/test?Session%5FId=REDACTED",
  );
  // Nothing to strip: the very same string, even where new URL() would re-encode it.
  const plain =
    "https://stream.wikimedia.org/v2/stream/test?since=2026-09-27T16:00:00Z&x=%7e";
  assert.equal(stripUrlSecrets(plain), plain);
  assert.throws(() => stripUrlSecrets("/v2/stream/test"), TypeError);
});

Deno.test("isSecretHeader flags credentials and keeps the headers replay needs", () => {
  for (
    const name of [
      "Authorization",
      "Cookie",
      "Set-Cookie",
      "Proxy-Authorization",
      "X-Api-Key",
      "X-Auth-Token",
    ]
  ) {
    assert.ok(isSecretHeader(name), name);
  }
  for (
    const name of [
      "Last-Event-ID",
      "Accept",
      "User-Agent",
      "Content-Type",
      "Api-User-Agent",
    ]
  ) {
    assert.ok(!isSecretHeader(name), name);
  }
  assert.deepStrictEqual(
    stripSecretHeaders(
      new Headers({
        "Last-Event-ID": "[]",
        Cookie: "a=b",
        Accept: "text/event-stream",
      }),
    ),
    { accept: "text/event-stream", "last-event-id": "[]" },
  );
});

Deno.test("CRLF line ends and blank lines are accepted", () => {
  const text = [
    HEADER,
    REQUEST,
    "",
    RESPONSE,
    '{"type":"end","conn":0,"at":2,"reason":"eof"}',
    "",
  ].join("\r\n");
  const cassette = parseCassette(text);
  assert.equal(cassette.connections[0].end?.reason, "eof");
});

Deno.test("validation names the line, the problem and the offending value", () => {
  const cases: [string[], string][] = [
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        "",
        "",
        "",
        '{"type":"chunk","conn":0,"at":"soon","text":"x"}',
      ],
      'Cannot read cassette fixtures/x.jsonl line 7: "at" must be a non-negative number, got "soon"',
    ],
    [
      [HEADER, "{not json"],
      "Cannot read cassette fixtures/x.jsonl line 2: invalid JSON",
    ],
    [
      [HEADER, "[1,2]"],
      "Cannot read cassette fixtures/x.jsonl line 2: each line must be a JSON object, got [1,2]",
    ],
    [
      [REQUEST],
      'Cannot read cassette fixtures/x.jsonl line 1: the first line must be a header like {"format":1,',
    ],
    [
      [HEADER, '{"type":"chunk","conn":0,"at":1,"text":"x"}'],
      'Cannot read cassette fixtures/x.jsonl line 2: "conn" 0 has no request line before this chunk line',
    ],
    [
      [HEADER, REQUEST, '{"type":"chunk","conn":0,"at":1,"text":"x"}'],
      "Cannot read cassette fixtures/x.jsonl line 3: a chunk of conn 0 before its response line",
    ],
    [
      [HEADER, REQUEST, RESPONSE, '{"type":"chunk","conn":0,"at":1,"txt":"x"}'],
      'Cannot read cassette fixtures/x.jsonl line 4: unknown field "txt" in a chunk line; known fields: ' +
      "type, conn, at, text, base64",
    ],
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        '{"type":"chunk","conn":0,"at":1,"text":"x","base64":"eA=="}',
      ],
      'Cannot read cassette fixtures/x.jsonl line 4: a chunk line must have exactly one of "text" and "base64"',
    ],
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        '{"type":"chunk","conn":0,"at":1,"base64":"e!=="}',
      ],
      'Cannot read cassette fixtures/x.jsonl line 4: "base64" must be a padded standard base64 string, got "e!=="',
    ],
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        '{"type":"chunk","conn":0,"at":0,"text":"x"}',
      ],
      'Cannot read cassette fixtures/x.jsonl line 4: "at" must not go back in time within conn 0: 0 after 1',
    ],
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        '{"type":"end","conn":0,"at":2,"reason":"done"}',
      ],
      'Cannot read cassette fixtures/x.jsonl line 4: "reason" must be one of "eof", "error", "aborted", got "done"',
    ],
    [
      [HEADER, REQUEST, '{"type":"end","conn":0,"at":2,"reason":"error"}'],
      'Cannot read cassette fixtures/x.jsonl line 3: an end line with reason "error" needs a "message" string, ' +
      "got nothing",
    ],
    [
      [
        HEADER,
        REQUEST,
        RESPONSE,
        '{"type":"end","conn":0,"at":2,"reason":"eof"}',
        RESPONSE,
      ],
      "Cannot read cassette fixtures/x.jsonl line 5: a response line of conn 0 after its end line",
    ],
    [
      [HEADER, REQUEST.replace('"conn":0', '"conn":1')],
      "Cannot read cassette fixtures/x.jsonl line 2: connections must be numbered in the order of their requests: " +
      'expected "conn" 0, got 1',
    ],
    [
      [HEADER, REQUEST.replace("https://x.test/v2/stream/a", "/v2/stream/a")],
      'Cannot read cassette fixtures/x.jsonl line 2: "url" must be an absolute URL string, got "/v2/stream/a"',
    ],
    [
      [HEADER, REQUEST.replace('"headers":{}', '"headers":{"Accept":"x"}')],
      'Cannot read cassette fixtures/x.jsonl line 2: header names must be lower case, got "Accept"',
    ],
    [
      [HEADER, REQUEST, RESPONSE.replace('"status":200', '"status":99')],
      'Cannot read cassette fixtures/x.jsonl line 3: "status" must be an integer from 200 to 599, got 99',
    ],
    [
      [HEADER, '{"type":"toString","conn":0}'],
      'Cannot read cassette fixtures/x.jsonl line 2: "type" must be one of "request", "response", "chunk", "end", ' +
      'got "toString"',
    ],
    [
      ['{"format":1,"recordedAt":"yesterday","tool":"t"}'],
      'Cannot read cassette fixtures/x.jsonl line 1: "recordedAt" must be an ISO-8601 date string, got "yesterday"',
    ],
  ];
  for (const [lines, message] of cases) {
    const error = parseError(lines);
    assert.ok(
      error.message.startsWith(message),
      `\n  got:  ${error.message}\n  want: ${message}`,
    );
    assert.equal(error.line, Number(/line (\d+)/.exec(message)![1]));
    assert.equal(error.source, "fixtures/x.jsonl");
  }
});

Deno.test("an unknown format version is refused with what to do", () => {
  const error = parseError([
    '{"format":2,"recordedAt":"2030-01-01T00:00:00Z","tool":"future"}',
  ]);
  assert.equal(
    error.message,
    "Cannot read cassette fixtures/x.jsonl line 1: unsupported cassette format 2; this version of " +
      "@eventstreams/client reads format 1 only: upgrade the library or re-record the cassette",
  );
});

Deno.test("an empty text is refused", () => {
  assert.throws(() => parseCassette("\n\n"), {
    name: "CassetteError",
    message:
      'Cannot read cassette: it is empty; the first line must be a header like {"format":1,' +
      '"recordedAt":"...","tool":"..."}',
  });
});

Deno.test("writeCassette and readCassette keep a cassette intact on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/session.cassette.jsonl`;
    await writeCassette(path, sample());
    assert.deepStrictEqual(await readCassette(path), sample());
    assert.deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
      "session.cassette.jsonl",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing cassette file fails loudly with the command that records it", async () => {
  await assert.rejects(
    readCassette("fixtures/does-not-exist.cassette.jsonl"),
    (error: unknown) => {
      assert.ok(error instanceof CassetteError);
      assert.match(
        error.message,
        /^Cannot read cassette fixtures\/does-not-exist\.cassette\.jsonl: the file does not exist; record it with `deno task record <stream> --events 50 --out fixtures\/does-not-exist\.cassette\.jsonl --user-agent '<tool>\/<version> \(<contact>\)'`/,
      );
      return true;
    },
  );
});

Deno.test("a cassette file with a bad line names the file and the line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bad.cassette.jsonl`;
    await Deno.writeTextFile(
      path,
      [HEADER, REQUEST, RESPONSE, '{"type":"chunk","conn":0,"at":-1,"text":""}']
        .join("\n"),
    );
    await assert.rejects(readCassette(path), {
      name: "CassetteError",
      message:
        `Cannot read cassette ${path} line 4: "at" must be a non-negative number, got -1`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the lines of overlapping connections may interleave, each connection's own lines in order", () => {
  const REQUEST_1 = REQUEST.replace('"conn":0', '"conn":1').replace(
    '"startedAt":0',
    '"startedAt":5',
  );
  const cassette = parseCassette([
    HEADER,
    REQUEST,
    RESPONSE,
    REQUEST_1,
    '{"type":"chunk","conn":0,"at":2,"text":":ok\\n\\n"}',
    '{"type":"response","conn":1,"at":1,"status":429,"statusText":"","headers":{}}',
    '{"type":"end","conn":1,"at":1,"reason":"eof"}',
    '{"type":"end","conn":0,"at":9,"reason":"aborted"}',
  ].join("\n"));
  assert.deepStrictEqual(
    cassette.connections.map((
      c,
    ) => [c.response?.status, c.chunks.length, c.end?.reason]),
    [
      [200, 1, "aborted"],
      [429, 0, "eof"],
    ],
  );
});

Deno.test("fixtures/README.md tells how to record from the real server with a command the CLI accepts", async () => {
  const readme = await Deno.readTextFile(
    new URL("../fixtures/README.md", import.meta.url),
  );
  const block =
    /## Recording a new fixture from the real server[\s\S]*?```sh\n([\s\S]*?)```/
      .exec(readme)?.[1];
  assert.ok(
    block,
    "fixtures/README.md has no recording section with a sh block",
  );
  // Shell words: line continuations joined, single quotes kept together.
  const words = block.replaceAll("\\\n", " ").match(/'[^']*'|\S+/g)!.map((
    word,
  ) => word.startsWith("'") ? word.slice(1, -1) : word);
  assert.deepStrictEqual(words.slice(0, 3), ["deno", "task", "record"]);
  const tasks = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ).tasks;
  assert.match(tasks.record, /src\/cli\/main\.ts record$/);
  const parsed = parseRecordArgs(words.slice(3), { get: () => undefined }, 0);
  assert.ok(!parsed.help);
  const { streams, out, events, userAgent } = parsed.options;
  assert.deepStrictEqual(streams, ["mediawiki.recentchange"]);
  assert.match(out, /^fixtures\/.*\.cassette\.jsonl$/);
  assert.ok(events !== undefined && events > 0);
  // The client accepts the documented agent (it refuses generic ones).
  await eventStream(streams, {
    userAgent,
    allowUnknownStreams: true,
    fetch: () => Promise.reject(new Error("not called")),
  }).close();
});

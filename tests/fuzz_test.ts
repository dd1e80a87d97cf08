// Seeded fuzz: the SSE decoder against a plain reference written from the
// WHATWG "event stream interpretation", and Cursor.parse (parses or throws
// CursorError, nothing else).
import assert from "node:assert/strict";
import { SseDecoder, type SseFrame } from "../src/sse/parse_stream.ts";
import { Cursor } from "../src/cursor.ts";
import { CursorError } from "../src/errors.ts";
import { seededRandom } from "../src/testing/random.ts";

interface Parsed {
  frames: SseFrame[];
  retries: number[];
}

/**
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation,
 * followed step by step on the whole input at once.
 */
function referenceParse(bytes: Uint8Array): Parsed {
  // "decoded as UTF-8 ... one leading U+FEFF BOM is ignored": TextDecoder's default.
  const text = new TextDecoder().decode(bytes);
  const frames: SseFrame[] = [];
  const retries: number[] = [];
  let data = "";
  let eventType = "";
  let lastEventId = "";
  // Lines end with CRLF, LF or CR; the text after the last end is an
  // incomplete line, never processed.
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\r" || c === "\n") {
      lines.push(text.slice(start, i));
      if (c === "\r" && text[i + 1] === "\n") i++;
      start = i + 1;
    }
  }
  for (const line of lines) {
    if (line === "") {
      // Dispatch: with an empty data buffer, reset and dispatch nothing.
      if (data === "") {
        eventType = "";
        continue;
      }
      if (data.endsWith("\n")) data = data.slice(0, -1);
      frames.push({ event: eventType || "message", data, id: lastEventId });
      data = "";
      eventType = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventType = value;
    else if (field === "data") data += value + "\n";
    else if (field === "id") {
      if (!value.includes("\0")) lastEventId = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) retries.push(Number(value));
    }
  }
  return { frames, retries };
}

function decoderParse(chunks: Uint8Array[]): Parsed {
  const frames: SseFrame[] = [];
  const retries: number[] = [];
  const decoder = new SseDecoder((f) => frames.push({ ...f }), {
    onRetry: (ms) => retries.push(ms),
  });
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  return { frames, retries };
}

const PIECES = [
  "data: x",
  "data:yy",
  "data",
  "data:",
  "data:  two spaces",
  "event: update",
  "event:",
  "id: 42",
  "id",
  "id: a\0b",
  "retry: 1500",
  "retry: 15x",
  "retry:",
  ": a comment",
  ":",
  "",
  "",
  "",
  "unknown: field",
  "no colon",
  "data: é😀",
  "data: \uFEFFbom",
  "DATA: case",
  " data: leading space",
  "data:\t tab",
];
const ENDINGS = ["\n", "\r", "\r\n"];

function randomStream(random: () => number): Uint8Array {
  const pick = <T>(list: readonly T[]) =>
    list[Math.floor(random() * list.length)];
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  if (random() < 0.2) parts.push(new Uint8Array([0xef, 0xbb, 0xbf]));
  const lines = Math.floor(random() * 30);
  for (let i = 0; i < lines; i++) {
    parts.push(encoder.encode(pick(PIECES)));
    // Now and then a byte that is not UTF-8, or a lone lead byte.
    if (random() < 0.05) {
      parts.push(new Uint8Array([pick([0xff, 0xc3, 0x80, 0xe2])]));
    }
    parts.push(encoder.encode(pick(ENDINGS)));
  }
  if (random() < 0.5) parts.push(encoder.encode(pick(PIECES)));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes;
}

function randomSplit(bytes: Uint8Array, random: () => number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const size = random() < 0.3 ? 1 : 1 + Math.floor(random() * 12);
    chunks.push(bytes.slice(i, i + size));
    i += size;
  }
  return chunks;
}

Deno.test("fuzz: SseDecoder agrees with the WHATWG reference on 3,000 random streams cut at random", () => {
  const random = seededRandom(2026);
  for (let run = 0; run < 3_000; run++) {
    const bytes = randomStream(random);
    const expected = referenceParse(bytes);
    const whole = decoderParse([bytes]);
    const split = decoderParse(randomSplit(bytes, random));
    const show = () => JSON.stringify(new TextDecoder().decode(bytes));
    assert.deepEqual(whole, expected, `run ${run}, whole: ${show()}`);
    assert.deepEqual(split, expected, `run ${run}, split: ${show()}`);
  }
});

Deno.test("fuzz: Cursor.parse parses or throws CursorError on 5,000 mutated ids, nothing else", () => {
  const random = seededRandom(7);
  const valid = JSON.stringify([
    { topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 4369496612 },
    {
      topic: "codfw.mediawiki.recentchange",
      partition: 0,
      timestamp: 1790525832000,
    },
  ]);
  const alphabet = '[]{}":,0123456789-.eE+ abcxyz\\u\0\n';
  let parsed = 0;
  let refused = 0;
  for (let run = 0; run < 5_000; run++) {
    const chars = [...valid];
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * (chars.length + 1));
      const c = alphabet[Math.floor(random() * alphabet.length)];
      const op = random();
      if (op < 0.33) chars.splice(at, 1);
      else if (op < 0.66) chars.splice(at, 0, c);
      else chars[at] = c;
    }
    const text = chars.join("");
    try {
      const cursor = Cursor.parse(text);
      // What parses serializes to something that parses to the same.
      assert.equal(
        Cursor.parse(cursor.toString()).toString(),
        cursor.toString(),
      );
      parsed++;
    } catch (error) {
      if (!(error instanceof CursorError)) {
        throw new Error(`Cursor.parse(${JSON.stringify(text)}) threw ${error}`);
      }
      refused++;
    }
  }
  assert.ok(
    parsed > 100 && refused > 100,
    `${parsed} parsed, ${refused} refused`,
  );
});

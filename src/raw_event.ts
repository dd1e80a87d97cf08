/**
 * Reading an event's raw JSON text without parsing all of it: the `meta`
 * object alone, and tests for a value's presence. They let a filter reject an
 * event before the full `JSON.parse` while the cursor still moves past it
 * exactly.
 *
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** How far the scan from the start looks for `meta` before trying the end. */
const EARLY_SCAN_CHARS = 512;
const NOT_FOUND = -1;
const MALFORMED = -2;

/**
 * Parses the top-level `meta` object of an event's JSON text, skipping the
 * rest. The server writes `meta` early in some streams (second, after
 * `$schema`, in recentchange) and last in others (page_change): a scan of
 * the first characters looks for the `"meta"` key at depth 1; failing that,
 * the last `"meta":` is tried as the top-level object's last member; failing
 * that, the whole text is scanned. Only `meta` is parsed (`JSON.parse` of
 * its object alone). A text with two top-level `meta` keys (which no server
 * writes) may give either.
 *
 * @param text An event's JSON text (a frame's `data`).
 * @returns The parsed `meta` value, or `undefined` when the text has no
 * top-level `meta` object or is not well-formed there (parse it in full).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMeta } from "./raw_event.ts";
 *
 * const text = '{"$schema":"/x","title":"a \\"meta\\": {}","meta":{"topic":"eqiad.x","partition":0,"offset":7},"wiki":"enwiki"}';
 * assert.deepEqual(readMeta(text), { topic: "eqiad.x", partition: 0, offset: 7 });
 * assert.equal(readMeta('{"inner":{"meta":{}}}'), undefined);
 * // Last, with a nested object (page_change's meta.key):
 * assert.deepEqual(readMeta('{"a":1,"meta":{"offset":3,"key":{"id":1}}}'), { offset: 3, key: { id: 1 } });
 * ```
 */
export function readMeta(text: string): unknown {
  let start = findTopLevelMeta(text, EARLY_SCAN_CHARS);
  if (start === NOT_FOUND) {
    const last = readLastMeta(text);
    if (last !== undefined) return last;
    start = findTopLevelMeta(text, text.length);
  }
  return start < 0 ? undefined : parseObjectAt(text, start);
}

/**
 * The index of the `{` opening the value of the `"meta"` key at depth 1,
 * when the key starts before `limit`; `NOT_FOUND`, or `MALFORMED` when the
 * text is not well-formed up to there.
 */
function findTopLevelMeta(text: string, limit: number): number {
  const n = Math.min(text.length, limit);
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) return MALFORMED;
      if (depth === 1 && end - i === 5 && text.startsWith('"meta"', i)) {
        let j = skipSpace(text, end + 1);
        if (text.charCodeAt(j) !== 0x3a) return MALFORMED; // ":"
        j = skipSpace(text, j + 1);
        return text.charCodeAt(j) === OPEN_BRACE ? j : MALFORMED;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return NOT_FOUND;
}

/** Parses the object opening at `start`: tried first up to its first `}` (all of a flat object). */
function parseObjectAt(text: string, start: number): unknown {
  // The slice is a prefix of the text from `start`, so it parses as the
  // same tokens: it is valid JSON only when that "}" closes the object.
  const first = text.indexOf("}", start);
  if (first < 0) return undefined;
  try {
    return JSON.parse(text.slice(start, first + 1));
  } catch {
    // A "}" inside a string or a nested value: find the real end.
  }
  const close = valueEnd(text, start);
  if (close < 0) return undefined;
  try {
    return JSON.parse(text.slice(start, close + 1));
  } catch {
    return undefined;
  }
}

/**
 * `meta` as the top-level object's last member: the text ends with
 * `"meta":<object>}`. In well-formed JSON that object closes right before
 * the text's last brace, so the member belongs to the outermost object
 * (a `"meta":` inside a string has its quotes escaped; one preceded by a
 * backslash is the end of a longer key, and is left to the full scan).
 */
function readLastMeta(text: string): unknown {
  const object = lastMetaObject(text);
  if (object === undefined) return undefined;
  try {
    const meta: unknown = JSON.parse(text.slice(object.open, object.close + 1));
    return meta !== null && typeof meta === "object" ? meta : undefined;
  } catch {
    return undefined; // Not the last member after all.
  }
}

/** Where the object would be if `meta` were the top-level object's last member (see readLastMeta). */
function lastMetaObject(
  text: string,
): { open: number; close: number } | undefined {
  const end = text.length - 1;
  if (text.charCodeAt(end) !== CLOSE_BRACE) return undefined;
  const key = text.lastIndexOf('"meta":');
  if (key <= 0 || text.charCodeAt(key - 1) === BACKSLASH) return undefined;
  const open = skipSpace(text, key + 7);
  if (text.charCodeAt(open) !== OPEN_BRACE) return undefined;
  let close = end - 1;
  while (close > open && isSpace(text.charCodeAt(close))) close--;
  if (text.charCodeAt(close) !== CLOSE_BRACE) return undefined;
  return { open, close };
}

/**
 * Reads where an event sits without parsing all of its `meta`: the members
 * of the top-level `meta` object from its `"topic"` key to its end, parsed
 * alone. The server adds `topic`, `partition` and `offset` to `meta` in this
 * order (PROTOCOL.md): they end recentchange's `meta` and come before `key`
 * in page_change's, so this is what a cursor needs, at a fraction of the cost
 * of {@linkcode readMeta} (the strings before `topic`, such as `uri`, are
 * not parsed). Sound for any text: the members parsed are `meta`'s own only
 * when no brace lies between `meta`'s opening one and the `"topic"` key and
 * the members parse as JSON up to `meta`'s closing brace; otherwise the
 * result is `undefined`.
 *
 * @param text An event's JSON text (a frame's `data`).
 * @returns The members of `meta` from `topic` on (`{topic, partition,
 * offset, ...}`), or `undefined` when they cannot be told apart so (use
 * {@linkcode readMeta}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPosition } from "./raw_event.ts";
 *
 * const text = '{"meta":{"uri":"https://x/}","topic":"eqiad.x","partition":0,"offset":7},"wiki":"enwiki"}';
 * assert.equal(readPosition(text), undefined); // A brace before "topic": use readMeta.
 * const flat = '{"meta":{"id":"a","topic":"eqiad.x","partition":0,"offset":7},"wiki":"enwiki"}';
 * assert.deepEqual(readPosition(flat), { topic: "eqiad.x", partition: 0, offset: 7 });
 * ```
 */
export function readPosition(text: string): object | undefined {
  let open = findTopLevelMeta(text, EARLY_SCAN_CHARS);
  let close: number;
  if (open >= 0) {
    // The first closing brace: meta's own when no brace comes before "topic".
    close = text.indexOf("}", open);
  } else {
    const object = open === NOT_FOUND ? lastMetaObject(text) : undefined;
    if (object === undefined) return undefined;
    open = object.open;
    close = object.close;
  }
  const key = text.lastIndexOf('"topic":', close);
  if (key <= open || text.charCodeAt(key - 1) === BACKSLASH) return undefined;
  // A brace between: "topic" may belong to a nested object (or be in a string).
  const brace = text.indexOf("{", open + 1);
  if (brace >= 0 && brace < key) return undefined;
  if (text.indexOf("}", open + 1) < key) return undefined;
  const compact = compactPosition(text, key, close);
  if (compact !== undefined) return compact;
  try {
    // "{" and members that parse up to meta's closing brace: meta's own last members.
    return JSON.parse("{" + text.slice(key, close + 1));
  } catch {
    return undefined;
  }
}

/** The topic read last by compactPosition: consecutive events share it. */
let lastTopic = "";

/**
 * `"topic":"<topic>","partition":<digits>,"offset":<digits>` ending at
 * `close`, as the server writes the end of recentchange's `meta` (no space,
 * no escape, integers as JSON writes them): read without `JSON.parse` and,
 * while the topic repeats, without a new string. `undefined` for any other
 * spelling (`JSON.parse` decides then).
 */
function compactPosition(
  text: string,
  key: number,
  close: number,
): { topic: string; partition: number; offset: number } | undefined {
  const start = key + 9; // After `"topic":"`.
  if (text.charCodeAt(start - 1) !== QUOTE) return undefined;
  let end = start + lastTopic.length;
  let topic = lastTopic;
  if (!(text.charCodeAt(end) === QUOTE && text.startsWith(topic, start))) {
    end = text.indexOf('"', start);
    if (end < 0 || end > close) return undefined;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH || c < 0x20) return undefined;
    }
    topic = lastTopic = text.slice(start, end);
  }
  if (!text.startsWith(',"partition":', end + 1)) return undefined;
  const partitionEnd = integerEnd(text, end + 14);
  if (partitionEnd < 0 || !text.startsWith(',"offset":', partitionEnd)) {
    return undefined;
  }
  const offsetEnd = integerEnd(text, partitionEnd + 10);
  if (offsetEnd !== close) return undefined;
  return {
    topic,
    partition: integerValue(text, end + 14, partitionEnd),
    offset: integerValue(text, partitionEnd + 10, offsetEnd),
  };
}

/** The end of the JSON integer (digits, no leading zero) at `start`, or -1. */
function integerEnd(text: string, start: number): number {
  let i = start;
  let c = text.charCodeAt(i);
  if (c === 0x30) return start + 1;
  while (c >= 0x30 && c <= 0x39) c = text.charCodeAt(++i);
  return i === start ? -1 : i;
}

/** The value of the digits `text[start..end)` (beyond 2^53 not exact: not a safe integer either way). */
function integerValue(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    value = value * 10 + text.charCodeAt(i) - 0x30;
  }
  return value;
}

/**
 * A test on raw event text that says whether any JSON string in it may
 * equal one of `values` (ASCII case-insensitive): `false` only when none
 * can. Each character may be written as itself or as a `\u` escape (and
 * `/` as `\/`), as JSON allows, so an escaped spelling is found too.
 *
 * @param values The string values looked for.
 * @param suffix Match values ending the string (`.wikipedia.org`) instead
 * of whole strings.
 * @returns The test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mayHaveString } from "./raw_event.ts";
 *
 * const enwiki = mayHaveString(["enwiki"]);
 * assert.equal(enwiki('{"wiki":"enwiki"}'), true);
 * assert.equal(enwiki('{"wiki":"en\\u0077iki"}'), true);
 * assert.equal(enwiki('{"wiki":"dewiki","title":"enwiki history \\u00e9"}'), false);
 * assert.equal(mayHaveString([".wikipedia.org"], true)('{"domain":"de.wikipedia.org"}'), true);
 * ```
 */
export function mayHaveString(
  values: readonly string[],
  suffix = false,
): (text: string) => boolean {
  const patterns = values.map((value) => {
    let pattern = suffix ? "" : '"';
    for (let i = 0; i < value.length; i++) {
      pattern += spellings(value.charCodeAt(i));
    }
    return pattern + '"';
  });
  const regexp = new RegExp(patterns.join("|"), "i");
  return (text) => regexp.test(text);
}

/**
 * The ways a JSON string may write one UTF-16 code unit, as a pattern:
 * itself, as `JSON.stringify` writes it alone (`\"`, `\n`, a lone surrogate
 * escaped), as a `\u` escape of it or of its other case (the `i` flag folds
 * the letter itself and the hex digits), and `/` as `\/`.
 */
function spellings(unit: number): string {
  const char = String.fromCharCode(unit);
  const ways = new Set([
    escapeRegExp(char),
    escapeRegExp(JSON.stringify(char).slice(1, -1)),
  ]);
  for (const variant of [char, char.toLowerCase(), char.toUpperCase()]) {
    if (variant.length !== 1) continue;
    ways.add(`\\\\u${variant.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (char === "/") ways.add("\\\\\\/");
  return `(?:${[...ways].join("|")})`;
}

/**
 * A test on raw event text that says whether a JSON number or literal in it
 * may be one of `values` (`0`, `14`, `true`): `false` only when none can.
 * (Numbers and literals have no escapes: they are written as
 * `JSON.stringify` writes them, as servers do.)
 *
 * @param values The numbers or booleans looked for.
 * @returns The test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mayHaveLiteral } from "./raw_event.ts";
 *
 * const talk = mayHaveLiteral([1]);
 * assert.equal(talk('{"namespace":1,"offset":10}'), true);
 * assert.equal(talk('{"namespace":0,"offset":10}'), false);
 * ```
 */
export function mayHaveLiteral(
  values: readonly (number | boolean)[],
): (text: string) => boolean {
  const tokens = values.map((value) => escapeRegExp(JSON.stringify(value)));
  const regexp = new RegExp(`(?<![\\w.+-])(?:${tokens.join("|")})(?![\\w.])`);
  return (text) => regexp.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The index of the quote that closes the string opening at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let i = start;
  while (true) {
    i = text.indexOf('"', i + 1);
    if (i < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
}

/** The index of the brace closing the object opening at `start`, or -1. */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
      return i;
    }
  }
  return -1;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * An event's JSON on one line: `text`, its JSON text as the server sent it
 * (the stream's `eventText`: no second serialization, integers beyond 2^53
 * intact), when that is one line; else `JSON.stringify(event)` (data sent on
 * several `data:` lines holds line feeds).
 *
 * @param event The event.
 * @param text Its JSON text, when known.
 * @returns The JSON text, without a line break.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { oneLineJson } from "./raw_event.ts";
 *
 * assert.equal(oneLineJson({ n: 1 }, '{"n": 1}'), '{"n": 1}');
 * assert.equal(oneLineJson({ n: 1 }, '{\n"n": 1}'), '{"n":1}');
 * assert.equal(oneLineJson({ n: 1 }), '{"n":1}');
 * ```
 */
export function oneLineJson(event: unknown, text?: string): string {
  // An SSE frame's data can hold LF only (CR ends a line in the SSE syntax).
  return text !== undefined && text !== "" && !text.includes("\n")
    ? text
    : JSON.stringify(event);
}

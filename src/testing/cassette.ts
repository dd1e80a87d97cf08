/**
 * Cassette format v1: one recorded EventStreams session, as JSON Lines.
 *
 * A cassette holds every connection of a session in order. Each connection
 * has its request (method, URL, headers with secrets removed), its response
 * (status, headers), its body chunks byte-exact and with their original
 * boundaries and time offsets, and how the body ended.
 *
 * ```text
 * {"format":1,"recordedAt":"2026-09-27T16:17:00.000Z","tool":"eventstreams record","note":"..."}
 * {"type":"request","conn":0,"startedAt":0,"method":"GET","url":"https://stream.wikimedia.org/v2/stream/test","headers":{"accept":"text/event-stream","user-agent":"bot/1.0 (me@example.org)"}}
 * {"type":"response","conn":0,"at":84,"status":200,"statusText":"OK","headers":{"content-type":"text/event-stream; charset=utf-8"}}
 * {"type":"chunk","conn":0,"at":85,"text":":ok\n\n"}
 * {"type":"chunk","conn":0,"at":61020,"base64":"ZGF0YTogeyJ0aXRsZSI6ImNhZsM="}
 * {"type":"chunk","conn":0,"at":61020,"base64":"qSJ9Cg=="}
 * {"type":"end","conn":0,"at":900012,"reason":"eof"}
 * ```
 *
 * - Line 1 is the header: `format` (the number 1), `recordedAt` (ISO-8601
 *   time of the first request), `tool` (what wrote the file) and an optional
 *   `note` (free text: provenance, what was normalised).
 * - Every other line is one event of one connection: `type` is `request`,
 *   `response`, `chunk` or `end`; `conn` is the connection's index (0, 1, 2,
 *   ... in the order the requests were made).
 * - Times: a request's `startedAt` is milliseconds since the session started
 *   (the first request has 0). Every other event's `at` is milliseconds since
 *   its connection's request was made, so replay timing does not depend on
 *   how long the client waited (backoff jitter) between connections. Times
 *   never go backwards within a connection.
 * - A chunk is `text` when its bytes are valid UTF-8 on their own (a BOM is
 *   kept as U+FEFF), else `base64` (a chunk boundary can split a multi-byte
 *   character; the bytes are what matters).
 * - `end.reason` is `eof` (the server closed the body), `error` (the body
 *   or the fetch itself failed; `message` says how) or `aborted` (the client
 *   went away: it cancelled the body or aborted the request). A connection
 *   without an `end` line was still open when the recording stopped.
 * - A connection whose fetch failed has no `response` line, only `end`.
 * - Header names are lower case; secret headers (see
 *   {@linkcode isSecretHeader}) are never written, nor are URL credentials
 *   and secret query values (see {@linkcode stripUrlSecrets}).
 * - The writer puts each connection's lines together (request, response,
 *   chunks, end); the reader also accepts the lines of several connections
 *   interleaved, as long as each connection's own lines are in order.
 * - Every line is validated on read; a problem throws a
 *   {@linkcode CassetteError} naming the line. An unknown `format` is refused.
 * - Byte-exactness survives Git line-ending conversion: a chunk's CR and LF
 *   are escaped inside its JSON string.
 *
 * @module
 */

import type { HeadersLike } from "../types.ts";

/**
 * The cassette format version this module reads and writes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CASSETTE_FORMAT } from "@eventstreams/client/testing";
 * assert.ok(CASSETTE_FORMAT === 1);
 * ```
 */
export const CASSETTE_FORMAT = 1;

/**
 * HTTP headers as recorded: lower-case names, values as `Headers` joins them.
 *
 * @example
 * ```ts no-assert
 * import type { CassetteHeaders } from "@eventstreams/client/testing";
 * const headers: CassetteHeaders = { accept: "text/event-stream", "last-event-id": "[]" };
 * ```
 */
export type CassetteHeaders = Record<string, string>;

/**
 * The request that opened a connection.
 *
 * @example
 * ```ts no-assert
 * import type { CassetteRequest } from "@eventstreams/client/testing";
 * const request: CassetteRequest = {
 *   startedAt: 0,
 *   method: "GET",
 *   url: "https://stream.wikimedia.org/v2/stream/recentchange",
 *   headers: { accept: "text/event-stream" },
 * };
 * ```
 */
export interface CassetteRequest {
  /** Milliseconds since the session started (the first request has 0). */
  startedAt: number;
  /** The HTTP method, e.g. `"GET"`. */
  method: string;
  /** The absolute URL requested, without credentials or secret query values. */
  url: string;
  /** The request headers, secrets removed. */
  headers: CassetteHeaders;
}

/**
 * The response head of a connection.
 *
 * @example
 * ```ts no-assert
 * import type { CassetteResponse } from "@eventstreams/client/testing";
 * const response: CassetteResponse = { at: 84, status: 200, statusText: "OK", headers: { "content-type": "text/event-stream" } };
 * ```
 */
export interface CassetteResponse {
  /** Milliseconds since the connection's request was made. */
  at: number;
  /** The HTTP status, 200 to 599. */
  status: number;
  /** The HTTP status text (often `""` over HTTP/2). */
  statusText: string;
  /** The response headers, secrets (`set-cookie`) removed. */
  headers: CassetteHeaders;
}

/**
 * One body chunk, exactly as the reader received it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CassetteChunk } from "@eventstreams/client/testing";
 * const chunk: CassetteChunk = { at: 85, bytes: new TextEncoder().encode(":ok\n\n") };
 * assert.ok(chunk.bytes.length === 5);
 * ```
 */
export interface CassetteChunk {
  /** Milliseconds since the connection's request was made. */
  at: number;
  /** The chunk's bytes. */
  bytes: Uint8Array;
}

/**
 * How a connection ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CassetteEnd } from "@eventstreams/client/testing";
 * const ends: CassetteEnd[] = [
 *   { at: 900_000, reason: "eof" },
 *   { at: 1_200, reason: "error", message: "error reading a body from connection" },
 *   { at: 60_000, reason: "aborted" },
 * ];
 * assert.ok(ends.length === 3);
 * ```
 */
export type CassetteEnd =
  | {
    /** Milliseconds since the connection's request was made. */
    at: number;
    /** The server closed the body normally. */
    reason: "eof";
  }
  | {
    /** Milliseconds since the connection's request was made. */
    at: number;
    /** The fetch or the body failed (network error, reset). */
    reason: "error";
    /** The error's message. */
    message: string;
  }
  | {
    /** Milliseconds since the connection's request was made. */
    at: number;
    /** The client went away: it cancelled the body or aborted the request. */
    reason: "aborted";
  };

/**
 * One connection: a request and what came back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CassetteConnection } from "@eventstreams/client/testing";
 * const refused: CassetteConnection = {
 *   request: { startedAt: 0, method: "GET", url: "https://stream.wikimedia.org/v2/stream/test", headers: {} },
 *   chunks: [],
 *   end: { at: 2, reason: "error", message: "Connection refused" },
 * };
 * assert.ok(refused.response === undefined);
 * ```
 */
export interface CassetteConnection {
  /** The request. */
  request: CassetteRequest;
  /** The response head; absent when the fetch failed or was aborted first. */
  response?: CassetteResponse;
  /** The body chunks in order. */
  chunks: CassetteChunk[];
  /** How the connection ended; absent when it was still open at the end of the recording. */
  end?: CassetteEnd;
}

/**
 * One recorded session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Cassette } from "@eventstreams/client/testing";
 * const empty: Cassette = { format: 1, recordedAt: "2026-09-27T16:17:00.000Z", tool: "example", connections: [] };
 * assert.ok(empty.connections.length === 0);
 * ```
 */
export interface Cassette {
  /** The format version, always {@linkcode CASSETTE_FORMAT}. */
  format: 1;
  /** When the session was recorded (ISO-8601). */
  recordedAt: string;
  /** What wrote the cassette, e.g. `"eventstreams record"`. */
  tool: string;
  /** Free text: provenance, what was normalised. */
  note?: string;
  /** The connections, in the order their requests were made. */
  connections: CassetteConnection[];
}

/**
 * Options for {@linkcode parseCassette}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ParseCassetteOptions } from "@eventstreams/client/testing";
 * const options: ParseCassetteOptions = { source: "fixtures/recentchange.cassette.jsonl" };
 * assert.ok(options.source?.endsWith(".jsonl"));
 * ```
 */
export interface ParseCassetteOptions {
  /**
   * Where the text came from (a file name), quoted in error messages.
   *
   * @default {undefined}
   */
  source?: string;
}

/**
 * A cassette cannot be read: its text is not valid format-1 JSON Lines, or
 * its file is missing. The message names the line and the problem.
 *
 * @example Catching a cassette error
 * ```ts
 * import assert from "node:assert/strict";
 * import { CassetteError, parseCassette } from "@eventstreams/client/testing";
 * assert.throws(
 *   () => parseCassette('{"format":2}', { source: "x.jsonl" }),
 *   (error) => error instanceof CassetteError && error.line === 1 && error.source === "x.jsonl",
 * );
 * ```
 */
export class CassetteError extends Error {
  /** The 1-based line the problem is on, when there is one. */
  readonly line: number | undefined;
  /** The cassette's source (file name), when known. */
  readonly source: string | undefined;

  /**
   * Creates a CassetteError.
   *
   * @param message What is wrong and what to do.
   * @param details The line number and source the message refers to, and a `cause`.
   */
  constructor(
    message: string,
    details: { line?: number; source?: string; cause?: unknown } = {},
  ) {
    super(
      message,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = "CassetteError";
    this.line = details.line;
    this.source = details.source;
  }
}

const SECRET_HEADER_NAMES = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "set-cookie2",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-csrf-token",
  "x-xsrf-token",
]);
const SECRET_HEADER_PATTERN =
  /api[-_]?key|token|secret|password|passwd|session|credential|signature/i;

/**
 * Tells whether a header (or a URL query parameter, see
 * {@linkcode stripUrlSecrets}) carries a secret that a cassette must never
 * store: `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`,
 * `X-Api-Key`, and any name containing `api-key`, `token`, `secret`,
 * `password`, `session`, `credential` or `signature` (case-insensitive).
 *
 * @param name A header or query parameter name.
 * @returns True when the value must be stripped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSecretHeader } from "@eventstreams/client/testing";
 * assert.ok(isSecretHeader("Authorization"));
 * assert.ok(isSecretHeader("X-Wiki-Api-Key"));
 * assert.ok(isSecretHeader("access_token"));
 * assert.ok(!isSecretHeader("Last-Event-ID"));
 * ```
 */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADER_NAMES.has(lower) || SECRET_HEADER_PATTERN.test(lower);
}

/** What {@linkcode stripUrlSecrets} writes in place of a secret query value. */
const REDACTED = "REDACTED";

/**
 * Removes the secrets a URL can carry before it is written to a cassette:
 * `user:password@` is dropped, and the value of every query parameter whose
 * name `isSecret` flags (`access_token`, `api_key`, `sessionid`, ...) becomes
 * `REDACTED`. Everything else stays byte for byte, and a URL without secrets
 * is returned unchanged. Replay applies the same function to the request it
 * receives before comparing, so a client that sends a token still matches
 * its redacted recording.
 *
 * @param url An absolute URL.
 * @param isSecret Which query parameter names hold secrets.
 * @returns The URL without credentials and secret query values.
 * @throws {TypeError} When `url` is not an absolute URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripUrlSecrets } from "@eventstreams/client/testing";
 * assert.equal(
 *   stripUrlSecrets("https://me:pw@proxy.example/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=abc"),
 *   "https://proxy.example/v2/stream/test?since=2026-09-27T16:00:00Z&access_token=REDACTED",
 * );
 * ```
 */
export function stripUrlSecrets(
  url: string,
  isSecret: (name: string) => boolean = isSecretHeader,
): string {
  const parsed = new URL(url);
  let changed = parsed.username !== "" || parsed.password !== "";
  parsed.username = "";
  parsed.password = "";
  const query = parsed.search.slice(1).split("&").map((part) => {
    const equals = part.indexOf("=");
    if (equals === -1 || part.slice(equals + 1) === REDACTED) return part;
    if (!isSecret(decodeQueryName(part.slice(0, equals)))) return part;
    changed = true;
    return `${part.slice(0, equals)}=${REDACTED}`;
  });
  if (!changed) return url;
  // The parts come from `search`, already encoded: setting it back keeps them as they are.
  if (parsed.search !== "") parsed.search = `?${query.join("&")}`;
  return parsed.href;
}

function decodeQueryName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll("+", " "));
  } catch {
    return name;
  }
}

/**
 * Copies headers into a plain object with lower-case names sorted
 * alphabetically, leaving out every header `isSecret` flags.
 *
 * @param headers Headers in any form `new Headers()` accepts.
 * @param isSecret Which names to drop.
 * @returns The recorded form of the headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stripSecretHeaders } from "@eventstreams/client/testing";
 * const headers = stripSecretHeaders({ Authorization: "Bearer x", Accept: "text/event-stream" });
 * assert.ok(JSON.stringify(headers) === '{"accept":"text/event-stream"}');
 * ```
 */
export function stripSecretHeaders(
  headers: HeadersLike,
  isSecret: (name: string) => boolean = isSecretHeader,
): CassetteHeaders {
  const result: CassetteHeaders = {};
  // Headers iterate lower-cased and sorted (per Fetch spec); only set-cookie repeats.
  for (const [name, value] of new Headers(headers)) {
    if (isSecret(name)) continue;
    result[name] = name in result ? `${result[name]}, ${value}` : value;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Serialize

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Writes a cassette as format-1 JSON Lines (a trailing newline included).
 * Secret headers and URL secrets ({@linkcode stripUrlSecrets}) are dropped
 * even if the cassette holds them, and chunks
 * that are not valid UTF-8 on their own are written as `base64`.
 *
 * @param cassette The session to write.
 * @returns The cassette text.
 * @throws {TypeError} When the cassette's format is not 1.
 *
 * @example Round trip
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCassette, serializeCassette, type Cassette } from "@eventstreams/client/testing";
 * const cassette: Cassette = {
 *   format: 1,
 *   recordedAt: "2026-09-27T16:17:00.000Z",
 *   tool: "example",
 *   connections: [{
 *     request: { startedAt: 0, method: "GET", url: "https://stream.wikimedia.org/v2/stream/test", headers: {} },
 *     response: { at: 5, status: 200, statusText: "OK", headers: { "content-type": "text/event-stream" } },
 *     chunks: [{ at: 6, bytes: new TextEncoder().encode(":ok\n\n") }, { at: 7, bytes: new Uint8Array([0xc3]) }],
 *     end: { at: 9, reason: "eof" },
 *   }],
 * };
 * const text = serializeCassette(cassette);
 * assert.ok(text.includes('"base64":"ww=="'));
 * assert.ok(parseCassette(text).connections[0].chunks[1].bytes[0] === 0xc3);
 * ```
 */
export function serializeCassette(cassette: Cassette): string {
  if (cassette.format !== CASSETTE_FORMAT) {
    throw new TypeError(
      `Cannot serialize cassette: format must be ${CASSETTE_FORMAT}, got ${
        JSON.stringify(cassette.format)
      }`,
    );
  }
  const lines: string[] = [];
  const header: Record<string, unknown> = {
    format: CASSETTE_FORMAT,
    recordedAt: cassette.recordedAt,
    tool: cassette.tool,
  };
  if (cassette.note !== undefined) header.note = cassette.note;
  lines.push(JSON.stringify(header));
  cassette.connections.forEach((connection, conn) => {
    const { request, response, chunks, end } = connection;
    lines.push(JSON.stringify({
      type: "request",
      conn,
      startedAt: request.startedAt,
      method: request.method,
      url: stripUrlSecrets(request.url),
      headers: stripSecretHeaders(request.headers),
    }));
    if (response) {
      lines.push(JSON.stringify({
        type: "response",
        conn,
        at: response.at,
        status: response.status,
        statusText: response.statusText,
        headers: stripSecretHeaders(response.headers),
      }));
    }
    for (const chunk of chunks) {
      const text = decodeStrictUtf8(chunk.bytes);
      lines.push(
        text === undefined
          ? JSON.stringify({
            type: "chunk",
            conn,
            at: chunk.at,
            base64: encodeBase64(chunk.bytes),
          })
          : JSON.stringify({ type: "chunk", conn, at: chunk.at, text }),
      );
    }
    if (end) {
      lines.push(
        end.reason === "error"
          ? JSON.stringify({
            type: "end",
            conn,
            at: end.at,
            reason: end.reason,
            message: end.message,
          })
          : JSON.stringify({
            type: "end",
            conn,
            at: end.at,
            reason: end.reason,
          }),
      );
    }
  });
  return lines.join("\n") + "\n";
}

/** The chunk as a string when it is valid UTF-8 on its own, else undefined. */
function decodeStrictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Standard base64 with padding (btoa over 32 KiB slices: no huge argument lists). */
function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// ---------------------------------------------------------------------------
// Parse

const LINE_FIELDS: Record<string, readonly string[]> = {
  request: ["type", "conn", "startedAt", "method", "url", "headers"],
  response: ["type", "conn", "at", "status", "statusText", "headers"],
  chunk: ["type", "conn", "at", "text", "base64"],
  end: ["type", "conn", "at", "reason", "message"],
};
const HEADER_FIELDS = ["format", "recordedAt", "tool", "note"];
const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RE_RECORD = "fix the line or re-record the cassette";

/**
 * Reads format-1 JSON Lines into a {@linkcode Cassette}, validating every
 * line. Blank lines are ignored; CRLF line ends are accepted.
 *
 * @param text The cassette text.
 * @param options Where the text came from, for error messages.
 * @returns The cassette. `parseCassette(serializeCassette(c))` deep-equals `c`.
 * @throws {CassetteError} Naming the line and the problem, e.g.
 *   `Cannot read cassette fixtures/x.jsonl line 7: "at" must be a non-negative number, got "soon"`.
 *
 * @example Reading a minimal cassette
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCassette } from "@eventstreams/client/testing";
 * const cassette = parseCassette([
 *   '{"format":1,"recordedAt":"2026-09-27T16:17:00.000Z","tool":"example"}',
 *   '{"type":"request","conn":0,"startedAt":0,"method":"GET","url":"https://stream.wikimedia.org/v2/stream/test","headers":{}}',
 *   '{"type":"response","conn":0,"at":3,"status":200,"statusText":"OK","headers":{}}',
 *   '{"type":"chunk","conn":0,"at":4,"text":":ok\\n\\n"}',
 *   '{"type":"end","conn":0,"at":9,"reason":"eof"}',
 * ].join("\n"));
 * assert.ok(cassette.connections[0].chunks.length === 1);
 * ```
 */
export function parseCassette(
  text: string,
  options: ParseCassetteOptions = {},
): Cassette {
  const source = options.source;
  const where = (line: number) =>
    `Cannot read cassette${
      source === undefined ? "" : ` ${source}`
    } line ${line}`;
  const fail: Fail = (line, problem, cause) => {
    throw new CassetteError(`${where(line)}: ${problem}`, {
      line,
      source,
      cause,
    });
  };

  const rawLines = text.split("\n");
  let cassette: Cassette | undefined;
  const connections: CassetteConnection[] = [];
  const lastAt: number[] = [];
  let lastStartedAt = 0;

  for (let index = 0; index < rawLines.length; index++) {
    const lineNo = index + 1;
    const raw = rawLines[index];
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      fail(
        lineNo,
        `invalid JSON (${
          (error as Error).message
        }); each line must be one JSON object, ${RE_RECORD}`,
        error,
      );
    }
    if (!isPlainObject(value)) {
      fail(lineNo, `each line must be a JSON object, got ${show(value)}`);
    }
    const line = value as Record<string, unknown>;

    if (cassette === undefined) {
      cassette = parseHeader(line, lineNo, fail);
      continue;
    }

    const type = line.type;
    if (typeof type !== "string" || !Object.hasOwn(LINE_FIELDS, type)) {
      fail(
        lineNo,
        `"type" must be one of "request", "response", "chunk", "end", got ${
          show(type)
        }`,
      );
    }
    checkFields(
      line,
      LINE_FIELDS[type as string],
      `a ${type} line`,
      lineNo,
      fail,
    );
    const conn = line.conn;
    if (typeof conn !== "number" || !Number.isInteger(conn) || conn < 0) {
      fail(lineNo, `"conn" must be a non-negative integer, got ${show(conn)}`);
    }
    const n = conn as number;

    if (type === "request") {
      if (n !== connections.length) {
        fail(
          lineNo,
          `connections must be numbered in the order of their requests: expected "conn" ${connections.length}, got ${n}`,
        );
      }
      const startedAt = nonNegative(line, "startedAt", lineNo, fail);
      if (startedAt < lastStartedAt) {
        fail(
          lineNo,
          `"startedAt" must not go back in time: ${startedAt} after ${lastStartedAt}`,
        );
      }
      lastStartedAt = startedAt;
      const method = line.method;
      if (typeof method !== "string" || method === "") {
        fail(
          lineNo,
          `"method" must be a non-empty string, got ${show(method)}`,
        );
      }
      const url = line.url;
      if (typeof url !== "string" || !URL.canParse(url)) {
        fail(lineNo, `"url" must be an absolute URL string, got ${show(url)}`);
      }
      connections.push({
        request: {
          startedAt,
          method: method as string,
          url: url as string,
          headers: headersField(line, lineNo, fail),
        },
        chunks: [],
      });
      lastAt.push(0);
      continue;
    }

    const connection = connections[n];
    if (connection === undefined) {
      fail(lineNo, `"conn" ${n} has no request line before this ${type} line`);
    }
    if (connection.end) {
      fail(
        lineNo,
        `a ${type} line of conn ${n} after its end line (line order matters)`,
      );
    }
    const at = nonNegative(line, "at", lineNo, fail);
    if (at < lastAt[n]) {
      fail(
        lineNo,
        `"at" must not go back in time within conn ${n}: ${at} after ${
          lastAt[n]
        }`,
      );
    }
    lastAt[n] = at;

    if (type === "response") {
      if (connection.response) {
        fail(lineNo, `conn ${n} has a second response line`);
      }
      if (connection.chunks.length > 0) {
        fail(lineNo, `the response line of conn ${n} comes after its chunks`);
      }
      const status = line.status;
      if (
        typeof status !== "number" || !Number.isInteger(status) ||
        status < 200 || status > 599
      ) {
        fail(
          lineNo,
          `"status" must be an integer from 200 to 599, got ${show(status)}`,
        );
      }
      const statusText = line.statusText;
      if (typeof statusText !== "string") {
        fail(lineNo, `"statusText" must be a string, got ${show(statusText)}`);
      }
      connection.response = {
        at,
        status: status as number,
        statusText: statusText as string,
        headers: headersField(line, lineNo, fail),
      };
    } else if (type === "chunk") {
      if (!connection.response) {
        fail(lineNo, `a chunk of conn ${n} before its response line`);
      }
      const hasText = "text" in line;
      const hasBase64 = "base64" in line;
      if (hasText === hasBase64) {
        fail(
          lineNo,
          `a chunk line must have exactly one of "text" and "base64"`,
        );
      }
      let bytes: Uint8Array;
      if (hasText) {
        const chunkText = line.text;
        if (typeof chunkText !== "string" || !chunkText.isWellFormed()) {
          fail(
            lineNo,
            `"text" must be a well-formed string (use "base64" for other bytes), got ${
              show(chunkText)
            }`,
          );
        }
        bytes = encoder.encode(chunkText as string);
      } else {
        const b64 = line.base64;
        if (typeof b64 !== "string" || !BASE64.test(b64)) {
          fail(
            lineNo,
            `"base64" must be a padded standard base64 string, got ${
              show(b64)
            }`,
          );
        }
        bytes = decodeBase64(b64 as string);
      }
      connection.chunks.push({ at, bytes });
    } else {
      const reason = line.reason;
      if (reason === "error") {
        if (typeof line.message !== "string") {
          fail(
            lineNo,
            `an end line with reason "error" needs a "message" string, got ${
              show(line.message)
            }`,
          );
        }
        connection.end = { at, reason, message: line.message as string };
      } else if (reason === "eof" || reason === "aborted") {
        if ("message" in line) {
          fail(
            lineNo,
            `"message" is only allowed with reason "error", not ${
              show(reason)
            }`,
          );
        }
        if (reason === "eof" && !connection.response) {
          fail(lineNo, `conn ${n} ends with "eof" but has no response line`);
        }
        connection.end = { at, reason };
      } else {
        fail(
          lineNo,
          `"reason" must be one of "eof", "error", "aborted", got ${
            show(reason)
          }`,
        );
      }
    }
  }

  if (cassette === undefined) {
    throw new CassetteError(
      `Cannot read cassette${
        source === undefined ? "" : ` ${source}`
      }: it is empty; ` +
        `the first line must be a header like {"format":1,"recordedAt":"...","tool":"..."}`,
      { source },
    );
  }
  cassette.connections = connections;
  return cassette;
}

type Fail = (line: number, problem: string, cause?: unknown) => never;

function parseHeader(
  line: Record<string, unknown>,
  lineNo: number,
  fail: Fail,
): Cassette {
  if (!("format" in line)) {
    fail(
      lineNo,
      `the first line must be a header like {"format":1,"recordedAt":"...","tool":"..."}, got ${
        show(line)
      }`,
    );
  }
  if (line.format !== CASSETTE_FORMAT) {
    fail(
      lineNo,
      `unsupported cassette format ${
        show(line.format)
      }; this version of @eventstreams/client reads format ` +
        `${CASSETTE_FORMAT} only: upgrade the library or re-record the cassette`,
    );
  }
  checkFields(line, HEADER_FIELDS, "the header", lineNo, fail);
  const recordedAt = line.recordedAt;
  if (typeof recordedAt !== "string" || Number.isNaN(Date.parse(recordedAt))) {
    fail(
      lineNo,
      `"recordedAt" must be an ISO-8601 date string, got ${show(recordedAt)}`,
    );
  }
  if (typeof line.tool !== "string") {
    fail(lineNo, `"tool" must be a string, got ${show(line.tool)}`);
  }
  const cassette: Cassette = {
    format: CASSETTE_FORMAT,
    recordedAt: recordedAt as string,
    tool: line.tool as string,
    connections: [],
  };
  if ("note" in line) {
    if (typeof line.note !== "string") {
      fail(lineNo, `"note" must be a string, got ${show(line.note)}`);
    }
    cassette.note = line.note as string;
  }
  return cassette;
}

function checkFields(
  line: Record<string, unknown>,
  known: readonly string[],
  what: string,
  lineNo: number,
  fail: Fail,
): void {
  for (const key of Object.keys(line)) {
    if (!known.includes(key)) {
      fail(
        lineNo,
        `unknown field ${show(key)} in ${what}; known fields: ${
          known.join(", ")
        }`,
      );
    }
  }
}

function nonNegative(
  line: Record<string, unknown>,
  field: string,
  lineNo: number,
  fail: Fail,
): number {
  const value = line[field];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    fail(
      lineNo,
      `${show(field)} must be a non-negative number, got ${show(value)}`,
    );
  }
  return value as number;
}

function headersField(
  line: Record<string, unknown>,
  lineNo: number,
  fail: Fail,
): CassetteHeaders {
  const headers = line.headers;
  if (!isPlainObject(headers)) {
    fail(
      lineNo,
      `"headers" must be an object of strings, got ${show(headers)}`,
    );
  }
  const result: CassetteHeaders = {};
  for (
    const [name, value] of Object.entries(headers as Record<string, unknown>)
  ) {
    if (typeof value !== "string") {
      fail(
        lineNo,
        `header ${show(name)} must have a string value, got ${show(value)}`,
      );
    }
    if (name !== name.toLowerCase()) {
      fail(lineNo, `header names must be lower case, got ${show(name)}`);
    }
    let normalized: string | null = null;
    try {
      normalized = new Headers([[name, value as string]]).get(name);
    } catch (error) {
      fail(
        lineNo,
        `header ${show(name)} is not a valid HTTP header (${
          (error as Error).message
        })`,
        error,
      );
    }
    if (normalized !== value) {
      fail(
        lineNo,
        `header ${show(name)} must not start or end with whitespace, got ${
          show(value)
        }`,
      );
    }
    result[name] = value as string;
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A value quoted for an error message, cut to 80 characters. */
function show(value: unknown): string {
  const text = value === undefined ? "nothing" : JSON.stringify(value);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}

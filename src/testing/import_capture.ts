/**
 * {@linkcode importCurlCapture}: turns a raw `curl -N` capture of an
 * EventStreams response into a one-connection {@linkcode Cassette}.
 *
 * @module
 */

import {
  type Cassette,
  CASSETTE_FORMAT,
  type CassetteChunk,
  type CassetteHeaders,
  stripSecretHeaders,
  stripUrlSecrets,
} from "./cassette.ts";
import type { HeadersLike } from "../types.ts";

/**
 * Options for {@linkcode importCurlCapture}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ImportCurlCaptureOptions } from "@eventstreams/client/testing";
 * const options: ImportCurlCaptureOptions = {
 *   url: "https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1",
 *   recordedAt: "2026-09-27T16:17:00Z",
 * };
 * assert.ok(options.end === undefined); // "aborted"
 * ```
 */
export interface ImportCurlCaptureOptions {
  /** The URL that was captured, e.g. `https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1` (credentials and secret query values are stripped). */
  url: string;
  /**
   * When the capture was made (ISO-8601).
   *
   * @default {the first ISO-8601 time in the capturer's header comments, else the `date` response header}
   */
  recordedAt?: string;
  /**
   * The request headers that were sent (secrets are stripped). curl's own are
   * not in the capture.
   *
   * @default {{}}
   */
  requestHeaders?: HeadersLike;
  /**
   * How the connection ended. A capture is normally cut by the capturer
   * (`aborted`: the client went away); `eof` when the server closed it.
   *
   * @default {"aborted"}
   */
  end?: "aborted" | "eof";
  /**
   * The cassette header's `tool`.
   *
   * @default {"@eventstreams/client importCurlCapture"}
   */
  tool?: string;
}

const decoder = new TextDecoder();
const ISO_TIME =
  /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/;

/**
 * Turns a raw `curl -N` capture (optionally `curl -N -i`) into a cassette
 * with one connection.
 *
 * - What the capturer put before the server's first line `:ok` is not the
 *   server's output: `:` comment lines written by the capturer are dropped
 *   and quoted in the cassette's `note`; an HTTP response head (`curl -i`)
 *   becomes the recorded status and headers. Without one, the response is
 *   `200` with `content-type: text/event-stream; charset=utf-8` and
 *   `cache-control: no-cache`, as the server sends (stated in the note).
 * - curl keeps neither chunk boundaries nor timing. The body, from `:ok` on,
 *   is cut into one chunk per line, line terminator included (LF, CRLF or
 *   CR), mirroring how the server writes each line separately; every time
 *   offset is 0. The chunks concatenate to the captured bytes exactly.
 * - The connection ends `aborted` by default: the capturer stopped reading.
 *
 * @param bytes The capture file's bytes.
 * @param options The captured URL and what the capture does not say.
 * @returns A one-connection cassette.
 * @throws {TypeError} When the URL is not absolute, no `:ok` line is found,
 *   a line before `:ok` is neither a comment nor an HTTP head, or no
 *   recording time is known.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { importCurlCapture } from "@eventstreams/client/testing";
 * const capture = new TextEncoder().encode(
 *   ": captured 2026-09-27T16:17Z\n:ok\n\nevent: message\nid: []\ndata: {}\n\n",
 * );
 * const cassette = importCurlCapture(capture, { url: "https://stream.wikimedia.org/v2/stream/test" });
 * const [connection] = cassette.connections;
 * assert.ok(connection.chunks.length === 6);
 * assert.ok(new TextDecoder().decode(connection.chunks[0].bytes) === ":ok\n");
 * assert.ok(cassette.recordedAt === "2026-09-27T16:17:00.000Z");
 * ```
 */
export function importCurlCapture(
  bytes: Uint8Array,
  options: ImportCurlCaptureOptions,
): Cassette {
  if (typeof options?.url !== "string" || !URL.canParse(options.url)) {
    throw new TypeError(
      `Cannot import capture: url must be an absolute URL, got ${
        JSON.stringify(options?.url)
      }`,
    );
  }
  const lines = splitLines(bytes);
  const okIndex = lines.findIndex(({ start, contentEnd }) =>
    contentEnd - start === 3 && bytes[start] === 0x3a &&
    bytes[start + 1] === 0x6f && bytes[start + 2] === 0x6b // ":ok"
  );
  if (okIndex === -1) {
    throw new TypeError(
      `Cannot import capture: no ":ok" line found; the server's output starts with ":ok", ` +
        `so pass the raw bytes of a curl -N capture of /v2/stream/...`,
    );
  }

  const comments: string[] = [];
  let status = 200;
  let statusText = "OK";
  let responseHeaders: CassetteHeaders | undefined;
  let inHead = false;
  const head = new Headers();
  for (let i = 0; i < okIndex; i++) {
    const text = decoder.decode(
      bytes.subarray(lines[i].start, lines[i].contentEnd),
    );
    const statusLine = /^HTTP\/[\d.]+ (\d{3})(?: (.*))?$/.exec(text);
    if (statusLine) {
      // curl -i (also after a redirect or `100 Continue`): the last head wins.
      inHead = true;
      status = Number(statusLine[1]);
      statusText = statusLine[2] ?? "";
      for (const name of [...head.keys()]) head.delete(name);
    } else if (inHead && text !== "") {
      const colon = text.indexOf(":");
      if (colon <= 0) {
        throw new TypeError(
          `Cannot import capture: line ${i + 1} is not an HTTP header, got ${
            JSON.stringify(text)
          }`,
        );
      }
      head.append(text.slice(0, colon).trim(), text.slice(colon + 1).trim());
    } else if (text === "") {
      inHead = false;
    } else if (text.startsWith(":")) {
      comments.push(text.slice(1).trim());
    } else {
      throw new TypeError(
        `Cannot import capture: line ${
          i + 1
        } comes before ":ok" but is neither a ":" comment nor part of an ` +
          `HTTP response head (curl -i), got ${
            JSON.stringify(text.slice(0, 80))
          }; remove it or fix the capture`,
      );
    }
    if (statusLine || inHead) responseHeaders = stripSecretHeaders(head);
  }

  let recordedAt = options.recordedAt;
  if (recordedAt === undefined) {
    const found = comments.map((comment) => ISO_TIME.exec(comment)?.[0]).find((
      time,
    ) => time !== undefined);
    recordedAt = found ?? responseHeaders?.["date"];
  }
  if (recordedAt === undefined || Number.isNaN(Date.parse(recordedAt))) {
    throw new TypeError(
      `Cannot import capture: no recording time; pass recordedAt (an ISO-8601 time), got ${
        JSON.stringify(recordedAt)
      }`,
    );
  }

  const chunks: CassetteChunk[] = lines.slice(okIndex).map((
    { start, end },
  ) => ({
    at: 0,
    bytes: bytes.slice(start, end),
  }));
  const end = options.end ?? "aborted";
  const note = [
    "Imported by importCurlCapture from a curl -N capture.",
    "Body: the captured bytes from the ':ok' line on, one chunk per line (terminator included), " +
    "like the server writes each line; time offsets are 0 (curl keeps neither chunk boundaries nor timing).",
    end === "aborted"
      ? "Ends 'aborted': the capturer stopped reading."
      : "Ends 'eof': the server closed the body.",
    responseHeaders
      ? "Response head from the capture (curl -i)."
      : "Response head not captured: 200 text/event-stream assumed, as the server sends.",
    comments.length > 0
      ? `Capturer's header comments (not sent by the server) dropped: ${
        comments.map((c) => JSON.stringify(c)).join(" ")
      }`
      : "",
  ].filter((part) => part !== "").join(" ");

  return {
    format: CASSETTE_FORMAT,
    recordedAt: new Date(recordedAt).toISOString(),
    tool: options.tool ?? "@eventstreams/client importCurlCapture",
    note,
    connections: [{
      request: {
        startedAt: 0,
        method: "GET",
        url: stripUrlSecrets(options.url),
        headers: stripSecretHeaders(options.requestHeaders ?? {}),
      },
      response: {
        at: 0,
        status,
        statusText,
        headers: responseHeaders ?? {
          "cache-control": "no-cache",
          "content-type": "text/event-stream; charset=utf-8",
        },
      },
      chunks,
      end: { at: 0, reason: end },
    }],
  };
}

interface Line {
  /** First byte of the line. */
  start: number;
  /** End of the line's content (before its terminator). */
  contentEnd: number;
  /** End of the line including its terminator. */
  end: number;
}

/** Per SSE spec, lines end with CRLF, LF or CR; a last line may have no terminator. */
function splitLines(bytes: Uint8Array): Line[] {
  const lines: Line[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x0a) {
      lines.push({ start, contentEnd: i, end: i + 1 });
      start = i + 1;
    } else if (byte === 0x0d) {
      const crlf = bytes[i + 1] === 0x0a;
      lines.push({ start, contentEnd: i, end: crlf ? i + 2 : i + 1 });
      if (crlf) i++;
      start = i + 1;
    }
  }
  if (start < bytes.length) {
    lines.push({ start, contentEnd: bytes.length, end: bytes.length });
  }
  return lines;
}

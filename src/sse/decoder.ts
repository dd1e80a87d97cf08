/**
 * A push parser for Server-Sent Events that works on bytes: the WHATWG HTML
 * "event stream interpretation" rules, with bounded memory.
 *
 * @module
 */

import { SseParseError } from "../errors.ts";
import { LineBuffer } from "./line_buffer.ts";

/**
 * One dispatched Server-Sent Events frame (what a browser would hand to a
 * `MessageEvent`).
 *
 * @example An id stays in force for the frames after it
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseDecoder, type SseFrame } from "@eventstreams/client";
 *
 * const frames: SseFrame[] = [];
 * const decoder = new SseDecoder((frame) => frames.push(frame));
 * decoder.push(new TextEncoder().encode("id: [1]\ndata: a\n\nevent: note\ndata: b\ndata: c\n\n"));
 * assert.deepEqual(frames, [
 *   { event: "message", data: "a", id: "[1]" },
 *   { event: "note", data: "b\nc", id: "[1]" }, // no id line: the last one still applies
 * ]);
 * ```
 */
export interface SseFrame {
  /** The event type: the last `event:` value of the frame, else `"message"`. */
  event: string;
  /** The `data:` values of the frame joined with `"\n"`. */
  data: string;
  /**
   * The last event id in force when the frame was dispatched, like
   * `MessageEvent.lastEventId`: an `id:` line stays in force for later frames
   * until another one changes it; `""` when there is none.
   */
  id: string;
}

/**
 * Options for {@linkcode SseDecoder} and {@linkcode SseParseStream}.
 *
 * @example Watching comments and retry lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseParseStream, type SseParseStreamOptions } from "@eventstreams/client";
 *
 * const seen: string[] = [];
 * const options: SseParseStreamOptions = {
 *   maxFrameBytes: 1024 * 1024,
 *   onComment: (text) => seen.push(`comment:${text}`),
 *   onRetry: (ms) => seen.push(`retry:${ms}`),
 * };
 * const body = new Response(": hello\nretry: 2000\nretry: soon\n\ndata: x\n\n").body!;
 * const frames = await Array.fromAsync(body.pipeThrough(new SseParseStream(options)));
 * assert.equal(frames.length, 1);
 * assert.deepEqual(seen, ["comment: hello", "retry:2000"]); // "soon" is not all digits: ignored
 * ```
 */
export interface SseParseStreamOptions {
  /**
   * Upper bound on the bytes buffered for one frame: its field lines so far
   * (not counting comments and line ends) plus the line being read. A frame
   * that exceeds it fails the parse with an {@linkcode SseParseError}, so a
   * broken or hostile server cannot exhaust memory.
   *
   * @default {8388608} (8 MiB)
   */
  maxFrameBytes?: number;
  /**
   * Called with each comment line's text: everything after the leading `:`,
   * exactly as sent (a space after the colon is kept).
   *
   * @default {undefined} (comments are ignored)
   */
  onComment?: (text: string) => void;
  /**
   * Called with the reconnection time of each `retry:` line whose value is
   * one or more ASCII digits (others are ignored, per spec).
   *
   * @default {undefined} (retry lines are ignored)
   */
  onRetry?: (ms: number) => void;
}

/** The default of {@linkcode SseParseStreamOptions.maxFrameBytes}: 8 MiB. */
const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** The UTF-8 byte order mark. */
const BOM = new Uint8Array([0xef, 0xbb, 0xbf]);
/** "message", the default event type, as bytes: `event: message` needs no decoding. */
const MESSAGE = new Uint8Array([0x6d, 0x65, 0x73, 0x73, 0x61, 0x67, 0x65]);

/**
 * A push parser for a Server-Sent Events byte stream. Feed it the response
 * body's chunks with {@linkcode SseDecoder.push}; it calls `onFrame` once per
 * dispatched frame, synchronously, in order. It implements the WHATWG HTML
 * "event stream interpretation" exactly: UTF-8 with one leading BOM dropped,
 * CR / LF / CRLF line ends (also when split across chunks), comments, fields
 * without a colon, one leading space of a value removed, `data:` lines joined
 * with `"\n"`, `id` with NUL ignored, `retry` only when all digits, a frame
 * dispatched on a blank line only if it has data, and an unterminated frame at
 * the end discarded.
 *
 * It scans bytes, not strings, and decodes only field values (with
 * `TextDecoder`, invalid UTF-8 becoming U+FFFD), so a kept `frame.data` never
 * pins a network chunk in memory. `SseParseStream` wraps it; use it directly
 * where the raw bytes matter (for example, to re-arm an idle watchdog).
 *
 * @example Parsing two chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { type SseFrame, SseDecoder } from "@eventstreams/client";
 *
 * const frames: SseFrame[] = [];
 * const decoder = new SseDecoder((frame) => frames.push(frame));
 * const bytes = new TextEncoder().encode('event: message\nid: [1]\ndata: {"a":1}\n\n');
 * decoder.push(bytes.subarray(0, 20)); // Chunks may end anywhere, even mid-character.
 * decoder.push(bytes.subarray(20));
 * decoder.end();
 * assert.deepEqual(frames, [{ event: "message", id: "[1]", data: '{"a":1}' }]);
 * ```
 */
export class SseDecoder {
  readonly #onFrame: (frame: SseFrame) => void;
  readonly #onComment: ((text: string) => void) | undefined;
  readonly #onRetry: ((ms: number) => void) | undefined;
  readonly #maxFrameBytes: number;
  // ignoreBOM: true keeps a U+FEFF that starts a value: only the stream's
  // leading BOM is dropped (below, on bytes), per spec.
  readonly #text = new TextDecoder("utf-8", { ignoreBOM: true });

  /** The start of a line that continues in a later chunk (copied, never a chunk reference). */
  readonly #pending = new LineBuffer();
  /** The previous chunk ended with CR: an LF starting the next one belongs to that line end. */
  #skipLf = false;
  /** How many bytes of a leading BOM were seen so far; -1 once past the stream start. */
  #bomSeen = 0;
  #failure: SseParseError | undefined;

  // Per spec: the data buffer, event type buffer and last event ID buffer.
  // The data buffer is kept as its decoded lines joined by "\n" plus a count.
  #data = "";
  #dataLines = 0;
  #event = "";
  #lastEventId = "";
  /** Bytes of the frame's field lines so far, bounded by maxFrameBytes. */
  #frameBytes = 0;
  /** The bytes of `#lastEventId`: consecutive frames often repeat an id, and then reuse its string. */
  #idBytes: Uint8Array = new Uint8Array(256);
  #idView: DataView = new DataView(this.#idBytes.buffer);
  #idLength = -1;

  /**
   * Creates a decoder.
   *
   * @param onFrame Called synchronously with each dispatched frame.
   * @param options Frame size limit and comment/retry hooks.
   * @throws {RangeError} When `maxFrameBytes` is neither a positive integer
   * nor `Infinity`.
   */
  constructor(
    onFrame: (frame: SseFrame) => void,
    options: SseParseStreamOptions = {},
  ) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!(Number.isInteger(max) && max > 0) && max !== Infinity) {
      throw new RangeError(
        `Cannot create SseDecoder: maxFrameBytes must be a positive integer, got ${
          String(max)
        }`,
      );
    }
    this.#onFrame = onFrame;
    this.#onComment = options.onComment;
    this.#onRetry = options.onRetry;
    this.#maxFrameBytes = max;
  }

  /**
   * Parses the next chunk of the stream, calling `onFrame` for each frame it
   * completes. The chunk is not retained nor modified, and may be reused by the
   * caller once `push` returns.
   *
   * @param chunk The next bytes of the stream, cut anywhere.
   * @throws {SseParseError} When a frame exceeds `maxFrameBytes` (the decoder
   * then stays failed: every later call throws the same error). An error
   * thrown by `onFrame`, `onComment` or `onRetry` propagates too; the rest of
   * the chunk is then not parsed.
   */
  push(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    const length = chunk.length;
    if (length === 0) return;
    let pos = 0;
    if (this.#bomSeen >= 0) {
      pos = this.#skipBom(chunk);
      if (pos < 0) return; // The whole chunk is the start of a BOM: wait for more.
    }
    if (this.#skipLf) {
      // Per spec: CRLF is one line end, also when the CR ended the previous chunk.
      this.#skipLf = false;
      if (chunk[pos] === LF) pos++;
    }
    // Lets the hot loops read four bytes at a time (see nextLineEnd).
    const view = new DataView(chunk.buffer, chunk.byteOffset, length);
    while (pos < length) {
      const end = nextLineEnd(chunk, view, pos, length);
      if (end === length) {
        // No line end left in this chunk: keep the partial line (a copy).
        this.#checkFrameBytes(this.#pending.length + (length - pos));
        this.#pending.append(chunk, pos, length);
        return;
      }
      if (this.#pending.length === 0) {
        this.#line(chunk, view, pos, end);
      } else {
        this.#pending.append(chunk, pos, end);
        const line = this.#pending.bytes();
        const lineView = this.#pending.view();
        this.#pending.clear(); // The views stay valid: nothing is appended before #line returns.
        this.#line(line, lineView, 0, line.length);
      }
      pos = end + 1;
      if (chunk[end] === CR) {
        if (pos === length) this.#skipLf = true;
        else if (chunk[pos] === LF) pos++;
      }
    }
  }

  /**
   * Ends the stream. Per spec, a frame not yet ended by a blank line is
   * discarded. The decoder is then ready for a new stream, as if new (the last
   * event id is forgotten too).
   *
   * @throws {SseParseError} When an earlier `push` failed.
   */
  end(): void {
    if (this.#failure) throw this.#failure;
    this.#reset();
  }

  #reset(): void {
    this.#pending.clear();
    this.#skipLf = false;
    this.#bomSeen = 0;
    this.#data = "";
    this.#dataLines = 0;
    this.#event = "";
    this.#lastEventId = "";
    this.#idLength = -1;
    this.#frameBytes = 0;
  }

  /**
   * Per spec (UTF-8 decode): one BOM at the very start of the stream is
   * dropped, also when it is split across chunks.
   *
   * @returns Where parsing starts in `chunk`, or -1 when it is all BOM prefix.
   */
  #skipBom(chunk: Uint8Array): number {
    const before = this.#bomSeen;
    let seen = before;
    let i = 0;
    while (seen < 3 && i < chunk.length && chunk[i] === BOM[seen]) {
      seen++;
      i++;
    }
    if (seen === 3) {
      this.#bomSeen = -1;
      return i;
    }
    if (i === chunk.length) {
      this.#bomSeen = seen;
      return -1;
    }
    // Not a BOM after all: the bytes held back from earlier chunks are text.
    this.#bomSeen = -1;
    if (before > 0) this.#pending.append(BOM, 0, before);
    return 0;
  }

  #checkFrameBytes(lineBytes: number): void {
    if (this.#frameBytes + lineBytes > this.#maxFrameBytes) {
      // Beyond the spec: a bound on memory. Drop what is buffered.
      const max = this.#maxFrameBytes;
      this.#reset();
      this.#failure = new SseParseError(
        `Cannot parse event stream: a frame exceeds maxFrameBytes (${max} bytes); ` +
          "raise maxFrameBytes if such frames are expected",
      );
      throw this.#failure;
    }
  }

  /**
   * Per spec: processes one line, `buf[start..end)` without its line end.
   * `view` is a DataView over the same bytes with the same indexes.
   */
  #line(buf: Uint8Array, view: DataView, start: number, end: number): void {
    if (start === end) {
      this.#dispatch();
      return;
    }
    this.#checkFrameBytes(end - start);
    const first = buf[start];
    if (first === COLON) {
      // Per spec: a line starting with a colon is a comment, ignored.
      if (this.#onComment) this.#onComment(this.#decode(buf, start + 1, end));
      return;
    }
    this.#frameBytes += end - start;
    // Per spec: the field name is up to the first colon (the whole line when
    // there is none, with an empty value); one space after the colon is dropped.
    let colon = start + 1;
    while (colon < end && buf[colon] !== COLON) colon++;
    let valueStart = colon + 1;
    if (valueStart < end && buf[valueStart] === SPACE) valueStart++;
    if (valueStart > end) valueStart = end;
    switch (colon - start) {
      case 4: // "data"
        if (
          first === 0x64 && buf[start + 1] === 0x61 &&
          buf[start + 2] === 0x74 && buf[start + 3] === 0x61
        ) {
          // Per spec: append the value and an LF to the data buffer (the
          // trailing LF is removed at dispatch: here, join with "\n").
          const value = valueStart === end
            ? ""
            : this.#text.decode(buf.subarray(valueStart, end));
          this.#data = this.#dataLines === 0
            ? value
            : this.#data + "\n" + value;
          this.#dataLines++;
        }
        return;
      case 2: // "id"
        if (first === 0x69 && buf[start + 1] === 0x64) {
          this.#id(buf, view, valueStart, end);
        }
        return;
      case 5: // "event" or "retry"
        if (
          first === 0x65 && buf[start + 1] === 0x76 &&
          buf[start + 2] === 0x65 &&
          buf[start + 3] === 0x6e && buf[start + 4] === 0x74
        ) {
          this.#event = sameBytes(buf, valueStart, end, MESSAGE, MESSAGE.length)
            ? "message"
            : this.#decode(buf, valueStart, end);
        } else if (
          first === 0x72 && buf[start + 1] === 0x65 &&
          buf[start + 2] === 0x74 &&
          buf[start + 3] === 0x72 && buf[start + 4] === 0x79
        ) {
          this.#retry(buf, valueStart, end);
        }
        return;
      default:
        // Per spec: any other field is ignored.
        return;
    }
  }

  /** Per spec: an `id` value sets the last event ID buffer unless it contains NUL. */
  #id(buf: Uint8Array, view: DataView, start: number, end: number): void {
    // Consecutive frames often repeat their id: then keep the string (no
    // decoding; the kept frames share it). The cached id has no NUL.
    const length = end - start;
    if (
      length === this.#idLength &&
      sameWords(buf, view, start, this.#idBytes, this.#idView, length)
    ) return;
    const value = this.#decode(buf, start, end);
    if (value.includes("\0")) return;
    this.#lastEventId = value;
    if (length > this.#idBytes.length) {
      this.#idBytes = new Uint8Array(
        Math.max(length, this.#idBytes.length * 2),
      );
      this.#idView = new DataView(this.#idBytes.buffer);
    }
    this.#idBytes.set(buf.subarray(start, end));
    this.#idLength = length;
  }

  /** Per spec: a `retry` value of ASCII digits only sets the reconnection time; others are ignored. */
  #retry(buf: Uint8Array, start: number, end: number): void {
    if (start === end || !this.#onRetry) return;
    let ms = 0;
    for (let i = start; i < end; i++) {
      const byte = buf[i];
      if (byte < DIGIT_0 || byte > DIGIT_9) return;
      ms = ms * 10 + (byte - DIGIT_0);
    }
    this.#onRetry(ms);
  }

  /**
   * Per spec: dispatch on a blank line. Nothing is dispatched when the data
   * buffer is empty (no `data` line); the data and event type buffers are
   * reset either way, the last event ID buffer is not.
   */
  #dispatch(): void {
    this.#frameBytes = 0;
    if (this.#dataLines === 0) {
      this.#event = "";
      return;
    }
    const frame: SseFrame = {
      event: this.#event === "" ? "message" : this.#event,
      data: this.#data,
      id: this.#lastEventId,
    };
    this.#data = "";
    this.#dataLines = 0;
    this.#event = "";
    this.#onFrame(frame);
  }

  #decode(buf: Uint8Array, start: number, end: number): string {
    return start === end ? "" : this.#text.decode(buf.subarray(start, end));
  }
}

/**
 * Finds the next CR or LF in `chunk[pos..length)`, or returns `length`.
 *
 * Hot loop: reads 16 bytes per step through `view` (a DataView over the same
 * bytes) and looks at single bytes only where a word has a byte below 0x0E:
 * CR and LF are, other bytes rarely are (tab, other controls). About four times
 * faster than `Uint8Array.prototype.indexOf` for LF plus another pass for CR.
 */
function nextLineEnd(
  chunk: Uint8Array,
  view: DataView,
  pos: number,
  length: number,
): number {
  let i = pos;
  const last = length - 16;
  for (;;) {
    while (i <= last) {
      const a = view.getInt32(i, true);
      const b = view.getInt32(i + 4, true);
      const c = view.getInt32(i + 8, true);
      const d = view.getInt32(i + 12, true);
      // "Has less than" bit trick: (w - 0x0E0E0E0E) & ~w & 0x80808080 is
      // non-zero when one of the four bytes of w is below 0x0E.
      if (
        (((a - 0x0e0e0e0e) & ~a) | ((b - 0x0e0e0e0e) & ~b) |
          ((c - 0x0e0e0e0e) & ~c) | ((d - 0x0e0e0e0e) & ~d)) &
        0x80808080
      ) break;
      i += 16;
    }
    const stop = i + 16 < length ? i + 16 : length;
    for (; i < stop; i++) {
      const byte = chunk[i];
      if (byte === LF || byte === CR) return i;
    }
    if (i >= length) return length;
  }
}

/** True when `buf[start..start + length)` equals `other[0..length)`; the views cover the same bytes. */
function sameWords(
  buf: Uint8Array,
  view: DataView,
  start: number,
  other: Uint8Array,
  otherView: DataView,
  length: number,
): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    if (view.getInt32(start + i, true) !== otherView.getInt32(i, true)) {
      return false;
    }
  }
  for (; i < length; i++) if (buf[start + i] !== other[i]) return false;
  return true;
}

/** True when `buf[start..end)` equals the first `length` bytes of `bytes`. */
function sameBytes(
  buf: Uint8Array,
  start: number,
  end: number,
  bytes: Uint8Array,
  length: number,
): boolean {
  if (end - start !== length) return false;
  for (let i = 0; i < length; i++) {
    if (buf[start + i] !== bytes[i]) return false;
  }
  return true;
}

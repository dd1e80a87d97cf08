/**
 * The growable byte buffer that holds a line while it arrives in pieces.
 * Internal to the SSE parser (not exported from the package root).
 *
 * @module
 */

/** Capacity allocated on the first append, in bytes. */
const INITIAL_CAPACITY = 4096;
/** Above this capacity, {@linkcode LineBuffer.clear} gives the memory back. */
const RETAINED_CAPACITY = 1024 * 1024;

/**
 * Collects the pieces of one line that spans several network chunks, copying
 * each byte once (capacity doubles, so growth adds at most as many copies
 * again): a long line costs linear time, never the quadratic cost of
 * concatenating the whole buffer on every chunk. The bytes are copied, so the
 * caller's chunks are neither retained nor required to stay unchanged.
 *
 * @example Joining a line that arrives in two pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineBuffer } from "./line_buffer.ts";
 *
 * const line = new LineBuffer();
 * line.append(new TextEncoder().encode("data: he"), 0, 8);
 * line.append(new TextEncoder().encode("llo\n"), 0, 3);
 * assert.equal(new TextDecoder().decode(line.bytes()), "data: hello");
 * line.clear();
 * assert.equal(line.length, 0);
 * ```
 */
export class LineBuffer {
  #bytes: Uint8Array = new Uint8Array(0);
  #view: DataView = new DataView(this.#bytes.buffer);
  #length = 0;
  #bytesCopied = 0;

  /** Number of bytes currently held. */
  get length(): number {
    return this.#length;
  }

  /**
   * Total bytes copied since construction, including the copies made when the
   * buffer grows. Lets tests check that a long line costs linear work.
   */
  get bytesCopied(): number {
    return this.#bytesCopied;
  }

  /**
   * Appends `source[start..end)`.
   *
   * @param source The chunk holding the piece.
   * @param start First byte of the piece.
   * @param end One past the last byte of the piece.
   */
  append(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    if (count <= 0) return;
    const needed = this.#length + count;
    if (needed > this.#bytes.length) this.#grow(needed);
    this.#bytes.set(source.subarray(start, end), this.#length);
    this.#length = needed;
    this.#bytesCopied += count;
  }

  /**
   * A view of the bytes held. Valid until the next `append` or `clear`.
   *
   * @returns The held bytes (a view, not a copy).
   */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /**
   * A `DataView` over the same bytes as {@linkcode LineBuffer.bytes} (same
   * indexes), for reading four bytes at a time. Valid until the next `append`
   * or `clear`.
   *
   * @returns The view.
   */
  view(): DataView {
    return this.#view;
  }

  /** Empties the buffer; releases its memory if a huge line made it grow. */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > RETAINED_CAPACITY) {
      this.#bytes = new Uint8Array(0);
      this.#view = new DataView(this.#bytes.buffer);
    }
  }

  #grow(needed: number): void {
    let capacity = this.#bytes.length === 0
      ? INITIAL_CAPACITY
      : this.#bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const bytes = new Uint8Array(capacity);
    bytes.set(this.#bytes.subarray(0, this.#length));
    this.#bytesCopied += this.#length;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
  }
}

/**
 * Output lines written in batches: `tail` encodes each event's line into a
 * buffer and writes the buffer when it is full, when the output has been
 * idle for a moment (a timer of 0 ms: the next turn of the event loop, so a
 * live event still shows at once), and whenever the caller asks (before a
 * checkpoint is saved, at the end). One awaited write per event cost an
 * event-loop round trip each (Deno's async file write goes through a thread
 * pool): a catch-up ran at a quarter of the library's speed.
 *
 * Writes are synchronous: a reader that does not keep up blocks the writer,
 * which is the backpressure a pipe gives, and nothing is read meanwhile.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { CliOutput } from "./io.ts";

/** Buffered bytes that make a write: 64 KiB, a pipe's capacity on Linux. */
const BATCH_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

const encoder = new TextEncoder();

/** The clock of the idle flush, and hooks around each write to the output. */
export interface LineWriterOptions {
  /** Schedules the idle flush. */
  clock: Clock;
  /** Called before each write to the output (the status line clears itself). */
  beforeWrite?: () => void;
  /** Called after each write to the output. */
  afterWrite?: () => void;
}

/**
 * Writes lines to an output in batches, in order; a failed write (a closed
 * pipe) fails every later call with the same error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineWriter } from "./line_writer.ts";
 * import { systemClock } from "../clock.ts";
 *
 * const writes: string[] = [];
 * const output = {
 *   write: (bytes: Uint8Array) => Promise.resolve(output.writeSync(bytes)),
 *   writeSync(bytes: Uint8Array) {
 *     writes.push(new TextDecoder().decode(bytes));
 *     return bytes.length;
 *   },
 *   isTerminal: () => false,
 * };
 * const lines = new LineWriter(output, { clock: systemClock });
 * lines.writeLine("{}");
 * lines.writeLine("[]");
 * lines.flush();
 * assert.deepEqual(writes, ["{}\n[]\n"]);
 * ```
 */
export class LineWriter {
  #output: CliOutput;
  #options: LineWriterOptions;
  #buffer = new Uint8Array(BATCH_BYTES);
  #length = 0;
  #failure: { error: unknown } | undefined;
  #cancelIdle: (() => void) | undefined;

  /**
   * @param output Where the lines go.
   * @param options The clock and the hooks around writes.
   */
  constructor(output: CliOutput, options: LineWriterOptions) {
    this.#output = output;
    this.#options = options;
  }

  /**
   * Buffers `line` and a newline, writing the buffer first when they do not
   * fit.
   *
   * @param line What to write, without its newline.
   * @throws What the write, or an earlier one, failed with.
   */
  writeLine(line: string): void {
    if (this.#failure) throw this.#failure.error;
    if (!this.#append(line)) {
      // Too long for what is left: the buffer goes first, then the line,
      // buffered again when it fits, else on its own.
      this.#writeBuffer();
      if (!this.#append(line)) this.#write(encoder.encode(`${line}\n`));
    }
    // One timer at a time, left running by the writes of full buffers.
    this.#cancelIdle ??= this.#options.clock.setTimeout(() => {
      this.#cancelIdle = undefined;
      try {
        this.flush();
      } catch {
        // Kept, and thrown by the next call.
      }
    }, 0);
  }

  /**
   * Writes what is buffered.
   *
   * @throws What the write, or an earlier one, failed with.
   */
  flush(): void {
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    if (this.#failure) throw this.#failure.error;
    this.#writeBuffer();
  }

  /** Encodes `line` and a newline after the buffered bytes; `false` when they do not fit. */
  #append(line: string): boolean {
    const buffer = this.#buffer;
    const { read, written } = encoder.encodeInto(
      line,
      buffer.subarray(this.#length, buffer.length - 1),
    );
    if (read !== line.length) return false;
    buffer[this.#length + written] = NEWLINE;
    this.#length += written + 1;
    return true;
  }

  #writeBuffer(): void {
    if (this.#length === 0) return;
    const length = this.#length;
    this.#length = 0;
    this.#write(this.#buffer.subarray(0, length));
  }

  #write(bytes: Uint8Array): void {
    this.#options.beforeWrite?.();
    try {
      let done = 0;
      while (done < bytes.length) {
        done += this.#output.writeSync(bytes.subarray(done));
      }
    } catch (error) {
      this.#failure = { error };
      throw error;
    } finally {
      this.#options.afterWrite?.();
    }
  }
}

/**
 * Output lines written in batches: `tail` encodes each event's line into a
 * buffer and writes the buffer when it is full (1 MiB), when the event loop
 * turns (a timer of 0 ms: a live event still shows at once), and whenever
 * the caller asks (before a checkpoint is saved, at the end). One awaited
 * write per event cost a round trip to the thread that writes (Deno writes
 * files and pipes off the main thread) each: a catch-up ran at a quarter of
 * the library's speed. To a pipe or a terminal, writes are asynchronous so
 * that signals (Ctrl-C, SIGTERM) are still handled while a reader does not
 * keep up; to a file or `/dev/null`, which never wait on a reader, they are
 * synchronous, which is faster (see `CliOutput.writesWithoutWaiting`).
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { CliOutput } from "./io.ts";

/** Buffered bytes that make a write (each async write is a round trip to the writing thread). */
const BATCH_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

const encoder = new TextEncoder();

/** The clock of the idle flush, hooks around each write, and what a write covers. */
export interface LineWriterOptions<Mark> {
  /** Schedules the idle flush. */
  clock: Clock;
  /** Called before each write to the output (the status line clears itself). */
  beforeWrite?: () => void;
  /** Called after each write to the output. */
  afterWrite?: () => void;
  /**
   * Called when the lines written so far are sealed into a write: what they
   * cover (tail: the stream's cursor, which covers every line handed over).
   * {@linkcode LineWriter.lastWrittenMark} is the mark of the last write
   * that completed.
   */
  mark?: () => Mark;
}

/**
 * Writes lines to an output in batches, in order; a failed write (a closed
 * pipe) fails every later call with the same error.
 *
 * @typeParam Mark What a write covers (see {@linkcode LineWriterOptions.mark}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineWriter } from "./line_writer.ts";
 * import { systemClock } from "../clock.ts";
 *
 * const writes: string[] = [];
 * const output = {
 *   write(bytes: Uint8Array) {
 *     writes.push(new TextDecoder().decode(bytes));
 *     return Promise.resolve(bytes.length);
 *   },
 *   writeSync: (bytes: Uint8Array) => bytes.length,
 *   isTerminal: () => false,
 * };
 * let lines = 0;
 * const out = new LineWriter(output, { clock: systemClock, mark: () => lines });
 * out.writeLine("{}");
 * out.writeLine("[]");
 * lines = 2;
 * await out.flush();
 * assert.deepEqual(writes, ["{}\n[]\n"]);
 * assert.equal(out.lastWrittenMark, 2);
 * ```
 */
export class LineWriter<Mark = unknown> {
  #output: CliOutput;
  #options: LineWriterOptions<Mark>;
  #buffer: Uint8Array<ArrayBuffer>;
  /** A buffer whose write has completed, for reuse. */
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #length = 0;
  /** The writes so far, in order. */
  #writing: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | undefined;
  #cancelIdle: (() => void) | undefined;
  #lastWrittenMark: Mark | undefined;
  #sync: boolean;

  /**
   * @param output Where the lines go.
   * @param options The clock, the hooks around writes, the marks.
   */
  constructor(output: CliOutput, options: LineWriterOptions<Mark>) {
    this.#output = output;
    this.#options = options;
    this.#sync = output.writesWithoutWaiting?.() ?? false;
    this.#buffer = new Uint8Array(BATCH_BYTES);
  }

  /** The mark of the last write that completed; `undefined` before the first. */
  get lastWrittenMark(): Mark | undefined {
    return this.#lastWrittenMark;
  }

  /**
   * Buffers `line` and a newline. When they do not fit, the buffer is
   * written, and so is the line.
   *
   * @param line What to write, without its newline.
   * @returns `undefined` when the line was buffered, else a promise that
   * settles once the write before it completed (await it: backpressure).
   * @throws What an earlier write failed with.
   */
  writeLine(line: string): Promise<void> | undefined {
    if (this.#failure) throw this.#failure.error;
    if (this.#append(line)) {
      this.#cancelIdle ??= this.#options.clock.setTimeout(() => {
        this.#cancelIdle = undefined;
        this.flush().catch(() => {}); // Kept, and thrown by the next call.
      }, 0);
      return undefined;
    }
    // The buffer goes without a mark (its last line's is not known), the
    // line after it with the mark of everything up to it.
    this.#writeBuffer(false);
    this.#enqueue(encoder.encode(`${line}\n`), false, true);
    return this.#writing;
  }

  /**
   * Writes what is buffered.
   *
   * @returns A promise that settles once everything so far is written.
   */
  flush(): Promise<void> {
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    if (this.#failure) return Promise.reject(this.#failure.error);
    this.#writeBuffer(true);
    return this.#writing;
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

  /** Queues the buffered bytes and starts a new buffer. */
  #writeBuffer(marked: boolean): void {
    if (this.#length === 0) return;
    const bytes = this.#buffer.subarray(0, this.#length);
    this.#buffer = this.#spare ?? new Uint8Array(BATCH_BYTES);
    this.#spare = undefined;
    this.#length = 0;
    this.#enqueue(bytes, true, marked);
  }

  /** Writes `bytes` after the writes before it; `reuse`: its buffer is one of ours. */
  #enqueue(bytes: Uint8Array, reuse: boolean, marked: boolean): void {
    const mark = marked ? this.#options.mark?.() : undefined;
    const written = () => {
      if (marked) this.#lastWrittenMark = mark;
      if (reuse) this.#spare = new Uint8Array(bytes.buffer as ArrayBuffer);
    };
    const failed = (error: unknown) => {
      this.#failure ??= { error };
      return error;
    };
    if (this.#sync) {
      // Each write completes before the next is made: nothing is queued.
      if (this.#failure) return;
      this.#options.beforeWrite?.();
      try {
        let done = 0;
        while (done < bytes.length) {
          done += this.#output.writeSync(bytes.subarray(done));
        }
        written();
      } catch (error) {
        this.#writing = Promise.reject(failed(error));
        this.#writing.catch(() => {}); // Handled: callers get it from write/flush.
      } finally {
        this.#options.afterWrite?.();
      }
      return;
    }
    const write = async () => {
      this.#options.beforeWrite?.();
      try {
        let done = 0;
        while (done < bytes.length) {
          done += await this.#output.write(bytes.subarray(done));
        }
        written();
      } catch (error) {
        throw failed(error);
      } finally {
        this.#options.afterWrite?.();
      }
    };
    // After a failure nothing more is written: the chain stays rejected.
    this.#writing = this.#writing.then(write);
    this.#writing.catch(() => {}); // Handled: callers get it from write/flush.
  }
}

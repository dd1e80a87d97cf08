/**
 * Output lines written in batches: `tail` encodes each event's line into a
 * buffer and writes the buffer when it is full (1 MiB), when the event loop
 * turns (a timer of 0 ms: a live event still shows at once), and whenever
 * the caller asks (before a checkpoint is saved, at the end). One awaited
 * write per event cost a round trip to the thread that writes (Deno writes
 * files and pipes off the main thread) each: a catch-up ran at a quarter of
 * the library's speed. To a pipe or a socket, writes are asynchronous so
 * that signals (Ctrl-C, SIGTERM) are still handled while a reader does not
 * keep up, one at a time, with one buffer filling meanwhile (memory stays
 * bounded); to a file, `/dev/null` or a terminal they are synchronous, which
 * is faster (see `CliOutput.writesWithoutWaiting`).
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
  #sync: boolean;
  #buffer: Uint8Array<ArrayBuffer> = new Uint8Array(BATCH_BYTES);
  /** A buffer whose write has completed, for reuse. */
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #length = 0;
  /** Asynchronous mode: the one write in progress (it never rejects: see #failure). */
  #inFlight: Promise<void> | undefined;
  /** A line waits for room: the stream's mark covers it, so writes meanwhile get none. */
  #holding = false;
  #failure: { error: unknown } | undefined;
  #cancelIdle: (() => void) | undefined;
  #lastWrittenMark: Mark | undefined;

  /**
   * @param output Where the lines go.
   * @param options The clock, the hooks around writes, the marks.
   */
  constructor(output: CliOutput, options: LineWriterOptions<Mark>) {
    this.#output = output;
    this.#options = options;
    this.#sync = output.writesWithoutWaiting?.() ?? false;
  }

  /** The mark of the last write that completed; `undefined` before the first. */
  get lastWrittenMark(): Mark | undefined {
    return this.#lastWrittenMark;
  }

  /**
   * Buffers `line` and a newline; when they do not fit, the buffer is
   * written first. Asynchronously, one write is in progress at most, and
   * one buffer fills meanwhile: a reader that does not keep up holds the
   * caller here.
   *
   * @param line What to write, without its newline.
   * @returns `undefined` when the line was buffered, else a promise that
   * settles once it is buffered or written (await it: backpressure).
   * @throws What an earlier write failed with.
   */
  writeLine(line: string): Promise<void> | undefined {
    this.#throwIfFailed();
    if (!this.#append(line)) {
      if (!this.#sync) return this.#waitForRoom(line);
      // The buffer goes first, without a mark (this line's covers more).
      this.#writeSync(this.#take(), true, false);
      if (!this.#append(line)) {
        this.#writeSync(encoder.encode(`${line}\n`), false, true);
        return undefined;
      }
    }
    this.#scheduleIdleFlush();
    return undefined;
  }

  /**
   * Writes what is buffered.
   *
   * @returns A promise that settles once everything so far is written.
   */
  async flush(): Promise<void> {
    this.#cancelIdle?.();
    this.#cancelIdle = undefined;
    while (true) {
      this.#throwIfFailed();
      if (this.#inFlight) await this.#inFlight;
      else if (this.#length === 0) return;
      else if (this.#sync) this.#writeSync(this.#take(), true, true);
      else this.#startWrite(this.#take(), true);
    }
  }

  /** Asynchronous mode: waits until `line` is buffered (or written, when longer than a buffer). */
  async #waitForRoom(line: string): Promise<void> {
    this.#holding = true;
    try {
      while (true) {
        this.#throwIfFailed();
        if (this.#append(line)) break;
        if (this.#inFlight) await this.#inFlight;
        else if (this.#length > 0) this.#startWrite(this.#take(), true);
        else {
          this.#holding = false; // Everything before it is written: its mark is right.
          this.#startWrite(encoder.encode(`${line}\n`), false);
          await this.#inFlight;
          this.#throwIfFailed();
          return;
        }
      }
    } finally {
      this.#holding = false;
    }
    this.#scheduleIdleFlush();
  }

  /** One timer at a time: the buffer goes out when the event loop turns. */
  #scheduleIdleFlush(): void {
    this.#cancelIdle ??= this.#options.clock.setTimeout(() => {
      this.#cancelIdle = undefined;
      this.flush().catch(() => {}); // Kept, and thrown by the next call.
    }, 0);
  }

  /** Throws what a write failed with (a method: TypeScript would narrow a field read across awaits). */
  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
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

  /** The buffered bytes; a new buffer starts. */
  #take(): Uint8Array {
    const bytes = this.#buffer.subarray(0, this.#length);
    this.#buffer = this.#spare ?? new Uint8Array(BATCH_BYTES);
    this.#spare = undefined;
    this.#length = 0;
    return bytes;
  }

  /** After a write of `bytes` completed: its mark, and its buffer back for reuse. */
  #written(
    bytes: Uint8Array,
    reuse: boolean,
    mark: Mark | undefined,
    marked: boolean,
  ) {
    if (marked) this.#lastWrittenMark = mark;
    if (reuse) this.#spare = new Uint8Array(bytes.buffer as ArrayBuffer);
  }

  #writeSync(bytes: Uint8Array, reuse: boolean, marked: boolean): void {
    const mark = marked ? this.#options.mark?.() : undefined;
    this.#options.beforeWrite?.();
    try {
      let done = 0;
      while (done < bytes.length) {
        done += this.#output.writeSync(bytes.subarray(done));
      }
    } catch (error) {
      this.#failure ??= { error };
      throw error;
    } finally {
      this.#options.afterWrite?.();
    }
    this.#written(bytes, reuse, mark, marked);
  }

  /** Starts the one asynchronous write (none may be in progress). */
  #startWrite(bytes: Uint8Array, reuse: boolean): void {
    const marked = !this.#holding;
    const mark = marked ? this.#options.mark?.() : undefined;
    const write = async () => {
      this.#options.beforeWrite?.();
      try {
        let done = 0;
        while (done < bytes.length) {
          done += await this.#output.write(bytes.subarray(done));
        }
      } finally {
        this.#options.afterWrite?.();
      }
    };
    this.#inFlight = write().then(() => {
      this.#inFlight = undefined;
      this.#written(bytes, reuse, mark, marked);
    }, (error) => {
      this.#inFlight = undefined;
      this.#failure ??= { error };
    });
  }
}

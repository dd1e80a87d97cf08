/**
 * One streaming connection of the emulated server: merges its
 * topic-partitions into SSE frames (or JSON lines), keeps the KafkaSSE id,
 * and applies the connection's scripted faults.
 *
 * @module
 */

import type { Clock } from "../../clock.ts";
import type { EmulatorFault, InterleaveOrder } from "./faults.ts";
import type { StartPosition } from "./last_event_id.ts";
import type { TopicPartitionLog } from "./logs.ts";

/**
 * Why a connection ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorEndReason } from "@eventstreams/client/testing";
 * const reason: EmulatorEndReason = "client-gone";
 * assert.ok(reason === "client-gone");
 * ```
 */
export type EmulatorEndReason =
  | "rejected"
  | "client-gone"
  | "cut-after-frames"
  | "cut-after-bytes"
  | "cut-mid-frame"
  | "error-event"
  | "max-age"
  | "emulator-closed";

/**
 * How a connection ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorConnectionEnd } from "@eventstreams/client/testing";
 * const end: EmulatorConnectionEnd = { reason: "cut-after-frames", abrupt: true, at: 0 };
 * assert.ok(end.abrupt);
 * ```
 */
export interface EmulatorConnectionEnd {
  /** What ended it. `"rejected"`: answered with an error status, no stream. */
  readonly reason: EmulatorEndReason;
  /** True when the body was errored (the client saw a network error), false for a clean end. */
  readonly abrupt: boolean;
  /** When, on the emulator's clock. */
  readonly at: number;
}

/**
 * One frame a connection sent: a message from (topic, partition, offset),
 * or an error event.
 *
 * @example
 * ```ts no-assert
 * import type { EmulatorFrameLog } from "@eventstreams/client/testing";
 * const frame: EmulatorFrameLog = { event: "message", topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 7 };
 * ```
 */
export interface EmulatorFrameLog {
  /** `"message"` or `"error"`. */
  readonly event: "message" | "error";
  /** The message's topic (absent for error events). */
  readonly topic?: string;
  /** The message's partition (absent for error events). */
  readonly partition?: number;
  /** The message's offset (absent for error events). */
  readonly offset?: number;
}

/**
 * What the emulator recorded about one stream request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEmulator } from "@eventstreams/client/testing";
 * const emulator = serveEmulator({ generate: { counts: { "mediawiki.recentchange": 5 } } });
 * const response = await fetch(`${emulator.url}/v2/stream/nope`, { headers: { "user-agent": "doc/1.0 (doc@example.org)" } });
 * await response.body?.cancel();
 * const [log] = emulator.connections;
 * assert.ok(log.status === 400 && log.headers["user-agent"] === "doc/1.0 (doc@example.org)");
 * await emulator.close();
 * ```
 */
export interface EmulatorConnectionLog {
  /** 0-based over all stream requests. */
  readonly index: number;
  /** The request URL. */
  readonly url: string;
  /** The request method. */
  readonly method: string;
  /** Request headers (lower-case names) without secrets (`authorization`, `cookie`, API keys, tokens: see `isSecretHeader`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The client IP the connection limit counted (`x-client-ip`, else the peer address). */
  readonly clientIp: string;
  /** When the request arrived, on the emulator's clock. */
  readonly startedAt: number;
  /** The response status. */
  readonly status: number;
  /** The body of a non-200 response. */
  readonly responseBody?: string;
  /** The faults this connection got. */
  readonly faults: readonly EmulatorFault[];
  /** Frames sent, in order (the first `maxLoggedFrames`). */
  readonly frames: readonly EmulatorFrameLog[];
  /** How many frames were sent (also counts frames beyond `maxLoggedFrames`). */
  readonly framesSent: number;
  /** Body bytes sent. */
  readonly bytesSent: number;
  /** How it ended; absent while open. */
  readonly end?: EmulatorConnectionEnd;
}

/** The mutable form the emulator fills in. */
export type MutableConnectionLog =
  & {
    -readonly [K in keyof EmulatorConnectionLog]: EmulatorConnectionLog[K];
  }
  & { frames: EmulatorFrameLog[] };

/** What a session needs. */
export interface SessionOptions {
  positions: readonly StartPosition[];
  partitions: (topic: string) => readonly TopicPartitionLog[];
  json: boolean;
  faults: readonly EmulatorFault[];
  clock: Clock;
  coalesceBytes: number;
  interleave: InterleaveOrder;
  maxLoggedFrames: number;
  record: MutableConnectionLog;
  onEnd: () => void;
}

interface PartitionCursor {
  log: TopicPartitionLog | undefined;
  slot: number;
  topic: string;
  topicJson: string;
  partition: number;
  index: number;
}

/** The error that makes Deno reset a connection; the server's onError ignores it. */
export class EmulatedResetError extends Error {
  /** Creates the error. */
  constructor() {
    super("Emulated connection reset");
    this.name = "EmulatedResetError";
  }
}

const encoder = new TextEncoder();
const OK = encoder.encode(":ok\n\n");
const NEWLINE = encoder.encode("\n");
const EVENT_MESSAGE = encoder.encode("event: message\n");
const EVENT_ERROR = encoder.encode("event: error\n");
const HIGH_WATER_MARK = 8;

/** A streaming connection. */
export class Session {
  /** The response body. */
  readonly body: ReadableStream<Uint8Array>;

  #options: SessionOptions;
  #record: MutableConnectionLog;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #cursors: PartitionCursor[];
  #entries: string[];
  #idLine: Uint8Array | undefined;
  #ended = false;
  #resetPending = false;
  #wake: (() => void) | undefined;
  #pulled: (() => void) | undefined;
  #timers = new Set<() => void>();
  #unsubscribe: (() => void)[] = [];
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #rr = 0;
  #batchLeft = 0;
  #batchCursor = -1;
  // Fault thresholds.
  #cutFrames: number | undefined;
  #cutBytes: number | undefined;
  #cutMidFrame = false;
  #cutAbrupt = false;
  #stallFrames: number | undefined;
  #error: { afterFrames: number; message: string; name: string } | undefined;
  #trickle: { bytes: number; delayMs: number } | undefined;
  #interleave: InterleaveOrder;
  #batchSize = 50;

  /**
   * Starts streaming.
   *
   * @param options Positions, logs, mode, faults and the record to fill in.
   */
  constructor(options: SessionOptions) {
    this.#options = options;
    this.#record = options.record;
    this.#interleave = options.interleave;
    this.#entries = options.positions.map((p) => p.entry);
    this.#cursors = options.positions.map((p, slot) => {
      const log = options.partitions(p.topic).find((l) =>
        l.partition === p.partition
      );
      return {
        log,
        slot,
        topic: p.topic,
        topicJson: JSON.stringify(p.topic),
        partition: p.partition,
        // "Latest" is resolved now, at assignment time.
        index: p.index ?? log?.length ?? 0,
      };
    });
    let maxAge: { ms: number; abrupt: boolean } | undefined;
    for (const fault of options.faults) {
      switch (fault.kind) {
        case "cut":
          if (fault.afterFrames !== undefined) {
            this.#cutFrames = Math.min(
              this.#cutFrames ?? Infinity,
              fault.afterFrames,
            );
            this.#cutMidFrame ||= fault.midFrame === true;
          }
          if (fault.afterBytes !== undefined) {
            this.#cutBytes = Math.min(
              this.#cutBytes ?? Infinity,
              fault.afterBytes,
            );
          }
          this.#cutAbrupt ||= fault.abrupt === true;
          break;
        case "stall":
          this.#stallFrames = Math.min(
            this.#stallFrames ?? Infinity,
            fault.afterFrames ?? 0,
          );
          break;
        case "error-event":
          this.#error = {
            afterFrames: fault.afterFrames ?? 0,
            message: fault.message ?? "Emulated internal failure",
            name: fault.name ?? "KafkaSSEError",
          };
          break;
        case "max-age":
          maxAge = { ms: fault.ms, abrupt: fault.abrupt === true };
          break;
        case "interleave":
          this.#interleave = fault.order;
          this.#batchSize = fault.batchSize ?? 50;
          break;
        case "trickle":
          this.#trickle = {
            bytes: fault.bytesPerWrite,
            delayMs: fault.delayMs ?? 0,
          };
          break;
        case "status":
          break;
      }
    }
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => {
        const pulled = this.#pulled;
        this.#pulled = undefined;
        pulled?.();
        if (
          this.#resetPending && controller.desiredSize === HIGH_WATER_MARK
        ) this.#reset();
      },
      cancel: () => {
        this.#finish("client-gone", false);
      },
    }, { highWaterMark: HIGH_WATER_MARK });
    for (const cursor of this.#cursors) {
      if (cursor.log) {
        this.#unsubscribe.push(cursor.log.subscribe(() => this.#notify()));
      }
    }
    if (maxAge !== undefined) {
      const { abrupt } = maxAge;
      this.#addTimer(maxAge.ms, () => this.#finish("max-age", abrupt));
    }
    // Started on the next microtask, not here: a cut within the first bytes
    // (`afterBytes` <= 5, inside `:ok`) ends the session at its first write,
    // and `onEnd` must not run before the constructor has returned (the
    // caller has not registered the session yet, so its slot would leak).
    queueMicrotask(() =>
      this.#run().catch((error) => {
        if (!this.#ended) {
          console.error("EventStreams emulator: connection failed", error);
          this.#finish("emulator-closed", true);
        }
      })
    );
  }

  /**
   * Ends the connection because the emulator is closing: a clean end of
   * stream (a reset still waiting for the client to drain happens now).
   */
  terminate(): void {
    this.#finish("emulator-closed", false);
    this.#reset();
  }

  async #run(): Promise<void> {
    await this.#write(this.#options.json ? NEWLINE : OK, true);
    while (!this.#ended) {
      const sent = this.#record.framesSent;
      if (this.#stallFrames !== undefined && sent >= this.#stallFrames) {
        // The zombie: silent, open, deaf to new events.
        this.#flush();
        await new Promise<void>((resolve) => this.#wake = resolve);
        continue;
      }
      if (this.#error !== undefined && sent >= this.#error.afterFrames) {
        await this.#sendError(this.#error.message, this.#error.name);
        this.#finish("error-event", false);
        return;
      }
      const cutNow = this.#cutFrames !== undefined && sent >= this.#cutFrames;
      if (cutNow && !this.#cutMidFrame) {
        this.#finish("cut-after-frames", this.#cutAbrupt);
        return;
      }
      const cursor = this.#next();
      if (cursor === undefined) {
        // Live end: silent until a producer appends (no heartbeats).
        this.#flush();
        await new Promise<void>((resolve) => this.#wake = resolve);
        continue;
      }
      const lines = this.#frame(cursor);
      if (cutNow) {
        // Half a frame, then the cut.
        const total = lines.reduce((sum, line) => sum + line.length, 0);
        const frame = new Uint8Array(total);
        let at = 0;
        for (const line of lines) {
          frame.set(line, at);
          at += line.length;
        }
        await this.#write(frame.subarray(0, Math.floor(total / 2)), true);
        this.#finish("cut-mid-frame", this.#cutAbrupt);
        return;
      }
      cursor.index++;
      // Per KafkaSSE: each line is a separate write. When more messages are
      // already waiting (a backlog), writes coalesce like a busy socket's.
      const isolated = this.#options.coalesceBytes === 0 || !this.#anyReady();
      for (const line of lines) {
        const pending = this.#write(line, isolated);
        if (pending !== undefined) await pending;
        if (this.#ended) return;
      }
      this.#recordFrame(cursor);
    }
  }

  /** The lines of the next message frame from `cursor`, with the id advanced. */
  #frame(cursor: PartitionCursor): Uint8Array[] {
    const log = cursor.log!;
    const message = log.messages[cursor.index];
    const slot = cursor.slot;
    // Per KafkaSSE (useTimestampForId): the entry becomes timestamp + 1.
    const entry =
      `{"topic":${cursor.topicJson},"partition":${cursor.partition},"timestamp":${
        message.timestamp + 1
      }}`;
    if (this.#entries[slot] !== entry) {
      this.#entries[slot] = entry;
      this.#idLine = undefined;
    }
    if (this.#options.json) return [log.jsonLine(cursor.index)];
    return [EVENT_MESSAGE, this.#id(), log.sseDataLine(cursor.index)];
  }

  #id(): Uint8Array {
    this.#idLine ??= encoder.encode(`id: [${this.#entries.join(",")}]\n`);
    return this.#idLine;
  }

  #recordFrame(cursor: PartitionCursor): void {
    const record = this.#record;
    if (record.frames.length < this.#options.maxLoggedFrames) {
      record.frames.push({
        event: "message",
        topic: cursor.topic,
        partition: cursor.partition,
        offset: cursor.log!.messages[cursor.index - 1].offset,
      });
    }
    record.framesSent++;
  }

  async #sendError(message: string, name: string): Promise<void> {
    const data = JSON.stringify({ message, origin: "KafkaSSE", name });
    const lines = this.#options.json
      ? [encoder.encode(`${data}\n`)]
      : [EVENT_ERROR, this.#id(), encoder.encode(`data: ${data}\n\n`)];
    for (const line of lines) await this.#write(line, true);
    if (this.#record.frames.length < this.#options.maxLoggedFrames) {
      this.#record.frames.push({ event: "error" });
    }
    this.#record.framesSent++;
  }

  #anyReady(): boolean {
    return this.#cursors.some((c) =>
      c.log !== undefined && c.index < c.log.length
    );
  }

  /** The cursor to deliver from next, per the interleave order; undefined when none has data. */
  #next(): PartitionCursor | undefined {
    const cursors = this.#cursors;
    const ready = (c: PartitionCursor) =>
      c.log !== undefined && c.index < c.log.length;
    switch (this.#interleave) {
      case "timestamp": {
        let best: PartitionCursor | undefined;
        let bestTs = Infinity;
        for (const c of cursors) {
          if (!ready(c)) continue;
          const ts = c.log!.messages[c.index].timestamp;
          if (ts < bestTs) {
            best = c;
            bestTs = ts;
          }
        }
        return best;
      }
      case "round-robin": {
        for (let i = 0; i < cursors.length; i++) {
          const c = cursors[(this.#rr + i) % cursors.length];
          if (ready(c)) {
            this.#rr = (this.#rr + i + 1) % cursors.length;
            return c;
          }
        }
        return undefined;
      }
      case "partition-batches": {
        const current = cursors[this.#batchCursor];
        if (current !== undefined && this.#batchLeft > 0 && ready(current)) {
          this.#batchLeft--;
          return current;
        }
        for (let i = 1; i <= cursors.length; i++) {
          const index = (this.#batchCursor + i + cursors.length) %
            cursors.length;
          if (ready(cursors[index])) {
            this.#batchCursor = index;
            this.#batchLeft = this.#batchSize - 1;
            return cursors[index];
          }
        }
        return undefined;
      }
    }
  }

  /**
   * Queues `bytes` for the client, applying the byte cut and trickling.
   * Returns a promise only when the caller must wait (backpressure, delay).
   */
  #write(bytes: Uint8Array, isolated: boolean): Promise<void> | undefined {
    if (this.#ended) return undefined;
    const record = this.#record;
    let cut = false;
    if (
      this.#cutBytes !== undefined &&
      record.bytesSent + bytes.length >= this.#cutBytes
    ) {
      bytes = bytes.subarray(0, this.#cutBytes - record.bytesSent);
      cut = true;
    }
    if (this.#trickle !== undefined) return this.#trickleOut(bytes, cut);
    record.bytesSent += bytes.length;
    if (bytes.length > 0) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.length;
    }
    if (cut) {
      this.#finish("cut-after-bytes", this.#cutAbrupt);
      return undefined;
    }
    if (isolated || this.#pendingBytes >= this.#options.coalesceBytes) {
      this.#flush();
      return this.#backpressure();
    }
    return undefined;
  }

  async #trickleOut(bytes: Uint8Array, cut: boolean): Promise<void> {
    const { bytes: size, delayMs } = this.#trickle!;
    for (let at = 0; at < bytes.length && !this.#ended; at += size) {
      const piece = bytes.subarray(at, at + size);
      this.#record.bytesSent += piece.length;
      this.#controller.enqueue(piece);
      const waiting = this.#backpressure();
      if (waiting) await waiting;
      if (delayMs > 0 && !this.#ended) await this.#sleep(delayMs);
    }
    if (cut) this.#finish("cut-after-bytes", this.#cutAbrupt);
  }

  #flush(): void {
    if (
      this.#pending.length === 0 || this.#record.end?.reason === "client-gone"
    ) return;
    let chunk: Uint8Array;
    if (this.#pending.length === 1) {
      chunk = this.#pending[0];
    } else {
      chunk = new Uint8Array(this.#pendingBytes);
      let at = 0;
      for (const part of this.#pending) {
        chunk.set(part, at);
        at += part.length;
      }
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#controller.enqueue(chunk);
  }

  #backpressure(): Promise<void> | undefined {
    if (this.#ended || (this.#controller.desiredSize ?? 0) > 0) {
      return undefined;
    }
    return new Promise((resolve) => this.#pulled = resolve);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#addTimer(ms, resolve, resolve));
  }

  /** Schedules `fn` on the clock; `onCancel` runs instead if the session ends first. */
  #addTimer(ms: number, fn: () => void, onCancel?: () => void): void {
    const entry = () => {
      cancel();
      onCancel?.();
    };
    const cancel = this.#options.clock.setTimeout(() => {
      this.#timers.delete(entry);
      fn();
    }, ms);
    this.#timers.add(entry);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #finish(reason: EmulatorEndReason, abrupt: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const cancel of [...this.#timers]) cancel();
    this.#timers.clear();
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    this.#record.end = { reason, abrupt, at: this.#options.clock.now() };
    this.#options.onEnd();
    this.#notify();
    const pulled = this.#pulled;
    this.#pulled = undefined;
    pulled?.();
    if (reason === "client-gone") return;
    this.#flush();
    if (!abrupt) {
      this.#controller.close();
      return;
    }
    // Let the queued bytes reach the client first, then reset.
    this.#resetPending = true;
    if (this.#controller.desiredSize === HIGH_WATER_MARK) this.#reset();
  }

  #reset(): void {
    if (!this.#resetPending) return;
    this.#resetPending = false;
    this.#controller.error(new EmulatedResetError());
  }
}

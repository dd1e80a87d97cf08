/**
 * The relay's durable log: append-only NDJSON segment files under one
 * directory, one record a line, `{topic, partition, offset, timestamp, data}`
 * (`data` the event object exactly as the upstream sent it).
 *
 * Why this shape: one file for every topic-partition keeps one write and one
 * `fdatasync` per batch (group commit), and the upstream resume point is
 * derived from the records themselves (the last offset of each partition),
 * so "cursor committed atomically with the log" holds by construction. A
 * hard kill can only leave a torn last line, which {@linkcode RelayLog.open}
 * cuts off. Retention drops whole segments (no rewriting).
 *
 * @module
 */

import type { EmulatorMessage } from "../testing/emulator/logs.ts";

/** One logged event. */
export interface RelayRecord extends EmulatorMessage {
  /** The Kafka topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
}

/** Options for {@linkcode RelayLog.open}. */
export interface RelayLogOptions {
  /**
   * Segments whose newest record is older than this are dropped (whole).
   *
   * @default {86_400_000}
   */
  retainMs?: number;
  /**
   * A segment is closed and a new one started beyond this size.
   *
   * @default {67_108_864}
   */
  segmentBytes?: number;
  /**
   * The current time, for retention.
   *
   * @default {Date.now}
   */
  now?: () => number;
}

const SEGMENT = /^(\d{12})\.ndjson$/;
const encoder = new TextEncoder();

/** An open relay log. */
export class RelayLog {
  /** The directory. */
  readonly dir: string;
  #file: Deno.FsFile;
  #segment: number;
  #segmentSize: number;
  #bytes: number;
  #options: Required<RelayLogOptions>;
  #chain: Promise<void> = Promise.resolve();
  /** Per segment: each partition's next offset when the segment began. */
  #starts: Map<number, Map<string, number>>;
  /** Each partition's next offset (last logged + 1). */
  #next: Map<string, number>;

  private constructor(
    dir: string,
    file: Deno.FsFile,
    segment: number,
    segmentSize: number,
    bytes: number,
    options: Required<RelayLogOptions>,
    starts: Map<number, Map<string, number>>,
    next: Map<string, number>,
  ) {
    this.#starts = starts;
    this.#next = next;
    this.dir = dir;
    this.#file = file;
    this.#segment = segment;
    this.#segmentSize = segmentSize;
    this.#bytes = bytes;
    this.#options = options;
  }

  /**
   * Opens (or creates) the log in `dir`: drops expired segments, reads the
   * rest in order (each record to `onRecord`), and cuts a torn last record.
   *
   * @param dir The directory (created when missing).
   * @param onRecord Called with every retained record, in log order.
   * @param options Retention and segment size.
   * @returns The open log, appending to its newest segment.
   * @throws {SyntaxError} When a record other than the last one is corrupt.
   */
  static async open(
    dir: string,
    onRecord: (record: RelayRecord) => void,
    options: RelayLogOptions = {},
  ): Promise<RelayLog> {
    const resolved: Required<RelayLogOptions> = {
      retainMs: options.retainMs ?? 86_400_000,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      now: options.now ?? Date.now,
    };
    await Deno.mkdir(dir, { recursive: true });
    await dropExpired(dir, resolved, Infinity);
    const segments = await listSegments(dir);
    let bytes = 0;
    let lastSize = 0;
    const starts = new Map<number, Map<string, number>>();
    const next = new Map<string, number>();
    for (const [i, segment] of segments.entries()) {
      starts.set(segment, new Map(next));
      const path = segmentPath(dir, segment);
      const buffer = await Deno.readFile(path);
      const text = new TextDecoder().decode(buffer);
      let start = 0;
      let goodBytes = 0;
      const last = i === segments.length - 1;
      while (start < text.length) {
        const end = text.indexOf("\n", start);
        if (end < 0) break; // A torn tail: no newline yet.
        const line = text.slice(start, end);
        let record: RelayRecord;
        try {
          record = parseRecord(line);
        } catch (error) {
          if (last) break;
          throw new SyntaxError(
            `Cannot open the relay log: ${path} has a corrupt record at byte ${
              encoder.encode(text.slice(0, start)).length
            } (${
              (error as Error).message
            }); move that file away to start without it`,
          );
        }
        onRecord(record);
        next.set(partitionKey(record), record.offset + 1);
        goodBytes += encoder.encode(line).length + 1;
        start = end + 1;
      }
      if (last && goodBytes < buffer.length) {
        await Deno.truncate(path, goodBytes);
      }
      bytes += goodBytes;
      lastSize = goodBytes;
    }
    const segment = segments.at(-1) ?? 1;
    if (!starts.has(segment)) starts.set(segment, new Map());
    const file = await Deno.open(segmentPath(dir, segment), {
      append: true,
      create: true,
    });
    return new RelayLog(
      dir,
      file,
      segment,
      lastSize,
      bytes,
      resolved,
      starts,
      next,
    );
  }

  /**
   * Where each partition's retained records begin: every offset at or above
   * it is still in the log (a partition absent from the map: all of it).
   */
  get retainedFrom(): ReadonlyMap<string, number> {
    return this.#starts.get(Math.min(...this.#starts.keys()))!;
  }

  /** Bytes held in retained segments. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends records and waits until they are on disk (`fdatasync`). Calls
   * are serialized; a batch is one write.
   *
   * @param records The records, in order.
   * @returns When they are durable.
   */
  append(records: readonly RelayRecord[]): Promise<void> {
    const run = this.#chain.then(() => this.#append(records));
    this.#chain = run.catch(() => {});
    return run;
  }

  async #append(records: readonly RelayRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.#segmentSize >= this.#options.segmentBytes) await this.#roll();
    const text = records.map(formatRecord).join("");
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += await this.#file.write(bytes.subarray(written));
    }
    await this.#file.syncData();
    this.#segmentSize += bytes.length;
    this.#bytes += bytes.length;
    for (const record of records) {
      this.#next.set(partitionKey(record), record.offset + 1);
    }
  }

  async #roll(): Promise<void> {
    this.#file.close();
    this.#segment++;
    this.#segmentSize = 0;
    this.#file = await Deno.open(segmentPath(this.dir, this.#segment), {
      append: true,
      create: true,
    });
    this.#starts.set(this.#segment, new Map(this.#next));
    this.#bytes -= await dropExpired(this.dir, this.#options, this.#segment);
    const kept = new Set(await listSegments(this.dir));
    for (const segment of this.#starts.keys()) {
      if (!kept.has(segment)) this.#starts.delete(segment);
    }
  }

  /**
   * Waits for pending appends and closes the file.
   *
   * @returns When closed.
   */
  async close(): Promise<void> {
    await this.#chain;
    this.#file.close();
  }
}

/** The key of a record's topic-partition in {@linkcode RelayLog.retainedFrom}. */
export function partitionKey(
  record: { topic: string; partition: number },
): string {
  return `${record.topic}\u0000${record.partition}`;
}

function segmentPath(dir: string, segment: number): string {
  return `${dir}/${String(segment).padStart(12, "0")}.ndjson`;
}

async function listSegments(dir: string): Promise<number[]> {
  const segments: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = SEGMENT.exec(entry.name);
    if (entry.isFile && match) segments.push(Number(match[1]));
  }
  return segments.sort((a, b) => a - b);
}

/** Removes segments below `keepFrom` last written before the retention; returns the bytes freed. */
async function dropExpired(
  dir: string,
  options: Required<RelayLogOptions>,
  keepFrom: number,
): Promise<number> {
  const segments = await listSegments(dir);
  let freed = 0;
  // The newest segment is always kept: it holds the resume point.
  for (const segment of segments.slice(0, -1)) {
    if (segment >= keepFrom) break;
    const path = segmentPath(dir, segment);
    const info = await Deno.stat(path);
    const written = info.mtime?.getTime() ?? options.now();
    if (options.now() - written <= options.retainMs) break;
    await Deno.remove(path);
    freed += info.size;
  }
  return freed;
}

/** One record as a line: the event's JSON (one line) is embedded verbatim, last. */
export function formatRecord(record: RelayRecord): string {
  return `${recordHead(record)}${record.data}}\n`;
}

/** What precedes the data in a record's line. */
function recordHead(
  record: Pick<RelayRecord, "topic" | "partition" | "offset" | "timestamp">,
): string {
  return `{"topic":${
    JSON.stringify(record.topic)
  },"partition":${record.partition},"offset":${record.offset},"timestamp":${record.timestamp},"data":`;
}

/** Reads one line written by {@linkcode formatRecord}. */
export function parseRecord(line: string): RelayRecord {
  const value = JSON.parse(line);
  if (
    typeof value?.topic !== "string" || !Number.isInteger(value.partition) ||
    !Number.isInteger(value.offset) || !Number.isFinite(value.timestamp) ||
    value.data === null || typeof value.data !== "object"
  ) {
    throw new TypeError(`expected {topic, partition, offset, timestamp, data}`);
  }
  // The data as it was written (the server's text: its spacing, integers
  // beyond 2^53), when the line is one formatRecord wrote.
  const head = recordHead(value);
  return {
    topic: value.topic,
    partition: value.partition,
    offset: value.offset,
    timestamp: value.timestamp,
    data: line.startsWith(head) && line.endsWith("}") &&
        Object.keys(value).length === 5
      ? line.slice(head.length, -1)
      : JSON.stringify(value.data),
  };
}

/**
 * Where a session resumes from: the pure state behind `eventStream()`'s
 * cursor, apart from the connection loop that feeds it.
 *
 * It decides what each request asks for (`Last-Event-ID` or `since`), learns
 * from the server's ids, checks that an event belongs to the connection, and
 * records every consumed event, handed over or dropped, so that the public
 * cursor never falls behind what was read.
 *
 * @module
 */
import { BrowserResume } from "./browser_resume.ts";
import { Cursor, type CursorEntry, type EventPosition } from "./cursor.ts";
import { CursorError } from "./errors.ts";
import { quote } from "./_show.ts";

/**
 * Per PROTOCOL.md: every stream is mirrored as one topic per datacenter,
 * `eqiad.<stream>` and `codfw.<stream>`, listed in this order.
 */
export const DATACENTERS: readonly string[] = ["eqiad", "codfw"];

/**
 * Tells whether a Kafka topic belongs to a stream: `<datacenter>.<stream>`
 * (a prefix without dots), or the stream's own name.
 *
 * @param topic A Kafka topic, e.g. `eqiad.mediawiki.recentchange`.
 * @param stream A canonical stream name, e.g. `mediawiki.recentchange`.
 * @returns `true` when the topic carries that stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topicOfStream } from "./resume_point.ts";
 * assert.equal(topicOfStream("codfw.mediawiki.recentchange", "mediawiki.recentchange"), true);
 * assert.equal(topicOfStream("eqiad.mediawiki.page-create", "mediawiki.recentchange"), false);
 * assert.equal(topicOfStream("eqiad.mediawiki.recentchange", "recentchange"), false);
 * ```
 */
export function topicOfStream(topic: string, stream: string): boolean {
  if (topic === stream) return true;
  const prefixLength = topic.length - stream.length - 1;
  return prefixLength > 0 && topic.endsWith(stream) &&
    topic.charCodeAt(prefixLength) === 0x2e && // "."
    !topic.slice(0, prefixLength).includes(".");
}

/** Options of {@linkcode ResumePoint}. */
export interface ResumePointOptions {
  /** The canonical names of the requested streams. */
  streams: readonly string[];
  /** The caller's cursor (kept, not copied). */
  cursor?: Cursor;
  /** The caller's `since`, epoch milliseconds. */
  sinceMs?: number;
  /**
   * Resume without `Last-Event-ID` (a browser cannot send it cross-origin):
   * every request asks for a `since` chosen by {@linkcode BrowserResume},
   * and the cursor drops what comes twice.
   *
   * @default {false}
   */
  bySince?: boolean;
}

/** What one request asks for. */
export interface ResumeRequest {
  /** The `Last-Event-ID` to send, or `undefined` for none. */
  lastEventId: string | undefined;
  /** The `since` to send (epoch milliseconds), or `undefined` for none. */
  sinceMs: number | undefined;
  /**
   * Topics of the requested streams that the cursor lacked and that this
   * request adds (first request only), and the time they are read from.
   */
  added?: { topics: string[]; fromMs: number; from: string };
}

/**
 * The resume state of one session. Feed it each request and each event in
 * the order the connection loop sees them; read {@linkcode ResumePoint.text}
 * for the public cursor.
 *
 * Beyond the server's behaviour, in three places:
 * - `offset: -1` ("latest") entries are pinned to the session's earliest
 *   server timestamp, down to the whole second, before a resume, so the
 *   other datacenter's topic does not skip what arrived there meanwhile;
 * - a live start (no cursor, no `since`) that fails before its first event
 *   retries with `since` set to the first request's time, down to the whole
 *   second;
 * - a cursor that lacks topics of the requested streams gets them added
 *   (the server reads only the topics a `Last-Event-ID` lists).
 *
 * @example A cursor lacking the other datacenter's topic gets it added
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cursor } from "./cursor.ts";
 * import { ResumePoint } from "./resume_point.ts";
 *
 * const cursor = Cursor.parse('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":7}]');
 * const point = new ResumePoint({ streams: ["mediawiki.recentchange"], cursor, sinceMs: Date.UTC(2026, 0, 1) });
 * const request = point.request(Date.UTC(2026, 0, 2));
 * assert.deepEqual(request.added?.topics, ["codfw.mediawiki.recentchange"]);
 * assert.equal(
 *   request.lastEventId,
 *   '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":7},' +
 *     '{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":1767225600000}]',
 * );
 * ```
 */
export class ResumePoint {
  readonly #streams: readonly string[];
  readonly #sinceMs: number | undefined;
  /** Everything consumed: advanced for every valid event, handed over or dropped. */
  #consumed: Cursor | undefined;
  /** `#consumed` was built from events before any server id listed the connection's partitions. */
  #provisional = false;
  /** `#consumed` holds `offset: -1` entries still to pin. */
  #hasLatest: boolean;
  /** The earliest server timestamp of the session (id timestamps, event dt), tracked until pinned. */
  #earliestMs: number | undefined;
  #liveStartMs: number | undefined;
  #requests = 0;
  /** The connection's topics: those its `Last-Event-ID` listed, or its first server id. */
  #topics: Set<string> | undefined;
  #approximate = false;
  /** The last topic found to belong to the connection. */
  #lastTopic = "";
  /** The last id text seen on this connection, to parse each distinct id once. */
  #lastIdText = "";
  /** With `bySince`: the since of each request, made at the first request. */
  #bySince: BrowserResume | undefined | null;
  /** With `bySince`: this connection skipped events (see {@linkcode ResumePoint.gap}). */
  #gap = false;

  /**
   * Starts from the caller's cursor, if any.
   *
   * @param options The requested streams, the caller's cursor and `since`.
   * @throws {CursorError} When the cursor names topics of other streams.
   * @throws {TypeError} With `bySince`, when the cursor has an offset entry
   *   and there is no `sinceMs`.
   */
  constructor(options: ResumePointOptions) {
    this.#streams = options.streams;
    this.#sinceMs = options.sinceMs;
    this.#consumed = options.cursor;
    this.#hasLatest = options.cursor?.entries.some(isLatest) ?? false;
    if (options.cursor) this.#checkTopics(options.cursor);
    this.#bySince = options.bySince ? undefined : null;
    const placed = options.cursor?.entries.find((e) =>
      "offset" in e && e.offset >= 0
    );
    if (options.bySince && placed && options.sinceMs === undefined) {
      throw new TypeError(
        `Cannot resume from cursor entry ${
          quote(JSON.stringify(placed))
        } without Last-Event-ID (a browser cannot send it): the client resumes by time there, and an offset ` +
          "says none; pass since too, a time at or before the cursor's last events (repeats are dropped)",
      );
    }
  }

  /**
   * The public cursor: a `Last-Event-ID` covering every consumed event, `""`
   * before anything is known.
   */
  get text(): string {
    if (this.#consumed === undefined) return "";
    if (this.#hasLatest) this.#pinLatest();
    return this.#consumed.toString();
  }

  /**
   * What the next request asks for. Starts a new connection: its topics are
   * those of the `Last-Event-ID` sent, or else learnt from its first id.
   *
   * @param nowMs The time of the request.
   * @returns The `Last-Event-ID` or `since` to send.
   */
  request(nowMs: number): ResumeRequest {
    const first = this.#requests++ === 0;
    let added: ResumeRequest["added"];
    if (first) {
      // Down to the whole second, as pins are: a retry from here must not
      // skip a recentchange event of this second (its Kafka timestamp has
      // no milliseconds, PROTOCOL.md).
      this.#liveStartMs = Math.floor(nowMs / 1000) * 1000;
      if (this.#consumed) added = this.#addMissingTopics(nowMs);
    }
    this.#lastIdText = "";
    this.#lastTopic = "";
    if (this.#bySince !== null) return this.#requestBySince(first, added);
    if (this.#consumed !== undefined) {
      const lastEventId = this.text;
      const entries = this.#consumed.entries;
      this.#topics = new Set(entries.map((e) => e.topic));
      this.#approximate = entries.some((e) => "timestamp" in e);
      return { lastEventId, sinceMs: undefined, ...(added ? { added } : {}) };
    }
    this.#topics = undefined;
    this.#approximate = false;
    return {
      lastEventId: undefined,
      sinceMs: this.#sinceMs ?? (first ? undefined : this.#liveStartMs),
    };
  }

  /**
   * With `bySince`: `true` once the current connection was found to skip
   * events (it started a partition past the cursor); drop it and request
   * again: the next `since` brings them back.
   */
  get gap(): boolean {
    return this.#gap;
  }

  /**
   * With `bySince`, judges a valid event of the connection before it is
   * consumed; without, admits all.
   *
   * @param meta The event's position and time.
   * @returns `false` when it reveals a gap (see {@linkcode ResumePoint.gap}):
   *   the event must not be consumed.
   */
  admits(meta: EventPosition): boolean {
    if (!this.#bySince || meta.dt === undefined) return true;
    if (this.#bySince.event({ ...meta, dt: meta.dt }) === "gap") {
      this.#gap = true;
    }
    return !this.#gap;
  }

  /** A request without `Last-Event-ID`; the cursor text stays as it is. */
  #requestBySince(
    first: boolean,
    added: ResumeRequest["added"],
  ): ResumeRequest {
    if (first) this.#bySince = this.#startBySince();
    this.#gap = false;
    this.#topics = undefined; // By since, the server reads every topic of the streams.
    const sinceMs = this.#bySince!.nextSince() ??
      (first ? undefined : this.#liveStartMs);
    return { lastEventId: undefined, sinceMs, ...(added ? { added } : {}) };
  }

  /**
   * From a cursor, the first `since` is its earliest timestamp entry (or
   * `since`, if earlier); an offset entry says no time, so it needs `since`.
   */
  #startBySince(): BrowserResume {
    const entries = this.#consumed?.entries ?? [];
    const times = entries.flatMap((e) => "timestamp" in e ? [e.timestamp] : []);
    const since = Math.min(...times, this.#sinceMs ?? Infinity);
    return new BrowserResume({
      since: since === Infinity ? undefined : since,
      cursor: entries.flatMap((e) => "offset" in e ? [e] : []),
    });
  }

  /**
   * Learns from a frame's server id: the starting cursor (when there is
   * none yet) and the session's earliest server timestamp.
   *
   * An id written after the frame's event describes the position *after*
   * it: where it gives that event's own partition as an exact offset, the
   * adopted cursor starts at the event instead, so the event is not taken
   * for one already consumed.
   *
   * @param text The frame's id.
   * @param meta The frame's event, when it is a valid one.
   * @returns The error to report for an id that is not a KafkaSSE id (each
   * distinct id once), or `undefined`.
   */
  observeId(text: string, meta?: EventPosition): CursorError | undefined {
    if (text === this.#lastIdText) return undefined;
    // Once the cursor, the connection's topics and the pins are known, an
    // id teaches nothing more: skip parsing those that look like KafkaSSE
    // ids (a JSON array); anything else is still parsed, and reported.
    if (
      this.#topics !== undefined && !this.#provisional && !this.#hasLatest &&
      this.#consumed !== undefined && text.charCodeAt(0) === 0x5b &&
      text.charCodeAt(text.length - 1) === 0x5d
    ) {
      this.#lastIdText = text;
      return undefined;
    }
    this.#lastIdText = text;
    let id: Cursor;
    try {
      id = Cursor.parse(text);
    } catch (error) {
      return error as CursorError;
    }
    if (this.#consumed === undefined || this.#provisional) {
      const known = this.#consumed?.entries ?? [];
      const entries = [...known];
      for (const entry of id.entries) {
        const listed = known.some((k) =>
          k.topic === entry.topic && k.partition === entry.partition
        );
        if (!listed) entries.push(beforeEvent(entry, meta));
      }
      this.#consumed = Cursor.fromEntries(entries);
      this.#hasLatest = entries.some(isLatest);
      this.#provisional = false;
    }
    if (this.#topics === undefined) {
      this.#topics = new Set(id.entries.map((e) => e.topic));
      this.#lastTopic = "";
    }
    if (this.#bySince) {
      // Per PROTOCOL.md: until a partition delivers, the id lists where the
      // since started it (an offset; -1 when it had nothing at or after).
      // The frame's own partition is judged by its event instead.
      for (const entry of id.entries) {
        if (
          "offset" in entry &&
          !(entry.topic === meta?.topic &&
            entry.partition === meta.partition) &&
          this.#bySince.started(entry) === "gap"
        ) this.#gap = true;
      }
    }
    if (this.#hasLatest) {
      for (const entry of id.entries) {
        if ("timestamp" in entry) {
          this.#earliestMs = Math.min(
            this.#earliestMs ?? Infinity,
            entry.timestamp,
          );
        }
      }
    }
    return undefined;
  }

  /**
   * Tells whether an event belongs to the connection: its topic is one the
   * connection reads. An event from another topic would poison the cursor
   * (the next resume would name a topic the server refuses with 404).
   *
   * @param meta The event's position.
   * @returns `true` when the topic is one of the connection's.
   */
  belongs(meta: EventPosition): boolean {
    const topic = meta.topic;
    if (topic === this.#lastTopic) return true;
    const ok = (this.#topics?.has(topic) ?? true) &&
      this.#streams.some((s) => topicOfStream(topic, s));
    if (ok) this.#lastTopic = topic;
    return ok;
  }

  /**
   * Tells whether an event was consumed already.
   *
   * @param meta The event's position.
   * @returns `true` when the cursor is past it.
   */
  covers(meta: EventPosition): boolean {
    return this.#consumed?.covers(meta) ?? false;
  }

  /**
   * Records a valid event as consumed (handed over or dropped).
   *
   * @param meta The event's position (and `dt`, for pinning).
   */
  advance(meta: EventPosition): void {
    if (this.#consumed === undefined) {
      this.#consumed = Cursor.fromEntries([]);
      this.#provisional = true;
    }
    this.#consumed.advance(meta);
    // A provisional cursor may yet learn of "latest" entries: keep the time too.
    if ((this.#hasLatest || this.#provisional) && meta.dt !== undefined) {
      const ms = Date.parse(meta.dt);
      if (Number.isInteger(ms)) {
        this.#earliestMs = Math.min(this.#earliestMs ?? Infinity, ms);
      }
      if (this.#hasLatest) this.#pinLatest();
    }
  }

  /**
   * Whether an event's time (`meta.dt`) still counts: while the cursor is
   * not yet known from an id or holds "latest" entries to pin, and when
   * resuming by `since`. Otherwise its position (topic, partition, offset) is
   * all that judging and consuming it reads.
   */
  get needsEventTime(): boolean {
    return this.#bySince !== null || this.#hasLatest || this.#provisional ||
      this.#consumed === undefined;
  }

  /**
   * Whether the connection's `Last-Event-ID` placed some partition by
   * timestamp: then events already consumed under another topic-partition
   * (the same `meta.id`) may come again, and are worth checking for.
   */
  get approximate(): boolean {
    return this.#approximate;
  }

  #pinLatest(): void {
    if (this.#earliestMs === undefined) return;
    // Down to the whole second: the earliest time may come from a topic with
    // milliseconds (page_change), while a quiet partition's Kafka timestamps
    // may be whole seconds (recentchange's meta.dt, PROTOCOL.md), and its
    // events in the same second would be skipped. Reading from a little
    // earlier can only add events from before the live start, never lose any.
    this.#consumed!.pinLatest(Math.floor(this.#earliestMs / 1000) * 1000);
    this.#hasLatest = false;
  }

  /** Refuses a cursor that names topics of streams not asked for. */
  #checkTopics(cursor: Cursor): void {
    const foreign = [
      ...new Set(
        cursor.entries.map((e) => e.topic).filter((topic) =>
          !this.#streams.some((s) => topicOfStream(topic, s))
        ),
      ),
    ];
    if (foreign.length === 0) return;
    throw new CursorError(
      `Cannot resume from a cursor naming ${foreign.map(quote).join(", ")}: ${
        foreign.length === 1 ? "that topic is" : "those topics are"
      } not of the streams asked for (${
        this.#streams.map(quote).join(", ")
      }); pass the cursor saved for these streams, or ask for the streams it was saved from`,
    );
  }

  /**
   * Per PROTOCOL.md: a `Last-Event-ID` replaces the server's assignment, so
   * a topic it does not list is never read. Adds each requested stream's
   * missing topics (partition 0), from `since` when given, otherwise from
   * the cursor's latest timestamp, otherwise from now.
   */
  #addMissingTopics(nowMs: number): ResumeRequest["added"] {
    const cursor = this.#consumed!;
    const listed = new Set(cursor.entries.map((e) => e.topic));
    const missing = this.#streams.flatMap((s) =>
      // A cursor naming a stream's own-name topic is complete for it.
      listed.has(s)
        ? []
        : DATACENTERS.map((dc) => `${dc}.${s}`).filter((t) => !listed.has(t))
    );
    if (missing.length === 0) return undefined;
    const timestamps = cursor.entries.flatMap((e) =>
      "timestamp" in e ? [e.timestamp] : []
    );
    const [fromMs, from] = this.#sinceMs !== undefined
      ? [this.#sinceMs, "since"]
      : timestamps.length > 0
      ? [Math.max(...timestamps), "the cursor's latest timestamp"]
      : [nowMs, "now (the cursor has no time)"];
    this.#consumed = Cursor.fromEntries([
      ...cursor.entries,
      ...missing.map((topic) => ({ topic, partition: 0, timestamp: fromMs })),
    ]);
    return { topics: missing, fromMs, from };
  }
}

function isLatest(entry: CursorEntry): boolean {
  return "offset" in entry && entry.offset === -1;
}

/** The entry for the position just before `meta`'s event, when `entry` is past it. */
function beforeEvent(entry: CursorEntry, meta?: EventPosition): CursorEntry {
  if (
    meta === undefined || !("offset" in entry) ||
    entry.topic !== meta.topic || entry.partition !== meta.partition ||
    entry.offset <= meta.offset
  ) return entry;
  return {
    topic: entry.topic,
    partition: entry.partition,
    offset: meta.offset,
  };
}

/**
 * Where a browser resumes: the `since` of each request, chosen without
 * `Last-Event-ID` (a cross-origin page cannot send it: the server's CORS
 * preflight refuses it), and a check of each connection's start against the
 * offset cursor. Pure: no I/O, no timers.
 *
 * Per PROTOCOL.md, `since=T` starts every topic-partition at its first
 * message with a timestamp at or after `T` (Kafka's offsets-for-times), or
 * at its end when there is none. So a `T` at or before the timestamp of an
 * event already seen from a partition (its *anchor*) starts that partition
 * at or before its cursor, and the cursor drops the repeats: exact. The
 * smallest anchor over all partitions would always be exact, but a quiet
 * partition (the other datacenter's topic, one event an hour) then drags
 * every resume back an hour, and with connections cut more often than that
 * hour's events fit in one, the client never gets past the first cut.
 *
 * Beyond the server's behaviour, so the replay after a resume is bounded by
 * what was consumed since the last resume point:
 * - `T` is the smallest anchor among the partitions that consumed a new
 *   event after the last resume point with a timestamp past it; `T` never
 *   moves back except to repair a gap (below).
 * - Every other partition whose anchor is older than `T` is *speculative*
 *   on the next connection: the first thing the connection says about it,
 *   its start offset in the server's id or its first event, must be at or
 *   below its cursor. If it is past the cursor, the events in between were
 *   skipped: the verdict is `"gap"`, the client drops that connection
 *   without handing the event over, and the next `since` includes that
 *   partition's anchor, which brings them back.
 * - A start offset of `-1` (no event at or after `T`) is a gap too when an
 *   event is known to wait at the cursor (an earlier start was there);
 *   otherwise it says nothing, and the partition's first event, whenever it
 *   comes, is checked instead.
 *
 * @module
 */

import { quote } from "./_show.ts";

/** A Kafka position: one topic-partition and an offset in it. */
export interface PartitionOffset {
  /** Kafka topic. */
  topic: string;
  /** Kafka partition. */
  partition: number;
  /** Kafka offset. */
  offset: number;
}

/** A consumed or repeated event's position and time (`meta.dt`, ISO-8601). */
export interface TimedPosition extends PartitionOffset {
  /** The event time; Kafka's timestamp equals it (PROTOCOL.md). */
  dt: string;
}

/**
 * What an event means for the resume: `"new"` (at or past the cursor),
 * `"repeat"` (below it: drop it), or `"gap"` (past the cursor on a
 * speculative partition: events were skipped; drop the connection).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ResumeVerdict } from "./browser_resume.ts";
 * const handOver = (verdict: ResumeVerdict): boolean => verdict === "new";
 * assert.ok(handOver("new") && !handOver("gap"));
 * ```
 */
export type ResumeVerdict = "new" | "repeat" | "gap";

/** What the resume knows of one topic-partition. */
interface Partition {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume; `undefined` until a start or an event says. */
  next: number | undefined;
  /** The latest timestamp known to start this partition at or before `next`. */
  anchor: number | undefined;
  /** An event at offset `next` is known to exist (a start was there). */
  pending: boolean;
  /** Consumed a new event since the current resume point. */
  moved: boolean;
  /** A gap was found: the next `since` must include the anchor. */
  gapped: boolean;
  /** The current connection has already said where this partition stands. */
  placed: boolean;
}

/**
 * Chooses each request's `since` and judges each connection's start and
 * events against the offset cursor, for a client that cannot send
 * `Last-Event-ID`.
 *
 * @example The quiet partition does not drag the resume back
 * ```ts
 * import assert from "node:assert/strict";
 * import { BrowserResume } from "./browser_resume.ts";
 *
 * const resume = new BrowserResume({ since: Date.parse("2026-09-27T16:00:00Z") });
 * assert.equal(resume.nextSince(), Date.parse("2026-09-27T16:00:00Z"));
 * // The first connection: one codfw event at the start, then busy eqiad.
 * resume.event({ topic: "codfw.x", partition: 0, offset: 7, dt: "2026-09-27T16:00:00Z" });
 * resume.event({ topic: "eqiad.x", partition: 0, offset: 40, dt: "2026-09-27T16:50:00Z" });
 * // Cut. The next request starts at eqiad's last event, not at codfw's hour-old one.
 * assert.equal(resume.nextSince(), Date.parse("2026-09-27T16:50:00Z"));
 * // codfw is checked instead: the server's start for it must not skip its cursor.
 * assert.equal(resume.started({ topic: "codfw.x", partition: 0, offset: 9 }), "gap");
 * assert.equal(resume.nextSince(), Date.parse("2026-09-27T16:00:00Z")); // repair
 * ```
 */
export class BrowserResume {
  #partitions = new Map<string, Partition>();
  /** The `since` of the current connection (epoch ms), `undefined` for live. */
  #since: number | undefined;
  #opened = false;

  /**
   * @param options `since`: the first request's start (epoch ms), if any;
   *   `cursor`: the positions to resume from (next offsets to consume).
   */
  constructor(
    options: { since?: number; cursor?: readonly PartitionOffset[] } = {},
  ) {
    this.#since = options.since;
    for (const entry of options.cursor ?? []) {
      if (entry.offset >= 0) this.#slot(entry).next = entry.offset;
    }
  }

  /**
   * The `since` (epoch ms) to request next, `undefined` for live; opens a
   * new resume point.
   *
   * @returns The smallest anchor among the partitions that moved past the
   *   last resume point, and of those with a gap to repair; else the last
   *   `since` again.
   * @throws {RangeError} When a gap must be repaired on a partition with no
   *   known time (a resumed cursor whose events this session never saw).
   */
  nextSince(): number | undefined {
    if (this.#opened) {
      const last = this.#since ?? -Infinity;
      let since = Infinity;
      for (const p of this.#partitions.values()) {
        if (p.gapped) {
          if (p.anchor === undefined) {
            throw new RangeError(
              `Cannot resume ${
                quote(`${p.topic}/${p.partition}`)
              } at offset ${p.next} without Last-Event-ID: the server starts it later at that since, and no ` +
                "event of it was seen to start from; pass an earlier since (repeats are dropped)",
            );
          }
          since = Math.min(since, p.anchor);
        } else if (p.moved && p.anchor !== undefined && p.anchor > last) {
          since = Math.min(since, p.anchor);
        }
      }
      if (since !== Infinity) this.#since = since;
    }
    this.#opened = true;
    for (const p of this.#partitions.values()) {
      p.moved = false;
      p.placed = false;
    }
    return this.#since;
  }

  /**
   * Judges where the server starts a partition on this connection: an
   * `offset` entry of its id, for a partition that has not delivered yet.
   *
   * @param start The entry (`offset: -1` says nothing and is ignored).
   * @returns `"gap"` when the start skips events of a speculative partition.
   */
  started(start: PartitionOffset): "ok" | "gap" {
    const p = this.#slot(start);
    if (p.placed) return "ok";
    if (start.offset < 0) {
      // No event at or after the since: the event known to wait at the
      // cursor is older, so it would be skipped. Otherwise this says nothing.
      return p.pending && this.#speculative(p) ? this.#gap(p) : "ok";
    }
    if (p.next !== undefined && start.offset > p.next) {
      if (this.#speculative(p)) return this.#gap(p);
    } else {
      // The since maps to this start: at or before the cursor, so it is an anchor.
      p.next ??= start.offset;
      p.pending ||= start.offset === p.next;
      if (this.#since !== undefined) {
        p.anchor = Math.max(p.anchor ?? -Infinity, this.#since);
      }
    }
    p.placed = true;
    return "ok";
  }

  /**
   * Judges a valid event (before the cursor does) and learns from it.
   *
   * @param event Its position and `meta.dt`.
   * @returns `"new"`, `"repeat"` or `"gap"` (see {@linkcode ResumeVerdict}).
   */
  event(event: TimedPosition): ResumeVerdict {
    const p = this.#slot(event);
    const first = !p.placed;
    p.placed = true;
    if (p.next !== undefined && event.offset > p.next && first) {
      if (this.#speculative(p)) return this.#gap(p);
    }
    const ms = Date.parse(event.dt);
    if (Number.isFinite(ms)) p.anchor = Math.max(p.anchor ?? -Infinity, ms);
    if (p.next !== undefined && event.offset < p.next) return "repeat";
    p.next = event.offset + 1;
    p.pending = false;
    p.moved = true;
    p.gapped = false;
    return "new";
  }

  /** Speculative: the current `since` may start it past its cursor. */
  #speculative(p: Partition): boolean {
    return this.#since !== undefined &&
      (p.anchor === undefined || p.anchor < this.#since);
  }

  #gap(p: Partition): "gap" {
    p.gapped = true;
    p.placed = false;
    return "gap";
  }

  #slot(position: { topic: string; partition: number }): Partition {
    const key = `${position.topic}\u0000${position.partition}`;
    let p = this.#partitions.get(key);
    if (p === undefined) {
      p = {
        topic: position.topic,
        partition: position.partition,
        next: undefined,
        anchor: undefined,
        pending: false,
        moved: false,
        gapped: false,
        placed: false,
      };
      this.#partitions.set(key, p);
    }
    return p;
  }
}

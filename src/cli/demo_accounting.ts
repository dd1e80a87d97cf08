/**
 * The demo's loss accounting: what a consumer delivered, compared with what
 * the server's log holds, by Kafka position (topic, partition, offset).
 *
 * @module
 */

/** Where one event lives in Kafka: the identity the accounting compares. */
export interface DeliveryPosition {
  /** The Kafka topic, e.g. `eqiad.mediawiki.recentchange`. */
  topic: string;
  /** The partition number. */
  partition: number;
  /** The offset within the topic-partition. */
  offset: number;
}

/** The outcome of {@linkcode compareDeliveries}. */
export interface DeliveryReport {
  /** Events expected (distinct positions of the log). */
  expected: number;
  /** Events delivered, repeats included. */
  delivered: number;
  /**
   * Expected positions never delivered although a later offset of their
   * topic-partition was: skipped, in the order of the expected list.
   */
  lost: DeliveryPosition[];
  /**
   * Expected positions never delivered, after the last delivered offset of
   * their topic-partition: not reached (yet) when the run stopped, in the
   * order of the expected list. Empty for a run that reached the end.
   */
  undelivered: DeliveryPosition[];
  /** One entry per extra delivery of a position (a position delivered 3 times appears twice), in delivery order. */
  duplicated: DeliveryPosition[];
  /** Delivered positions the log does not hold among the expected ones (e.g. a canary that leaked), in delivery order. */
  unexpected: DeliveryPosition[];
}

const partitionKey = (p: DeliveryPosition): string =>
  `${p.topic}\u0000${p.partition}`;
const key = (p: DeliveryPosition): string =>
  `${partitionKey(p)}\u0000${p.offset}`;

/**
 * Compares the positions a consumer delivered with the positions it had to
 * deliver. Every expected position must be delivered exactly once. A
 * missing one is lost when a later offset of its topic-partition was
 * delivered (offsets arrive in order within a topic-partition, so it was
 * skipped), else undelivered (the run stopped before it); repeats are
 * duplicated, others are unexpected.
 *
 * @param expected The positions the log holds (repeats in it count once).
 * @param delivered The positions delivered, in delivery order.
 * @returns The counts and the offending positions.
 *
 * @example One event missing, one repeated
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareDeliveries } from "./demo_accounting.ts";
 *
 * const at = (offset: number) => ({ topic: "eqiad.mediawiki.recentchange", partition: 0, offset });
 * const report = compareDeliveries([at(1), at(2), at(3), at(4)], [at(1), at(3), at(3)]);
 * assert.deepEqual(report.lost, [at(2)]);
 * assert.deepEqual(report.undelivered, [at(4)]);
 * assert.deepEqual(report.duplicated, [at(3)]);
 * assert.equal(report.delivered, 3);
 * ```
 */
export function compareDeliveries(
  expected: Iterable<DeliveryPosition>,
  delivered: Iterable<DeliveryPosition>,
): DeliveryReport {
  const wanted = new Map<string, DeliveryPosition>();
  for (const position of expected) wanted.set(key(position), position);
  const seen = new Set<string>();
  const reached = new Map<string, number>(); // topic-partition -> last offset delivered
  const duplicated: DeliveryPosition[] = [];
  const unexpected: DeliveryPosition[] = [];
  let count = 0;
  for (const position of delivered) {
    count++;
    const tp = partitionKey(position);
    reached.set(tp, Math.max(reached.get(tp) ?? -Infinity, position.offset));
    const k = key(position);
    if (seen.has(k)) {
      duplicated.push(position);
      continue;
    }
    seen.add(k);
    if (!wanted.has(k)) unexpected.push(position);
  }
  const lost: DeliveryPosition[] = [];
  const undelivered: DeliveryPosition[] = [];
  for (const [k, position] of wanted) {
    if (seen.has(k)) continue;
    const last = reached.get(partitionKey(position)) ?? -Infinity;
    (position.offset < last ? lost : undelivered).push(position);
  }
  return {
    expected: wanted.size,
    delivered: count,
    lost,
    undelivered,
    duplicated,
    unexpected,
  };
}

/**
 * The demo's last line: `N events delivered, L lost, D duplicated, K reconnects`.
 *
 * @param report The accounting.
 * @param reconnects How many times the client reconnected.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareDeliveries, formatDeliverySummary } from "./demo_accounting.ts";
 *
 * const at = { topic: "t", partition: 0, offset: 7 };
 * assert.equal(
 *   formatDeliverySummary(compareDeliveries([at], [at]), 4),
 *   "1 events delivered, 0 lost, 0 duplicated, 4 reconnects",
 * );
 * ```
 */
export function formatDeliverySummary(
  report: DeliveryReport,
  reconnects: number,
): string {
  return `${report.delivered} events delivered, ${report.lost.length} lost, ${report.duplicated.length} duplicated, ${reconnects} reconnects`;
}

/**
 * A position as `topic/partition@offset`, the way the demo lists lost and
 * duplicated events.
 *
 * @param position The position.
 * @returns The text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPosition } from "./demo_accounting.ts";
 *
 * assert.equal(formatPosition({ topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 42 }),
 *   "eqiad.mediawiki.recentchange/0@42");
 * ```
 */
export function formatPosition(position: DeliveryPosition): string {
  return `${position.topic}/${position.partition}@${position.offset}`;
}

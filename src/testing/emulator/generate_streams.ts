/**
 * Builds a whole emulated data set from a seed: every public stream with
 * generated events in `eqiad.` and `codfw.` topics.
 *
 * @module
 */

import { parseUtcDateTime } from "../../date_time.ts";
import { EventGenerator } from "./generator.ts";
import { TopicPartitionLog } from "./logs.ts";
import {
  type EmulatorStreamConfig,
  EmulatorStreams,
  PUBLIC_STREAM_CONFIGS,
} from "./stream_set.ts";

/**
 * Options for {@linkcode generateStreams}.
 *
 * @example
 * ```ts no-assert
 * import type { GenerateStreamsOptions } from "@eventstreams/client/testing";
 * const options: GenerateStreamsOptions = { seed: 9, partitions: 2, canaryEvery: 100 };
 * ```
 */
export interface GenerateStreamsOptions {
  /**
   * The PRNG seed; the same options give byte-identical logs.
   *
   * @default {1}
   */
  seed?: number;
  /**
   * When the generated traffic starts (epoch ms, ISO string or Date; an
   * ISO date-time without an offset is UTC, as on the server).
   *
   * @default {"2026-09-27T16:15:00Z"}
   */
  start?: number | string | Date;
  /**
   * Over how long the generated events of each stream are spread.
   *
   * @default {150_000}
   */
  durationMs?: number;
  /**
   * How many events to generate per stream (canonical name or alias).
   * Streams not listed get none; `{}` generates nothing.
   *
   * @default {defaultEventCounts(durationMs)}
   */
  counts?: Readonly<Record<string, number>>;
  /**
   * Partitions per topic (for topics that `logs` does not already hold).
   *
   * @default {1}
   */
  partitions?: number;
  /**
   * The share of events that go to the `codfw.` topic (MediaWiki writes to
   * the primary datacenter; the secondary sees a trickle).
   *
   * @default {0.05}
   */
  codfwShare?: number;
  /**
   * Every Nth event of each stream is a canary event; 0 for none. The live
   * streams do carry canary events: set it to test that a consumer drops
   * (or survives) them.
   *
   * @default {0}
   */
  canaryEvery?: number;
  /**
   * The stream configs.
   *
   * @default {PUBLIC_STREAM_CONFIGS}
   */
  configs?: readonly EmulatorStreamConfig[];
  /**
   * Existing logs to extend: generated events are appended after their
   * messages (the fixture loader passes the real events this way).
   *
   * @default {[]}
   */
  logs?: readonly TopicPartitionLog[];
  /**
   * The `/?spec` document to serve (JSON text).
   *
   * @default {undefined}
   */
  spec?: string;
}

const DEFAULT_COUNTS: Readonly<Record<string, number>> = {
  "mediawiki.recentchange": 3000,
  "mediawiki.revision-create": 600,
  "mediawiki.page_change.v1": 600,
  "mediawiki.page-links-change": 300,
  "mediawiki.page-create": 40,
  "mediawiki.revision-tags-change": 40,
  "mediawiki.page-properties-change": 30,
  "mediawiki.page-delete": 20,
  "mediawiki.page-move": 10,
  "mediawiki.page-undelete": 3,
  "mediawiki.revision-visibility-change": 2,
};

/**
 * The default volume of {@linkcode generateStreams}, a few thousand events:
 * `mediawiki.recentchange` 3000, `revision-create` 600, `page_change.v1`
 * 600, `page-links-change` 300, `page-create` 40, `revision-tags-change` 40,
 * `page-properties-change` 30, `page-delete` 20, `page-move` 10,
 * `page-undelete` 3, `revision-visibility-change` 2, and the test stream one
 * a minute of `durationMs`.
 *
 * @param durationMs The generated time span.
 * @returns Event counts by canonical stream name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultEventCounts } from "@eventstreams/client/testing";
 * const counts = defaultEventCounts(150_000);
 * assert.ok(counts["mediawiki.recentchange"] === 3000);
 * assert.ok(counts["eventgate-main.test.event"] === 3);
 * ```
 */
export function defaultEventCounts(
  durationMs = 150_000,
): Record<string, number> {
  return {
    ...DEFAULT_COUNTS,
    "eventgate-main.test.event": Math.max(1, Math.round(durationMs / 60_000)),
  };
}

/** Realistic first offsets (eqiad), so ids look like production ones. */
const BASE_OFFSETS: Readonly<Record<string, number>> = {
  "mediawiki.recentchange": 4369496612,
  "mediawiki.revision-create": 2014247840,
  "mediawiki.page_change.v1": 1109139115,
  "mediawiki.page-delete": 15214868,
  "mediawiki.page-move": 8409979,
};

function baseOffset(topic: string): number {
  const dot = topic.indexOf(".");
  const stream = topic.slice(dot + 1);
  let base = BASE_OFFSETS[stream];
  if (base === undefined) {
    let hash = 7;
    for (const char of stream) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
    base = 1_000_000 + (hash % 90_000_000);
  }
  return topic.startsWith("eqiad.") ? base : Math.floor(base / 37);
}

/**
 * Generates a deterministic data set for the emulator (the fallback when no
 * fixtures directory is available, e.g. when installed from JSR): every
 * configured stream gets `counts[stream]` events spread over `durationMs`
 * from `start`, mostly in its `eqiad.` topic, with contiguous realistic
 * offsets and `meta.dt`-derived Kafka timestamps. Pure: no I/O.
 *
 * @param options Seed, volume, time span, partitions, canaries.
 * @returns The stream set.
 * @throws {TypeError} When `start` cannot be parsed.
 * @throws {RangeError} When a count, `durationMs`, `partitions` or `codfwShare` is out of range.
 *
 * @example A small deterministic data set
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateStreams } from "@eventstreams/client/testing";
 * import type { EmulatorStreams } from "@eventstreams/client/testing";
 * const recentChanges = (streams: EmulatorStreams) =>
 *   streams.select("recentchange").flatMap((slice) => slice.messages.map((m) => m.data));
 * const a = generateStreams({ seed: 3, counts: { "mediawiki.recentchange": 50 } });
 * const b = generateStreams({ seed: 3, counts: { "mediawiki.recentchange": 50 } });
 * assert.ok(recentChanges(a).length === 50);
 * assert.ok(recentChanges(a).join("\n") === recentChanges(b).join("\n"));
 * ```
 */
export function generateStreams(
  options: GenerateStreamsOptions = {},
): EmulatorStreams {
  const start = options.start === undefined
    ? Date.parse("2026-09-27T16:15:00Z")
    : options.start instanceof Date
    ? options.start.getTime()
    : typeof options.start === "number"
    ? options.start
    : parseUtcDateTime(options.start);
  if (!Number.isFinite(start)) {
    throw new TypeError(
      `Cannot generate streams: start must be a date or epoch ms, got '${
        String(options.start)
      }'`,
    );
  }
  const durationMs = options.durationMs ?? 150_000;
  const partitions = options.partitions ?? 1;
  const codfwShare = options.codfwShare ?? 0.05;
  if (!(durationMs > 0)) {
    throw new RangeError(
      `Cannot generate streams: durationMs must be positive, got ${durationMs}`,
    );
  }
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot generate streams: partitions must be a positive integer, got ${partitions}`,
    );
  }
  if (!(codfwShare >= 0 && codfwShare <= 1)) {
    throw new RangeError(
      `Cannot generate streams: codfwShare must be between 0 and 1, got ${codfwShare}`,
    );
  }
  const configs = options.configs ?? PUBLIC_STREAM_CONFIGS;
  const generator = new EventGenerator({
    seed: options.seed ?? 1,
    canaryEvery: options.canaryEvery ?? 0,
  });
  const counts = options.counts ?? defaultEventCounts(durationMs);

  const logs = new Map<string, TopicPartitionLog[]>();
  for (const log of options.logs ?? []) {
    logs.set(log.topic, [...(logs.get(log.topic) ?? []), log]);
  }
  for (const config of configs) {
    for (const topic of config.topics) {
      if (logs.has(topic)) continue;
      const list: TopicPartitionLog[] = [];
      for (let partition = 0; partition < partitions; partition++) {
        list.push(
          new TopicPartitionLog({
            topic,
            partition,
            baseOffset: baseOffset(topic),
          }),
        );
      }
      logs.set(topic, list);
    }
  }

  for (const config of configs) {
    const count = counts[config.name] ??
      (config.aliases ?? []).map((alias) => counts[alias]).find((n) =>
        n !== undefined
      ) ?? 0;
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(
        `Cannot generate streams: the count for ${config.name} must be a non-negative integer, got ${count}`,
      );
    }
    const [primary, ...others] = config.topics;
    for (let i = 0; i < count; i++) {
      // Evenly spread with jitter inside each slot: increasing, irregular times.
      const timestamp = start +
        Math.floor((i + generator.random()) * durationMs / count);
      const topic = others.length > 0 && generator.random() < codfwShare
        ? others[Math.floor(generator.random() * others.length)]
        : primary;
      const list = logs.get(topic)!;
      const log = list[Math.floor(generator.random() * list.length)];
      const { event, key } = generator.event(config.name, timestamp);
      log.append(event, { key });
    }
  }

  return new EmulatorStreams({
    configs,
    logs: [...logs.values()].flat(),
    generator,
    spec: options.spec,
  });
}

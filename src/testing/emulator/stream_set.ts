/**
 * The streams an emulated EventStreams server serves: stream configs (name,
 * aliases, topics) and the topic-partition logs behind them.
 *
 * @module
 */

import { parseUtcDateTime } from "../../date_time.ts";
import { EventGenerator } from "./generator.ts";
import {
  type EmulatorMessage,
  type PositionedMessage,
  TopicPartitionLog,
} from "./logs.ts";

/**
 * A stream as the server is configured with it: a name, its aliases (each
 * alias is a route of its own, like `recentchange`) and its Kafka topics, in
 * the order the ids list them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorStreamConfig } from "@eventstreams/client/testing";
 * const config: EmulatorStreamConfig = {
 *   name: "mediawiki.recentchange",
 *   aliases: ["recentchange"],
 *   topics: ["eqiad.mediawiki.recentchange", "codfw.mediawiki.recentchange"],
 * };
 * assert.ok(config.topics.length === 2);
 * ```
 */
export interface EmulatorStreamConfig {
  /** The canonical stream name. */
  readonly name: string;
  /** Other names that route to the same topics. */
  readonly aliases?: readonly string[];
  /** The stream's Kafka topics, in id order (`eqiad.` first, as the server lists them). */
  readonly topics: readonly string[];
}

function publicStream(name: string, alias?: string): EmulatorStreamConfig {
  return {
    name,
    aliases: alias === undefined ? [] : [alias],
    topics: [`eqiad.${name}`, `codfw.${name}`],
  };
}

/**
 * The public streams of stream.wikimedia.org (2024-11 spec) with their
 * aliases, each made of an `eqiad.` and a `codfw.` topic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PUBLIC_STREAM_CONFIGS } from "@eventstreams/client/testing";
 * const rc = PUBLIC_STREAM_CONFIGS.find((s) => s.name === "mediawiki.recentchange");
 * assert.ok(rc?.aliases?.includes("recentchange"));
 * ```
 */
export const PUBLIC_STREAM_CONFIGS: readonly EmulatorStreamConfig[] = [
  publicStream("eventgate-main.test.event", "test"),
  publicStream("mediawiki.page-create", "page-create"),
  publicStream("mediawiki.page-delete", "page-delete"),
  publicStream("mediawiki.page-links-change", "page-links-change"),
  publicStream("mediawiki.page-move", "page-move"),
  publicStream("mediawiki.page-properties-change", "page-properties-change"),
  publicStream("mediawiki.page-undelete", "page-undelete"),
  publicStream("mediawiki.page_change.v1"),
  publicStream("mediawiki.recentchange", "recentchange"),
  publicStream("mediawiki.revision-create", "revision-create"),
  publicStream("mediawiki.revision-tags-change"),
  publicStream("mediawiki.revision-visibility-change"),
];

/**
 * Options for {@linkcode EmulatorStreams}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type EmulatorStreamsOptions, TopicPartitionLog } from "@eventstreams/client/testing";
 * const options: EmulatorStreamsOptions = { logs: [new TopicPartitionLog({ topic: "eqiad.mediawiki.recentchange" })] };
 * assert.ok(options.logs?.length === 1);
 * ```
 */
export interface EmulatorStreamsOptions {
  /**
   * The stream configs.
   *
   * @default {PUBLIC_STREAM_CONFIGS}
   */
  configs?: readonly EmulatorStreamConfig[];
  /**
   * The logs. A configured topic without a log gets an empty partition 0.
   *
   * @default {[]}
   */
  logs?: readonly TopicPartitionLog[];
  /**
   * Generates the events {@linkcode EmulatorStreams.prototype.produce} appends.
   *
   * @default {new EventGenerator()}
   */
  generator?: EventGenerator;
  /**
   * The OpenAPI document served at `/?spec` (JSON text). When absent the
   * emulator serves a minimal document listing the streams.
   *
   * @default {undefined}
   */
  spec?: string;
}

/**
 * Options for {@linkcode EmulatorStreams.prototype.select}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SelectOptions } from "@eventstreams/client/testing";
 * const options: SelectOptions = { since: "2026-09-27T16:15:00Z" };
 * assert.ok(options.since !== undefined);
 * ```
 */
export interface SelectOptions {
  /**
   * Start each partition where the server would for this `since`: Kafka's
   * offsets-for-times (first message with timestamp >= since; a string is
   * read like the server reads `since`, in UTC). Absent: from the first
   * stored message.
   *
   * @default {undefined}
   */
  since?: number | string | Date;
}

/**
 * The messages of one topic-partition that a selection covers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateStreams, type TopicPartitionSlice } from "@eventstreams/client/testing";
 * const slices: TopicPartitionSlice[] = generateStreams({ counts: {} }).select("test");
 * assert.ok(slices.map((s) => s.topic).join() === "eqiad.eventgate-main.test.event,codfw.eventgate-main.test.event");
 * ```
 */
export interface TopicPartitionSlice {
  /** The Kafka topic. */
  readonly topic: string;
  /** The partition number. */
  readonly partition: number;
  /** The messages from the start position to the end of the log, in offset order. */
  readonly messages: readonly EmulatorMessage[];
}

/**
 * Options for {@linkcode EmulatorStreams.prototype.produce}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProduceOptions } from "@eventstreams/client/testing";
 * const options: ProduceOptions = { topic: "codfw.mediawiki.recentchange", timestamp: Date.UTC(2026, 8, 27) };
 * assert.ok(options.topic?.startsWith("codfw."));
 * ```
 */
export interface ProduceOptions {
  /**
   * When the events happen (epoch ms). Second-precision streams truncate it,
   * so all events of one call share a Kafka timestamp.
   *
   * @default {Date.now()}
   */
  timestamp?: number;
  /**
   * The topic to append to; must belong to the stream.
   *
   * @default {the stream's first topic (eqiad)}
   */
  topic?: string;
  /**
   * The partition to append to.
   *
   * @default {chosen by the generator among the topic's partitions}
   */
  partition?: number;
  /**
   * Produce canary events (`meta.domain` `"canary"`).
   *
   * @default {false}
   */
  canary?: boolean;
}

/**
 * The data an emulated server serves: stream configs with aliases, and a
 * {@linkcode TopicPartitionLog} per topic-partition. Tests and the demo read
 * it to compute the events a consumer must receive.
 *
 * @example Selecting what a consumer starting at `since` must receive
 * ```ts
 * import assert from "node:assert/strict";
 * import { EmulatorStreams, TopicPartitionLog } from "@eventstreams/client/testing";
 * const log = new TopicPartitionLog({ topic: "eqiad.mediawiki.recentchange" });
 * log.append({ meta: { dt: "2026-01-01T00:00:00Z" } });
 * log.append({ meta: { dt: "2026-01-01T00:00:05Z" } });
 * const streams = new EmulatorStreams({ logs: [log] });
 * const [eqiad, codfw] = streams.select("recentchange", { since: "2026-01-01T00:00:01Z" });
 * assert.ok(eqiad.messages.length === 1 && codfw.messages.length === 0);
 * ```
 */
export class EmulatorStreams {
  /** The stream configs, as given. */
  readonly configs: readonly EmulatorStreamConfig[];
  /** The generator behind {@linkcode EmulatorStreams.prototype.produce}. */
  readonly generator: EventGenerator;
  /** The `/?spec` document (JSON text), or `undefined` for a synthesized one. */
  readonly spec: string | undefined;
  #byName = new Map<string, EmulatorStreamConfig>();
  #partitions = new Map<string, TopicPartitionLog[]>();

  /**
   * Creates a stream set.
   *
   * @param options Configs, logs, generator, spec.
   * @throws {TypeError} When two configs claim the same name or alias, or two
   *   logs the same topic-partition.
   */
  constructor(options: EmulatorStreamsOptions = {}) {
    this.configs = options.configs ?? PUBLIC_STREAM_CONFIGS;
    this.generator = options.generator ?? new EventGenerator();
    this.spec = options.spec;
    for (const config of this.configs) {
      for (const name of [config.name, ...(config.aliases ?? [])]) {
        if (this.#byName.has(name)) {
          throw new TypeError(
            `Cannot configure stream '${name}': the name is used twice`,
          );
        }
        this.#byName.set(name, config);
      }
    }
    for (const log of options.logs ?? []) {
      const list = this.#partitions.get(log.topic) ?? [];
      if (list.some((other) => other.partition === log.partition)) {
        throw new TypeError(
          `Cannot add log ${log.topic}/${log.partition}: the topic-partition is given twice`,
        );
      }
      list.push(log);
      list.sort((a, b) => a.partition - b.partition);
      this.#partitions.set(log.topic, list);
    }
    for (const config of this.configs) {
      for (const topic of config.topics) {
        if (!this.#partitions.has(topic)) {
          this.#partitions.set(topic, [new TopicPartitionLog({ topic })]);
        }
      }
    }
  }

  /** Every route name the server accepts (canonical names and aliases), sorted. */
  get names(): string[] {
    return [...this.#byName.keys()].sort();
  }

  /** Every log: configured topics first (in config order), each by partition. */
  get logs(): TopicPartitionLog[] {
    return [...this.#partitions.values()].flat();
  }

  /**
   * Looks a stream up by canonical name or alias.
   *
   * @param name A stream name or alias.
   * @returns Its config, or `undefined` when the server does not know it.
   */
  resolve(name: string): EmulatorStreamConfig | undefined {
    return this.#byName.get(name);
  }

  /**
   * The partitions of a topic, by partition number.
   *
   * @param topic A Kafka topic.
   * @returns Its logs (empty when the topic does not exist).
   */
  partitions(topic: string): readonly TopicPartitionLog[] {
    return this.#partitions.get(topic) ?? [];
  }

  /**
   * One topic-partition's log.
   *
   * @param topic A Kafka topic.
   * @param partition A partition number.
   * @returns The log, or `undefined`.
   */
  log(topic: string, partition = 0): TopicPartitionLog | undefined {
    return this.partitions(topic).find((log) => log.partition === partition);
  }

  /**
   * The messages a consumer of `streams` must receive: for every
   * topic-partition of the streams (in id order), the messages from the
   * start position to the end of the log.
   *
   * @param streams Stream names or aliases.
   * @param options Where to start (`since`).
   * @returns One slice per topic-partition.
   * @throws {TypeError} When a stream is unknown or `since` cannot be parsed.
   */
  select(
    streams: string | readonly string[],
    options: SelectOptions = {},
  ): TopicPartitionSlice[] {
    const since = options.since === undefined
      ? undefined
      : toEpochMs(options.since);
    return this.#topicsOf(streams).flatMap((topic) =>
      this.partitions(topic).map((log) => ({
        topic,
        partition: log.partition,
        messages: log.messages.slice(
          since === undefined ? 0 : log.indexForTimestamp(since),
        ),
      }))
    );
  }

  /**
   * Produces `count` generated events into a stream (eqiad topic unless told
   * otherwise), as if MediaWiki had emitted them. Live connections receive
   * them at once.
   *
   * @param stream A stream name or alias.
   * @param count How many events.
   * @param options Time, topic, partition, canary.
   * @returns The appended messages with their positions.
   * @throws {TypeError} When the stream is unknown or the topic is not one of its topics.
   * @throws {RangeError} When the partition does not exist.
   */
  produce(
    stream: string,
    count: number,
    options: ProduceOptions = {},
  ): PositionedMessage[] {
    const config = this.#config(stream);
    const topic = options.topic ?? config.topics[0];
    if (!config.topics.includes(topic)) {
      throw new TypeError(
        `Cannot produce to '${topic}': it is not a topic of ${config.name} (${
          config.topics.join(", ")
        })`,
      );
    }
    const logs = this.partitions(topic);
    const timestamp = options.timestamp ?? Date.now();
    const produced: PositionedMessage[] = [];
    for (let i = 0; i < count; i++) {
      let log: TopicPartitionLog | undefined;
      if (options.partition !== undefined) {
        log = logs.find((l) => l.partition === options.partition);
        if (log === undefined) {
          throw new RangeError(
            `Cannot produce to ${topic}/${options.partition}: the topic has partitions ${
              logs.map((l) => l.partition).join(", ")
            }`,
          );
        }
      } else {
        log = logs[Math.floor(this.generator.random() * logs.length)];
      }
      const { event, key } = this.generator.event(config.name, timestamp, {
        canary: options.canary,
      });
      const message = log.append(event, { key });
      produced.push({ topic, partition: log.partition, ...message });
    }
    return produced;
  }

  #config(name: string): EmulatorStreamConfig {
    const config = this.resolve(name);
    if (config === undefined) {
      throw new TypeError(
        `Unknown stream '${name}': expected one of ${this.names.join(", ")}`,
      );
    }
    return config;
  }

  #topicsOf(streams: string | readonly string[]): string[] {
    const names = typeof streams === "string" ? streams.split(",") : streams;
    const topics: string[] = [];
    for (const name of names) {
      for (const topic of this.#config(name).topics) {
        if (!topics.includes(topic)) topics.push(topic);
      }
    }
    return topics;
  }
}

function toEpochMs(value: number | string | Date): number {
  const ms = value instanceof Date
    ? value.getTime()
    : typeof value === "number"
    ? value
    : parseUtcDateTime(value);
  if (!Number.isFinite(ms)) {
    throw new TypeError(
      `Cannot parse since: expected a date or epoch ms, got '${String(value)}'`,
    );
  }
  return ms;
}

/**
 * Loads the repository's real EventStreams data (`fixtures/`) into emulator
 * logs, topped up with seeded generated volume.
 *
 * @module
 */

import {
  defaultEventCounts,
  generateStreams,
  type GenerateStreamsOptions,
} from "./generate_streams.ts";
import { type EmulatorMessage, TopicPartitionLog } from "./logs.ts";
import type { EmulatorStreams } from "./stream_set.ts";

/**
 * Options for {@linkcode loadFixtureStreams}: the generated volume around the real events.
 *
 * @example
 * ```ts no-assert
 * import type { LoadFixtureStreamsOptions } from "@eventstreams/client/testing";
 * const options: LoadFixtureStreamsOptions = { seed: 2, counts: { "mediawiki.recentchange": 500 } };
 * ```
 */
export type LoadFixtureStreamsOptions = Omit<
  GenerateStreamsOptions,
  "logs" | "spec"
>;

/** The real capture of `mediawiki.page_change.v1` in the fixtures directory. */
const CAPTURE_FILE = "page_change_v1.2026-09-27.sse";
/** Real events of public streams (Wikimedia Enterprise SDK test data). */
const WME_FILES = [
  "page-change.json",
  "page-delete.json",
  "page-move.json",
  "revision-create.json",
];
const SPEC_FILE = "eventstreams-spec.json";

interface RawMessage extends EmulatorMessage {
  topic: string;
  partition: number;
}

/**
 * Builds the emulator's default data set from the repository's fixtures
 * directory (the CLI passes it; tests pass `fixtures/`):
 *
 * - `eqiad.mediawiki.page_change.v1`: the real 2024 event of
 *   `wme-testdata/page-change.json` (older page_change form, Buffer key),
 *   then the 169 events of the real capture `page_change_v1.2026-09-27.sse`
 *   with their real offsets (1109139115–1109139283), timestamps (from the
 *   capture's ids) and data bytes; `codfw.` stays empty, as in the capture.
 * - `eqiad.mediawiki.page-delete`, `page-move`, `revision-create`: their real
 *   events from `wme-testdata/`, followed by generated ones.
 * - every other public stream (`mediawiki.recentchange` included: there is no
 *   real recentchange fixture) is generated, see {@linkcode generateStreams}.
 * - `/?spec` serves `eventstreams-spec.json` verbatim.
 *
 * `wme-testdata/revision-score.json` is not used: revision-score is not a
 * public stream.
 *
 * @param dir The fixtures directory.
 * @param options Seed and volume of the generated events (by default
 *   {@linkcode defaultEventCounts} without page_change.v1, whose events are
 *   the real ones).
 * @returns The stream set.
 * @throws {Error} When a fixture file cannot be read or parsed (the message names the file).
 *
 * @example Serving the real capture's stream
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadFixtureStreams } from "@eventstreams/client/testing";
 * const streams = await loadFixtureStreams("fixtures", { counts: { "mediawiki.recentchange": 10 } });
 * const log = streams.log("eqiad.mediawiki.page_change.v1", 0)!;
 * assert.ok(log.messages.at(-1)?.offset === 1109139283);
 * ```
 */
export async function loadFixtureStreams(
  dir: string,
  options: LoadFixtureStreamsOptions = {},
): Promise<EmulatorStreams> {
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const read = async (name: string): Promise<string> => {
    try {
      return await Deno.readTextFile(base + name);
    } catch (error) {
      throw new Error(
        `Cannot load fixture '${base + name}': ${
          (error as Error).message
        }; pass the repository's fixtures directory`,
        { cause: error },
      );
    }
  };
  const raw: RawMessage[] = [];
  for (const name of WME_FILES) {
    raw.push(...messagesFromWme(name, await read(`wme-testdata/${name}`)));
  }
  raw.push(...messagesFromCapture(CAPTURE_FILE, await read(CAPTURE_FILE)));
  const spec = await read(SPEC_FILE);

  const byTopicPartition = new Map<string, RawMessage[]>();
  for (const message of raw) {
    const key = `${message.topic}\u0000${message.partition}`;
    byTopicPartition.set(key, [...(byTopicPartition.get(key) ?? []), message]);
  }
  const logs = [...byTopicPartition.values()].map((messages) => {
    messages.sort((a, b) => a.offset - b.offset);
    return new TopicPartitionLog({
      topic: messages[0].topic,
      partition: messages[0].partition,
      messages: messages.map(({ offset, timestamp, data }) => ({
        offset,
        timestamp,
        data,
      })),
    });
  });
  return generateStreams({
    ...options,
    counts: options.counts ??
      {
        ...defaultEventCounts(options.durationMs),
        "mediawiki.page_change.v1": 0,
      },
    logs,
    spec,
  });
}

function messagesFromWme(name: string, text: string): RawMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `Cannot parse fixture '${name}': ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!Array.isArray(parsed)) {
    throw new Error(`Cannot parse fixture '${name}': expected a JSON array`);
  }
  return parsed.map((item: Record<string, unknown>, index) => {
    // Items are {id, data} pairs, or a bare event (page-change.json).
    const event = (item.data ?? item) as { meta?: Record<string, unknown> };
    const meta = event.meta;
    if (
      meta === undefined || typeof meta.topic !== "string" ||
      typeof meta.partition !== "number" ||
      typeof meta.offset !== "number"
    ) {
      throw new Error(
        `Cannot parse fixture '${name}' item ${index}: meta.topic, meta.partition and meta.offset are required`,
      );
    }
    return {
      topic: meta.topic,
      partition: meta.partition,
      offset: meta.offset,
      timestamp: kafkaTimestamp(item.id, meta),
      // The server re-serializes compactly, keeping key order.
      data: JSON.stringify(event),
    };
  });
}

function messagesFromCapture(name: string, text: string): RawMessage[] {
  const messages: RawMessage[] = [];
  // Per the SSE format: frames end at a blank line; lines starting with ':' are comments.
  const blocks = text.replaceAll("\r\n", "\n").split("\n\n");
  blocks.pop(); // whatever follows the last blank line is an unterminated frame
  for (const block of blocks) {
    let event = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    if (event !== "message" || data.length === 0) continue;
    const json = data.join("\n");
    let meta: Record<string, unknown>;
    try {
      meta = (JSON.parse(json) as { meta: Record<string, unknown> }).meta;
    } catch (error) {
      throw new Error(
        `Cannot parse fixture '${name}': a data line is not JSON`,
        { cause: error },
      );
    }
    messages.push({
      topic: String(meta.topic),
      partition: Number(meta.partition),
      offset: Number(meta.offset),
      timestamp: kafkaTimestamp(
        id === undefined ? undefined : JSON.parse(id),
        meta,
      ),
      data: json,
    });
  }
  return messages;
}

/** The Kafka timestamp: the id's `timestamp - 1` for this topic-partition, else `meta.dt`. */
function kafkaTimestamp(id: unknown, meta: Record<string, unknown>): number {
  if (Array.isArray(id)) {
    const entry = id.find((e) =>
      e !== null && typeof e === "object" && e.topic === meta.topic &&
      e.partition === meta.partition && typeof e.timestamp === "number"
    );
    if (entry !== undefined) return entry.timestamp - 1;
  }
  return Date.parse(String(meta.dt));
}

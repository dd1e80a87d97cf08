/**
 * The scenario `eventstreams demo` plays: which data the emulator serves,
 * which faults each connection gets, and what the client must deliver.
 * Real time, compressed: a whole run takes a few seconds.
 *
 * @module
 */

import type { EmulatorFault } from "../testing/emulator/faults.ts";
import { loadFixtureStreams } from "../testing/emulator/fixtures.ts";
import { generateStreams } from "../testing/emulator/generate_streams.ts";
import type { EmulatorStreams } from "../testing/emulator/stream_set.ts";
import type { DeliveryPosition } from "./demo_accounting.ts";

/** The streams of the demo, read over one connection. */
export const DEMO_STREAMS = [
  "mediawiki.page_change.v1",
  "mediawiki.recentchange",
] as const;

/** Where the demo starts: before the first event of the real capture (16:17:12.813Z). */
export const DEMO_SINCE = "2026-09-27T16:17:00Z";

/** The demo's User-Agent (the client requires a policy-shaped one, even for the emulator). */
export const DEMO_USER_AGENT =
  "eventstreams-demo/0.1.0 (https://jsr.io/@eventstreams/client)";

/** Generated `mediawiki.recentchange` events, spread over {@linkcode DEMO_RECENTCHANGE_SPAN_MS} from {@linkcode DEMO_RECENTCHANGE_START}. */
export const DEMO_RECENTCHANGE_COUNT = 310;
/** When the generated recent changes start: they overlap the real capture's 8 seconds. */
export const DEMO_RECENTCHANGE_START = "2026-09-27T16:17:05Z";
/** Over how long the generated recent changes are spread: about 12 a second, sharing their second-precision timestamps. */
export const DEMO_RECENTCHANGE_SPAN_MS = 25_000;
/** Every Nth generated event is a canary (`meta.domain` `"canary"`), which the client drops. */
export const DEMO_CANARY_EVERY = 20;
/** Canary events produced into `codfw.mediawiki.page_change.v1` (the capture's eqiad topic has none). */
export const DEMO_PAGE_CHANGE_CANARIES = 2;
/** Page_change events generated when the repository's fixtures are absent (the capture has 169). */
export const DEMO_GENERATED_PAGE_CHANGES = 169;

/** Client timings, compressed from production's. */
export const DEMO_CLIENT = {
  /** No byte for this long: the connection is a zombie (production: 60 s). */
  idleTimeoutMs: 1_000,
  /** The client reconnects itself at this age (production: 14 minutes). */
  maxConnectionMs: 1_500,
  /** Reconnect delays (production: 1 s initial, 10 s after a 429). */
  backoff: { initialMs: 100, maxMs: 1_000, throttledFloorMs: 300 },
} as const;

/**
 * Mixed into `--seed` for the backoff jitter's `seededRandom`, so
 * the jitter does not replay the generated events' sequence while a `--seed`
 * still reproduces the run's delays.
 */
export const DEMO_JITTER_SEED_SALT = 0x9e3779b9;

/** Partition batch size of the out-of-order interleaving. */
export const DEMO_BATCH_SIZE = 25;

/**
 * Topics interleaved in batches like Kafka fetches, out of timestamp order:
 * on every connection.
 */
export const DEMO_INTERLEAVE: EmulatorFault = {
  kind: "interleave",
  order: "partition-batches",
  batchSize: DEMO_BATCH_SIZE,
};

/** One scripted fault of the demo, for the emulator and for the header. */
export interface DemoFault {
  /** The fault, on the emulator's side. */
  fault: EmulatorFault;
  /** What it does, for the header. */
  description: string;
}

/**
 * The scripted faults, by request: the first request gets the first, and
 * so on; requests after these get only what {@linkcode demoFaultsFor} adds
 * to every request.
 */
export const DEMO_FAULTS: readonly DemoFault[] = [
  {
    fault: { kind: "cut", afterFrames: 60, midFrame: true },
    description: "cut in the middle of a frame after 60 events",
  },
  {
    fault: { kind: "stall", afterFrames: 10 },
    description:
      `goes silent after 10 events and stays open (a zombie); idle watchdog ${
        DEMO_CLIENT.idleTimeoutMs / 1000
      } s`,
  },
  {
    fault: { kind: "status", status: 429 },
    description:
      `refused with 429 Too Many Concurrent Connections; backoff floor ${DEMO_CLIENT.backoff.throttledFloorMs} ms`,
  },
  {
    fault: { kind: "max-age", ms: 1_000 },
    description:
      "cut by the edge at 1 s of age (the 15-minute cut, compressed)",
  },
];

/**
 * The emulator's fault script: {@linkcode DEMO_FAULTS} by request, and on
 * every request {@linkcode DEMO_INTERLEAVE} and bodies written in 1 KiB
 * pieces (frames arrive split across reads). The connections meant to age
 * (the edge cut and every later one) are paced, 1 ms between pieces, so
 * they live long enough to reach the age limits. The others are not: a
 * paced cut after 60 frames, or stall after 10, would race the client's own
 * `maxConnectionMs` (1.5 s) on a loaded machine, and the run would show
 * another fault than the header announces.
 *
 * @param index The 0-based request number.
 * @returns The faults of that request.
 */
export function demoFaultsFor(index: number): EmulatorFault[] {
  const scripted = DEMO_FAULTS[index]?.fault;
  const paced = scripted === undefined || scripted.kind === "max-age";
  return [
    { kind: "trickle", bytesPerWrite: 1024, ...(paced ? { delayMs: 1 } : {}) },
    DEMO_INTERLEAVE,
    ...(scripted === undefined ? [] : [scripted]),
  ];
}

/** The demo's data set. */
export interface DemoData {
  /** The emulator's streams. */
  streams: EmulatorStreams;
  /** True when built from the repository's fixtures, false when generated. */
  fromFixtures: boolean;
  /** Canary events in the requested streams from `since` on. */
  canaries: number;
  /** The positions the client must deliver: every non-canary message of the streams from `since` on. */
  expected: DeliveryPosition[];
}

/**
 * Builds the demo's data: the real page_change capture and generated
 * recent changes (with canaries) when `fixturesDir` is given, generated
 * streams of the same shape otherwise; then what a consumer of
 * {@linkcode DEMO_STREAMS} from {@linkcode DEMO_SINCE} must receive, read
 * from the emulator's own logs.
 *
 * @param options The generator seed and the fixtures directory.
 * @returns The data and the expected positions.
 * @throws {Error} When a fixture cannot be read.
 */
export async function buildDemoData(
  options: { seed: number; fixturesDir?: string },
): Promise<DemoData> {
  const generated = {
    seed: options.seed,
    start: DEMO_RECENTCHANGE_START,
    durationMs: DEMO_RECENTCHANGE_SPAN_MS,
    canaryEvery: DEMO_CANARY_EVERY,
  };
  const streams = options.fixturesDir === undefined
    ? generateStreams({
      ...generated,
      counts: {
        "mediawiki.recentchange": DEMO_RECENTCHANGE_COUNT,
        "mediawiki.page_change.v1": DEMO_GENERATED_PAGE_CHANGES,
      },
    })
    : await loadFixtureStreams(options.fixturesDir, {
      ...generated,
      counts: { "mediawiki.recentchange": DEMO_RECENTCHANGE_COUNT },
    });
  // Canaries in the other datacenter's topic, which the capture shows empty.
  for (let i = 0; i < DEMO_PAGE_CHANGE_CANARIES; i++) {
    streams.produce(DEMO_STREAMS[0], 1, {
      canary: true,
      topic: "codfw.mediawiki.page_change.v1",
      timestamp: Date.parse("2026-09-27T16:17:14Z") + i * 4_137,
    });
  }
  const expected: DeliveryPosition[] = [];
  let canaries = 0;
  for (const slice of streams.select(DEMO_STREAMS, { since: DEMO_SINCE })) {
    for (const message of slice.messages) {
      const meta = (JSON.parse(message.data) as { meta?: { domain?: unknown } })
        .meta;
      if (meta?.domain === "canary") {
        canaries++;
        continue;
      }
      expected.push({
        topic: slice.topic,
        partition: slice.partition,
        offset: message.offset,
      });
    }
  }
  return {
    streams,
    fromFixtures: options.fixturesDir !== undefined,
    canaries,
    expected,
  };
}

/**
 * The soak: `eventStream()` against the emulator through randomly scheduled
 * faults of every kind the emulator offers, in a historical (`since`) and a
 * live phase (a live start on two streams while events are produced), with
 * the delivered events compared to the emulator's logs by Kafka position.
 * `scripts/soak.ts` runs it at full size; `tests/soak_test.ts` at CI size.
 *
 * @module
 */

import { type EventStream, eventStream } from "../src/client.ts";
import {
  compareDeliveries,
  type DeliveryPosition,
} from "../src/cli/demo_accounting.ts";
import {
  type Emulator,
  type EmulatorFault,
  serveEmulator,
} from "../src/testing/emulator/mod.ts";
import { seededRandom } from "../src/testing/random.ts";
import {
  type ChaosFault,
  startChaosProxy,
} from "../src/testing/emulator/chaos_proxy.ts";

/** How big a soak is. */
export interface SoakOptions {
  /** The PRNG seed for data and faults. */
  seed: number;
  /** Events of the historical phase (both streams together). */
  historicalEvents: number;
  /** Events produced during the live phase (both streams together). */
  liveEvents: number;
  /** Mean frames a connection delivers before its terminal fault. */
  meanFramesPerConnection: number;
  /** The client's idle timeout (the stall faults cost this much each). */
  idleTimeoutMs: number;
  /** Put the TCP chaos proxy (src/testing/emulator/chaos_proxy.ts) between client and emulator. */
  chaos: boolean;
  /** Progress lines go here. */
  log?: (line: string) => void;
}

/** The outcome of one phase or of the whole soak. */
export interface SoakReport {
  /** Events expected (non-canary events of the emulator's logs for the phase). */
  events: number;
  /** Faults the emulator applied (one per entry of each connection's fault list). */
  faults: number;
  /** Faults by kind. */
  faultKinds: Record<string, number>;
  /** Expected events never delivered (skipped, or not reached). */
  lost: number;
  /** Extra deliveries of an event. */
  duplicated: number;
  /** Delivered events the logs do not hold among the expected ones. */
  unexpected: number;
  /** Most stream connections open at once, from the emulator's connection logs. */
  maxConnections: number;
  /** Stream requests made. */
  connections: number;
}

const STREAMS = ["mediawiki.recentchange", "mediawiki.page_change.v1"] as const;
const USER_AGENT = "eventstreams-soak/0.1 (https://example.org/eventstreams)";
const PARTITIONS = 2;
const START = Date.UTC(2026, 8, 27, 16, 0, 0);

/** The line the soak ends with. */
export function soakLine(r: SoakReport): string {
  return `${r.events} events, ${r.faults} faults, ${r.lost} lost, ${r.duplicated} duplicated, max ${r.maxConnections} connection(s)`;
}

/** Both phases, one after the other; the report sums them (max for connections). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const historical = await runPhase(options, "historical");
  options.log?.(`historical: ${soakLine(historical)}`);
  const live = await runPhase({ ...options, seed: options.seed + 1 }, "live");
  options.log?.(`live: ${soakLine(live)}`);
  const faultKinds = { ...historical.faultKinds };
  for (const [k, n] of Object.entries(live.faultKinds)) {
    faultKinds[k] = (faultKinds[k] ?? 0) + n;
  }
  return {
    events: historical.events + live.events,
    faults: historical.faults + live.faults,
    faultKinds,
    lost: historical.lost + live.lost,
    duplicated: historical.duplicated + live.duplicated,
    unexpected: historical.unexpected + live.unexpected,
    maxConnections: Math.max(historical.maxConnections, live.maxConnections),
    connections: historical.connections + live.connections,
  };
}

/**
 * One random TCP fault for a connection through the chaos proxy: half of
 * them none, else a FIN or a stall at a random byte (a third of those
 * inside the status line and headers or the first chunk-size line), or
 * fragmentation into pieces of a few bytes.
 */
export function randomChaos(
  random: () => number,
  meanFrames: number,
): ChaosFault {
  const atByte = () =>
    random() < 0.33
      ? Math.floor(random() * 400)
      : Math.floor(random() * 2 * meanFrames * 1500);
  const k = random();
  if (k < 0.5) return { kind: "none" };
  if (k < 0.75) return { kind: "fin", atByte: atByte() };
  if (k < 0.85) return { kind: "stall", atByte: atByte() };
  return { kind: "fragment", pieceBytes: 1 + Math.floor(random() * 16) };
}

/**
 * One random fault list for a connection: sometimes a modifier (trickle,
 * interleave) and always a way to end (cut, stall, error event, max age, a
 * retryable status).
 */
export function randomFaults(
  random: () => number,
  meanFrames: number,
): EmulatorFault[] {
  const frames = () => 1 + Math.floor(random() * 2 * meanFrames);
  const faults: EmulatorFault[] = [];
  const m = random();
  if (m < 0.05) {
    faults.push({
      kind: "trickle",
      bytesPerWrite: 1 + Math.floor(random() * 300),
      delayMs: 0,
    });
  } else if (m < 0.2) {
    const order = (["timestamp", "round-robin", "partition-batches"] as const)[
      Math.floor(random() * 3)
    ];
    faults.push({
      kind: "interleave",
      order,
      batchSize: 1 + Math.floor(random() * 50),
    });
  }
  const t = random();
  if (t < 0.4) {
    faults.push({
      kind: "cut",
      afterFrames: frames(),
      midFrame: random() < 0.5,
      abrupt: random() < 0.5,
    });
  } else if (t < 0.55) {
    faults.push({
      kind: "cut",
      afterBytes: Math.floor(random() * 2 * meanFrames * 1500),
      abrupt: random() < 0.5,
    });
  } else if (t < 0.65) {
    faults.push({ kind: "stall", afterFrames: frames() });
  } else if (t < 0.78) {
    faults.push({
      kind: "error-event",
      afterFrames: frames(),
      name: "KafkaConsumerError",
    });
  } else if (t < 0.85) {
    faults.push({
      kind: "max-age",
      ms: 1 + Math.floor(random() * 3),
      abrupt: random() < 0.5,
    });
  } else {
    const statuses = [429, 500, 502, 503];
    faults.push({
      kind: "status",
      status: statuses[Math.floor(random() * statuses.length)],
    });
  }
  return faults;
}

async function runPhase(
  options: SoakOptions,
  mode: "historical" | "live",
): Promise<SoakReport> {
  const random = seededRandom(options.seed * 7919 + 13);
  const split = (n: number) => [Math.ceil(n * 0.6), Math.floor(n * 0.4)];
  const [rc, pc] = split(
    mode === "historical" ? options.historicalEvents : 0,
  );
  const emulator: Emulator = serveEmulator({
    generate: {
      seed: options.seed,
      start: START,
      durationMs: Math.max(60_000, (rc + pc) * 2),
      counts: { [STREAMS[0]]: rc, [STREAMS[1]]: pc },
      partitions: PARTITIONS,
      codfwShare: 0.2,
      canaryEvery: 97,
    },
    faults: () => randomFaults(random, options.meanFramesPerConnection),
    closeGraceMs: 50,
  });
  const chaosRandom = seededRandom(options.seed * 104729 + 7);
  const proxy = options.chaos
    ? startChaosProxy(
      Number(new URL(emulator.url).port),
      () => randomChaos(chaosRandom, options.meanFramesPerConnection),
    )
    : undefined;
  const topics = STREAMS.flatMap((s) =>
    ["eqiad", "codfw"].map((dc) => `${dc}.${s}`)
  );
  const delivered: DeliveryPosition[] = [];
  let stream:
    | EventStream<
      { meta: { topic: string; partition: number; offset: number } }
    >
    | undefined;
  let producer: Promise<void> | undefined;
  try {
    const opened = eventStream(STREAMS, {
      userAgent: USER_AGENT,
      baseUrl: proxy?.url ?? emulator.url,
      headersTimeoutMs: Math.max(options.idleTimeoutMs, 200),
      ...(mode === "historical" ? { since: START - 1000 } : {}),
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: 60_000,
      backoff: { initialMs: 1, maxMs: 5, throttledFloorMs: 1 },
    });
    stream = opened;
    let expected: DeliveryPosition[] | undefined;
    if (mode === "historical") {
      expected = expectedPositions(emulator, topics, 0);
    } else {
      // Live start: production begins once the first connection is answered,
      // so every produced event is after the server's "latest".
      producer = emulator.waitForConnection(0).then(() =>
        produce(emulator, options.liveEvents, random)
      );
    }
    const last = new Map<string, number>();
    const reached = new Map<string, number>();
    const done = () => {
      if (expected === undefined) return false;
      for (const [k, offset] of last) {
        if ((reached.get(k) ?? -1) < offset) return false;
      }
      return true;
    };
    producer?.then(() => {
      expected = expectedPositions(emulator, topics, 0);
      for (const p of expected) {
        const k = `${p.topic}/${p.partition}`;
        last.set(k, Math.max(last.get(k) ?? -1, p.offset));
      }
      if (done()) stream?.close();
    });
    if (expected) {
      for (const p of expected) {
        const k = `${p.topic}/${p.partition}`;
        last.set(k, Math.max(last.get(k) ?? -1, p.offset));
      }
    }
    let n = 0;
    for await (const event of opened) {
      const { topic, partition, offset } = event.meta;
      delivered.push({ topic, partition, offset });
      const k = `${topic}/${partition}`;
      reached.set(k, Math.max(reached.get(k) ?? -1, offset));
      if (++n % 20_000 === 0) {
        options.log?.(
          `  ${mode}: ${n} events, ${emulator.connections.length} connections`,
        );
      }
      if (done()) break;
    }
    await producer;
    const report = compareDeliveries(expected ?? [], delivered);
    const faultKinds: Record<string, number> = {};
    let faults = 0;
    for (const c of emulator.connections) {
      for (const f of c.faults) {
        faultKinds[f.kind] = (faultKinds[f.kind] ?? 0) + 1;
        faults++;
      }
    }
    for (const [kind, n] of Object.entries(proxy?.applied ?? {})) {
      faultKinds[`tcp-${kind}`] = n;
      faults += n;
    }
    return {
      events: report.expected,
      faults,
      faultKinds,
      lost: report.lost.length + report.undelivered.length,
      duplicated: report.duplicated.length,
      unexpected: report.unexpected.length,
      maxConnections: maxOverlap(emulator),
      connections: emulator.connections.length,
    };
  } finally {
    stream?.close();
    await producer?.catch(() => {});
    await proxy?.close();
    await emulator.close();
  }
}

/** Non-canary messages of the topics, from each log's `fromOffset` on. */
function expectedPositions(
  emulator: Emulator,
  topics: readonly string[],
  fromOffset: number,
): DeliveryPosition[] {
  const positions: DeliveryPosition[] = [];
  for (const topic of topics) {
    for (const log of emulator.streams.partitions(topic)) {
      for (const m of log.messages) {
        if (m.offset < fromOffset || m.data.includes('"domain":"canary"')) {
          continue;
        }
        positions.push({ topic, partition: log.partition, offset: m.offset });
      }
    }
  }
  return positions;
}

/** Produces `total` events in small bursts on every topic-partition, a macrotask apart. */
async function produce(
  emulator: Emulator,
  total: number,
  random: () => number,
): Promise<void> {
  let produced = 0;
  while (produced < total) {
    const stream = STREAMS[random() < 0.6 ? 0 : 1];
    const topic = `${random() < 0.8 ? "eqiad" : "codfw"}.${stream}`;
    const count = Math.min(total - produced, 1 + Math.floor(random() * 20));
    emulator.produce(stream, count, {
      topic,
      partition: Math.floor(random() * PARTITIONS),
      canary: random() < 0.01,
    });
    produced += count;
    // Let the connection loop run: production interleaves with consumption.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** Most stream connections open at the same time, from start and end times. */
function maxOverlap(emulator: Emulator): number {
  const points: [number, number][] = [];
  for (const c of emulator.connections) {
    if (c.status !== 200) continue;
    points.push([c.startedAt, 1]);
    points.push([c.end?.at ?? Infinity, -1]);
  }
  // Ends before starts at the same instant: a resume right after an end is not an overlap.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let max = 0;
  for (const [, d] of points) {
    open += d;
    max = Math.max(max, open);
  }
  return max;
}

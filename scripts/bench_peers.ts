/**
 * The client against its peers over loopback HTTP: a server in a second
 * process (scripts/bench_server.ts) streams the seeded synthetic
 * recentchange corpus, and each consumer reads it to the end, parsing every
 * event's JSON. With `taskset` on the machine the server runs on core 1 and
 * this process on core 0. Contenders, round-robin, median of `runs`:
 *
 * - fetch + `SseDecoder` + `JSON.parse`: the floor, no client around it;
 * - fetch + eventsource-parser (`createParser`) + `JSON.parse`;
 * - npm `eventsource@4` + `JSON.parse`;
 * - Deno's `EventSource` + `JSON.parse`;
 * - `@microsoft/fetch-event-source` + `JSON.parse` (it needs `window` and
 *   `document`, which Deno 2 lacks: stand-ins for its turn only);
 * - `eventStream()` (JSON, validation, cursor, dedupe);
 * - `eventStream()` with `byWiki("enwiki")` against the same without it.
 *
 * Also the cost of one reconnect of `eventStream()` (zero backoff, one event
 * per connection) against one bare fetch of the same answer.
 *
 * Run: part of `deno task bench`, or alone: `deno run --allow-read
 * --allow-env --allow-net=127.0.0.1 --allow-run scripts/bench_peers.ts`.
 *
 * @module
 */

import { createParser } from "npm:eventsource-parser@3.1.1";
import { EventSource as NpmEventSource } from "npm:eventsource@4.1.1";
import { eventStream } from "../src/client.ts";
import { byWiki } from "../src/filter.ts";
import { SseDecoder } from "../src/sse/decoder.ts";
import { median, startBenchServer } from "./bench_process.ts";

const USER_AGENT =
  "eventstreams-bench/0.1.0 (https://jsr.io/@eventstreams/client)";
const RECONNECTS = 200;

/** What one contender counted: events parsed (or handed over). */
type Contender = (base: string) => Promise<number>;

/** One measured contender. */
export interface PeerRow {
  /** What ran. */
  name: string;
  /** Median wall time of one pass, in ms. */
  ms: number;
  /** Megabytes (10^6) of body per second. */
  mbPerS: number;
  /** Events counted in a pass. */
  events: number;
}

/** Everything the peer benchmark measured. */
export interface PeerBench {
  /** The corpus's size in bytes and frames. */
  bytes: number;
  frames: number;
  /** Whether the server and this process were pinned to separate cores. */
  pinned: boolean;
  /** Timed runs per contender. */
  runs: number;
  rows: PeerRow[];
  /** Contenders that could not run, and why. */
  skipped: { name: string; why: string }[];
  /** Median ms per connection: `eventStream()` reconnects and bare fetches. */
  reconnectMs: number;
  fetchMs: number;
  /**
   * Medians of the ratios within each round (drift between rounds cancels
   * out): `eventStream()`'s throughput over the floor's, the unfiltered
   * run's time over the `byWiki` run's, a reconnect's time over a bare
   * fetch's.
   */
  paired: { vsFloor: number; prefilter: number; reconnect: number };
}

const streamUrl = (base: string) => `${base}/v2/stream/recentchange`;

/** Only the bytes: what loopback HTTP itself costs, below every parser. */
async function bytesOnly(base: string): Promise<number> {
  const response = await fetch(streamUrl(base));
  let size = 0;
  for await (const chunk of response.body!) size += chunk.byteLength;
  return size;
}

async function floor(base: string): Promise<number> {
  const response = await fetch(streamUrl(base));
  let events = 0;
  const decoder = new SseDecoder((frame) => {
    if (JSON.parse(frame.data).meta) events++;
  });
  for await (const chunk of response.body!) decoder.push(chunk);
  decoder.end();
  return events;
}

async function esp(base: string): Promise<number> {
  const response = await fetch(streamUrl(base));
  let events = 0;
  const parser = createParser({
    onEvent(event) {
      if (JSON.parse(event.data).meta) events++;
    },
  });
  const text = new TextDecoder();
  for await (const chunk of response.body!) {
    parser.feed(text.decode(chunk, { stream: true }));
  }
  return events;
}

/** An EventSource read until `frames` messages came (it would reconnect at the end). */
function eventSource(
  open: (url: string) => {
    onmessage: ((e: MessageEvent) => void) | null;
    onerror: ((e: Event) => void) | null;
    close(): void;
  },
  frames: number,
): Contender {
  return (base) =>
    new Promise((resolve, reject) => {
      const source = open(streamUrl(base));
      let events = 0;
      source.onmessage = (e) => {
        if (JSON.parse(e.data).meta) events++;
        if (events === frames) {
          source.close();
          resolve(events);
        }
      };
      source.onerror = () => {
        source.close();
        if (events !== frames) {
          reject(new Error(`EventSource failed after ${events} events`));
        }
      };
    });
}

async function fetchEventSourceContender(): Promise<Contender | string> {
  let module: typeof import("npm:@microsoft/fetch-event-source@2.0.1");
  try {
    module = await import("npm:@microsoft/fetch-event-source@2.0.1");
  } catch (error) {
    return `cannot import it: ${(error as Error).message.split("\n")[0]}`;
  }
  const { fetchEventSource } = module;
  const run: Contender = async (base) => {
    let events = 0;
    const stop = new Error("stop");
    await fetchEventSource(streamUrl(base), {
      openWhenHidden: true, // No `document` in Deno.
      onmessage(e) {
        // Beyond the spec, it dispatches the blank line after `:ok` too.
        if (e.data !== "" && JSON.parse(e.data).meta) events++;
      },
      onclose() {
        throw stop; // Else it reconnects forever.
      },
      onerror(error) {
        throw error;
      },
    }).catch((error) => {
      if (error !== stop) throw error;
    });
    return events;
  };
  // It calls `window.setTimeout`/`window.clearTimeout` and (even with
  // `openWhenHidden`) `document.removeEventListener`, and Deno 2 has neither
  // global: it runs with stand-ins for its turn only.
  return async (base) => {
    const global = globalThis as { window?: unknown; document?: unknown };
    global.window = globalThis;
    global.document = {
      addEventListener() {},
      removeEventListener() {},
      hidden: false,
    };
    try {
      return await run(base);
    } finally {
      delete global.window;
      delete global.document;
    }
  };
}

function client(filtered: boolean): Contender {
  return async (base) => {
    const stream = eventStream("recentchange", {
      userAgent: USER_AGENT,
      baseUrl: base,
      canary: true,
      ...(filtered ? { filter: byWiki("enwiki") } : {}),
      // The end of the body ends the run (else the backoff sleep is measured).
      onDisconnect: () => void stream.close(),
    });
    let events = 0;
    for await (const _ of stream) events++;
    return events;
  };
}

async function reconnects(base: string): Promise<number> {
  let connections = 0;
  const stream = eventStream("recentchange", {
    userAgent: USER_AGENT,
    baseUrl: `${base}/short`,
    canary: true,
    backoff: { random: () => 0 }, // Zero delay: the reconnect itself is measured.
    onDisconnect: () => {
      if (++connections === RECONNECTS) void stream.close();
    },
  });
  for await (const _ of stream) { /* one event per connection */ }
  return connections;
}

async function bareFetches(base: string): Promise<number> {
  for (let i = 0; i < RECONNECTS; i++) {
    const response = await fetch(streamUrl(`${base}/short`));
    await response.arrayBuffer();
  }
  return RECONNECTS;
}

/**
 * Starts the server process, runs every contender `runs` times round-robin
 * (after one warm-up round), and stops the server.
 *
 * @param runs Timed runs per contender.
 * @param corpusBytes Size of the served corpus.
 * @returns What was measured.
 */
export async function benchPeers(
  runs = 5,
  corpusBytes = 32 * 1024 * 1024,
): Promise<PeerBench> {
  const server = await startBenchServer<{
    port: number;
    bytes: number;
    frames: number;
  }>([`--bytes=${corpusBytes}`]);
  const { pinned } = server;
  try {
    const { port, bytes, frames } = server.info;
    const base = `http://127.0.0.1:${port}`;
    const skipped: PeerBench["skipped"] = [];
    const contenders: [string, Contender][] = [
      ["fetch, bytes only (no parsing)", bytesOnly],
      ["fetch + SseDecoder + JSON.parse (floor)", floor],
      ["fetch + eventsource-parser + JSON.parse", esp],
      [
        "eventsource@4 + JSON.parse",
        eventSource(
          (url) => new NpmEventSource(url) as unknown as EventSource,
          frames,
        ),
      ],
      [
        "Deno's EventSource + JSON.parse",
        eventSource((url) => new EventSource(url), frames),
      ],
    ];
    const fes = await fetchEventSourceContender();
    if (typeof fes === "string") {
      skipped.push({ name: "@microsoft/fetch-event-source", why: fes });
    } else {
      contenders.push(["fetch-event-source + JSON (stubs)", fes]);
    }
    contenders.push(
      ["eventStream()", client(false)],
      ['eventStream() + byWiki("enwiki")', client(true)],
    );
    const times = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
    const counts = new Map<string, number>();
    const reconnectTimes: number[] = [];
    const fetchTimes: number[] = [];
    for (let round = 0; round < runs + 1; round++) {
      for (const [name, run] of contenders) {
        const start = performance.now();
        const events = await run(base);
        const ms = performance.now() - start;
        const expected = name.includes("byWiki")
          ? undefined
          : name.includes("bytes only")
          ? bytes
          : frames;
        if (expected !== undefined && events !== expected) {
          throw new Error(
            `${name} gave ${events} events, expected ${expected}`,
          );
        }
        counts.set(name, events);
        if (round > 0) times.get(name)!.push(ms); // Round 0 warms up.
      }
      for (
        const [list, run] of [
          [reconnectTimes, reconnects],
          [fetchTimes, bareFetches],
        ] as const
      ) {
        const start = performance.now();
        const n = await run(base);
        if (round > 0) list.push((performance.now() - start) / n);
      }
    }
    /** The median over rounds of a's time / b's time. */
    const pairedMedian = (a: string, b: string) => {
      const [as, bs] = [times.get(a)!, times.get(b)!];
      return median(as.map((ms, i) => ms / bs[i]));
    };
    return {
      bytes,
      frames,
      pinned,
      runs,
      skipped,
      rows: contenders.map(([name]) => {
        const ms = median(times.get(name)!);
        return {
          name,
          ms,
          mbPerS: bytes / 1e6 / (ms / 1000),
          events: counts.get(name)!,
        };
      }),
      reconnectMs: median(reconnectTimes),
      fetchMs: median(fetchTimes),
      paired: {
        vsFloor: pairedMedian(
          "fetch + SseDecoder + JSON.parse (floor)",
          "eventStream()",
        ),
        prefilter: pairedMedian(
          "eventStream()",
          'eventStream() + byWiki("enwiki")',
        ),
        reconnect: median(
          reconnectTimes.map((ms, i) => ms / fetchTimes[i]),
        ),
      },
    };
  } finally {
    await server.stop();
  }
}

/**
 * Prints what {@linkcode benchPeers} measured, with its ratios.
 *
 * @param bench The measurement.
 */
export function printPeerBench(bench: PeerBench): void {
  const find = (name: string) => bench.rows.find((r) => r.name === name)!;
  const peer = find("eventsource@4 + JSON.parse");
  const floorRow = find("fetch + SseDecoder + JSON.parse (floor)");
  console.log(
    `Peers over loopback HTTP (server in a second process${
      bench.pinned ? ", pinned: server core 1, consumer core 0" : ", unpinned"
    }): synthetic recentchange corpus, ${(bench.bytes / 1e6).toFixed(1)} MB, ${
      bench.frames.toLocaleString("en-US")
    } events; median of ${bench.runs}`,
  );
  console.log(
    `  ${"consumer".padEnd(42)} ${"ms".padStart(8)} ${"MB/s".padStart(6)} ${
      "x eventsource@4".padStart(16)
    } ${"x floor".padStart(8)}`,
  );
  for (const row of bench.rows) {
    console.log(
      `  ${row.name.padEnd(42)} ${row.ms.toFixed(0).padStart(8)} ${
        row.mbPerS.toFixed(0).padStart(6)
      } ${(row.mbPerS / peer.mbPerS).toFixed(2).padStart(15)}x ${
        (row.mbPerS / floorRow.mbPerS).toFixed(2).padStart(7)
      }x`,
    );
  }
  for (const { name, why } of bench.skipped) {
    console.log(`  ${name}: not run: ${why}`);
  }
  const filtered = find('eventStream() + byWiki("enwiki")');
  const { vsFloor, prefilter, reconnect } = bench.paired;
  console.log("  Ratios: medians of the ratios within each round");
  console.log(
    `  eventStream() ${vsFloor.toFixed(2)}x the floor (goal >= 0.9x); ` +
      `byWiki("enwiki") (${filtered.events.toLocaleString("en-US")} events) ` +
      `${prefilter.toFixed(2)}x faster than unfiltered (goal >= 1.6x)`,
  );
  console.log(
    `  Reconnect (zero backoff, one event per connection): ${
      bench.reconnectMs.toFixed(2)
    } ms each, bare fetch ${bench.fetchMs.toFixed(2)} ms: ${
      reconnect.toFixed(2)
    }x`,
  );
}

if (import.meta.main) {
  const runsArg = Deno.args.find((a) => a.startsWith("--runs="));
  printPeerBench(
    await benchPeers(runsArg ? Number(runsArg.slice(7)) : 7, 64 * 1024 * 1024),
  );
}

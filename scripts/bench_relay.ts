/**
 * Relay fan-out: one relay (in-process) with its log caught up on N
 * recentchange events from the emulator, then S subscribers (raw `fetch`
 * readers counting frames, 100 by default) reading the whole log at once.
 * Prints events/s delivered to all subscribers together, the time the relay
 * took to log the upstream backlog, and the process's RSS at the end (relay,
 * emulator and subscribers share the process).
 *
 * Run: `deno run --allow-read --allow-env --allow-net=127.0.0.1 --allow-write
 * scripts/bench_relay.ts [--subscribers=100] [--events=5000]`, or via
 * `deno task bench`.
 *
 * @module
 */

import { startRelay } from "../src/relay/relay.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";

const UA = "bench-relay/1.0 (https://example.org/bench)";

/** One fan-out run's figures. */
export interface RelayBenchRun {
  /** Events in the log. */
  events: number;
  /** Subscribers. */
  subscribers: number;
  /** Seconds the relay took to log the upstream backlog. */
  ingestSeconds: number;
  /** Seconds until every subscriber had every event. */
  fanOutSeconds: number;
  /** Resident set size at the end, bytes. */
  rss: number;
}

async function countFrames(
  url: string,
  events: number,
): Promise<void> {
  const response = await fetch(url, { headers: { "user-agent": UA } });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let frames = 0;
  let tail = "";
  while (frames < events) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Stream ended after ${frames} frames`);
    const text = tail + decoder.decode(value, { stream: true });
    let at = text.indexOf("event: message\n");
    let last = 0;
    while (at >= 0) {
      frames++;
      last = at + 15;
      at = text.indexOf("event: message\n", last);
    }
    tail = text.slice(Math.max(last, text.length - 15));
  }
  await reader.cancel();
}

/**
 * Runs one fan-out measurement.
 *
 * @param subscribers How many subscribers.
 * @param events How many events in the log.
 * @returns The figures.
 */
export async function benchRelayOnce(
  subscribers = 100,
  events = 5000,
): Promise<RelayBenchRun> {
  const dataDir = await Deno.makeTempDir({
    prefix: "eventstreams_bench_relay_",
  });
  await using emulator = serveEmulator({
    generate: { counts: { "mediawiki.recentchange": events } },
  });
  const total = emulator.streams.logs.reduce((n, l) => n + l.length, 0);
  const started = performance.now();
  const relay = await startRelay({
    streams: ["mediawiki.recentchange"],
    dataDir,
    userAgent: UA,
    baseUrl: emulator.url,
    since: Date.parse("2026-09-27T00:00:00Z"),
  });
  try {
    await relay.waitFor(() => relay.stats.received >= total);
    const ingestSeconds = (performance.now() - started) / 1000;
    const url =
      `${relay.url}/v2/stream/recentchange?since=2026-09-27T00:00:00Z`;
    const fanOut = performance.now();
    await Promise.all(
      Array.from({ length: subscribers }, () => countFrames(url, total)),
    );
    const fanOutSeconds = (performance.now() - fanOut) / 1000;
    return {
      events: total,
      subscribers,
      ingestSeconds,
      fanOutSeconds,
      rss: Deno.memoryUsage().rss,
    };
  } finally {
    await relay.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

/**
 * Prints the relay's fan-out figures (median of `runs`).
 *
 * @param runs How many runs.
 * @param subscribers How many subscribers.
 * @param events How many events.
 */
export async function printRelayBench(
  runs: number,
  subscribers = 100,
  events = 5000,
): Promise<void> {
  const results: RelayBenchRun[] = [];
  for (let i = 0; i < runs; i++) {
    results.push(await benchRelayOnce(subscribers, events));
  }
  results.sort((a, b) => a.fanOutSeconds - b.fanOutSeconds);
  const m = results[Math.floor(results.length / 2)];
  console.log(
    `Relay: ${m.events} events to ${m.subscribers} subscribers in ${
      m.fanOutSeconds.toFixed(2)
    } s: ${
      Math.round(m.events * m.subscribers / m.fanOutSeconds)
    } events/s delivered in total; upstream backlog logged in ${
      m.ingestSeconds.toFixed(2)
    } s (${
      Math.round(m.events / m.ingestSeconds)
    } events/s, fsync per batch); RSS ${
      (m.rss / 1e6).toFixed(0)
    } MB (median of ${runs})`,
  );
}

if (import.meta.main) {
  const arg = (name: string, fallback: number) => {
    const found = Deno.args.find((a) => a.startsWith(`--${name}=`));
    return found ? Number(found.slice(name.length + 3)) : fallback;
  };
  await printRelayBench(
    arg("runs", 1),
    arg("subscribers", 100),
    arg("events", 5000),
  );
}

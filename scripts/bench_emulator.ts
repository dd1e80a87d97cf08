/**
 * The emulator's throughput: one response streaming a 30,000-event
 * recentchange history over loopback, read as fast as a client can. Target:
 * more than 20,000 events/s (a timing, so it lives here, not in a test a
 * loaded machine could fail).
 *
 * Run: `deno task bench` (all benchmarks), or alone:
 * `deno run --allow-net=127.0.0.1 --allow-read --allow-env scripts/bench_emulator.ts`.
 *
 * @module
 */

import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";

/** The throughput this benchmark expects of the emulator, in events per second. */
export const EMULATOR_TARGET_EVENTS_PER_SECOND = 20_000;

/** One run's figures. */
export interface EmulatorBenchRun {
  /** Events streamed. */
  events: number;
  /** Bytes of the response body. */
  bytes: number;
  /** Wall time from the request to the last frame, in seconds. */
  seconds: number;
}

/**
 * Streams the whole history once and counts its frames.
 *
 * @returns What was streamed, and how fast.
 */
export async function benchEmulatorOnce(): Promise<EmulatorBenchRun> {
  const streams = generateStreams({
    counts: { "mediawiki.recentchange": 30_000 },
    durationMs: 600_000,
  });
  await using emulator = serveEmulator({ streams });
  const total = streams.select("recentchange").reduce(
    (n, s) => n + s.messages.length,
    0,
  );
  const started = performance.now();
  const response = await fetch(
    `${emulator.url}/v2/stream/recentchange?since=1`,
    { headers: { "user-agent": "eventstreams-bench/0.1 (me@example.org)" } },
  );
  const reader = response.body!.getReader();
  // Every frame (and the ":ok" comment) ends with a blank line; data is one line of JSON.
  let blankLines = 0;
  let bytes = 0;
  let previous = 0;
  while (blankLines < total + 1) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${blankLines} frames`);
    bytes += value.length;
    for (
      let at = value.indexOf(10);
      at !== -1;
      at = value.indexOf(10, at + 1)
    ) {
      if ((at === 0 ? previous : value[at - 1]) === 10) blankLines++;
    }
    previous = value[value.length - 1];
  }
  const seconds = (performance.now() - started) / 1000;
  await reader.cancel();
  return { events: total, bytes, seconds };
}

/**
 * Runs the benchmark `runs` times and prints the median with the target.
 *
 * @param runs How many times to stream the history.
 */
export async function printEmulatorBench(runs: number): Promise<void> {
  const results: EmulatorBenchRun[] = [];
  for (let i = 0; i < runs; i++) results.push(await benchEmulatorOnce());
  results.sort((a, b) => a.seconds - b.seconds);
  const median = results[Math.floor(results.length / 2)];
  const rate = Math.round(median.events / median.seconds);
  const met = rate > EMULATOR_TARGET_EVENTS_PER_SECOND ? "met" : "MISSED";
  console.log(
    `Emulator: ${median.events} events, ${median.bytes} bytes in ${
      median.seconds.toFixed(2)
    } s (median of ${runs}): ${rate} events/s; target > ${EMULATOR_TARGET_EVENTS_PER_SECOND}/s ${met}`,
  );
}

if (import.meta.main) await printEmulatorBench(3);

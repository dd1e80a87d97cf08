/**
 * Throughput of the PostgreSQL sink at its default batch settings (500
 * events or 1 s): 20,000 generated recentchange events caught up from the
 * emulator on loopback into a fresh table of a throwaway cluster (the test
 * suite's, tests/_postgres.ts: initdb in a temporary directory, fsync off),
 * timed from the first request to the last commit. Skipped, with the reason,
 * when PostgreSQL is not installed.
 *
 * Run: `deno task bench` (all benchmarks), or alone:
 * `deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-env --allow-run scripts/bench_postgres.ts`.
 *
 * @module
 */

import { eventStream } from "../src/client.ts";
import { PostgresSink, runSink } from "../src/sink/postgres.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import { POSTGRES_SKIP, TestPostgres } from "../tests/_postgres.ts";

const EVENTS = 20_000;

/**
 * Runs the catch-up `runs` times (a fresh table each) and prints the median.
 *
 * @param runs How many catch-ups.
 */
export async function printPostgresBench(runs: number): Promise<void> {
  if (POSTGRES_SKIP !== undefined) {
    console.log(`postgres sink: skipped (${POSTGRES_SKIP})`);
    return;
  }
  const streams = generateStreams({
    seed: 11,
    counts: { "mediawiki.recentchange": EVENTS },
    canaryEvery: 0,
  });
  const since = new Date(
    Math.min(
      ...streams.logs.flatMap((l) => l.messages.map((m) => m.timestamp)),
    ),
  ).toISOString();
  await using pg = await TestPostgres.start();
  await using emulator = serveEmulator({ streams });
  const rates: number[] = [];
  for (let run = 0; run < runs; run++) {
    await using sink = await PostgresSink.connect({
      url: pg.url,
      table: `bench_${run}`,
    });
    const stop = new AbortController();
    let written = 0;
    const started = performance.now();
    await runSink(sink, {
      open: (cursor) =>
        eventStream("recentchange", {
          baseUrl: emulator.url,
          userAgent: "eventstreams-bench/0.1 (me@example.org)",
          since,
          cursor,
        }),
      signal: stop.signal,
      onBatch: (info) => {
        written += info.events;
        if (written >= EVENTS) stop.abort();
      },
    });
    rates.push(written / ((performance.now() - started) / 1000));
  }
  rates.sort((a, b) => a - b);
  console.log(
    `postgres sink (batch 500 / 1 s, ${EVENTS} events, loopback, fsync off): median ${
      Math.round(rates[Math.floor(rates.length / 2)])
    } events/s over ${runs} runs`,
  );
}

if (import.meta.main) await printPostgresBench(3);

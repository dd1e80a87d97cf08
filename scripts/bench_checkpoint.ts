/**
 * What `eventstreams tail --checkpoint` costs on a catch-up: 5,000 events
 * from the emulator on loopback, printed to a discarding stdout, with and
 * without a checkpoint file (saves coalesced to one a second, each an
 * fsync). Target: at most 1.5x the time without. In-process (`main()`), so
 * process start-up does not blur the figures.
 *
 * Run: `deno task bench` (all benchmarks), or alone:
 * `deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-env scripts/bench_checkpoint.ts`.
 *
 * @module
 */

import { main } from "../src/cli/main.ts";
import type { CliIo, CliOutput } from "../src/cli/io.ts";
import { systemClock } from "../src/clock.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";

const EVENTS = 5_000;
/** The most `--checkpoint` may cost on a catch-up, as a factor of the time without. */
export const CHECKPOINT_TARGET_FACTOR = 1.5;

const discard: CliOutput = {
  write: (bytes) => Promise.resolve(bytes.length),
  writeSync: (bytes) => bytes.length,
  isTerminal: () => false,
};
const io: CliIo = {
  stdout: discard,
  stderr: discard,
  env: { get: () => undefined },
  clock: systemClock,
  onInterrupt: () => () => {},
};

/**
 * Times the catch-up `runs` times each way and prints the medians.
 *
 * @param runs How many catch-ups of each kind.
 */
export async function printCheckpointBench(runs: number): Promise<void> {
  const streams = generateStreams({
    seed: 3,
    counts: { "mediawiki.recentchange": EVENTS },
    codfwShare: 0.3,
  });
  const since = new Date(
    Math.min(
      ...streams.logs.flatMap((l) => l.messages.map((m) => m.timestamp)),
    ),
  ).toISOString();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir({ prefix: "bench_checkpoint_" });
  const once = async (checkpoint: boolean): Promise<number> => {
    await Deno.remove(`${dir}/rc.cursor`).catch(() => {});
    const started = performance.now();
    const code = await main([
      "tail",
      "recentchange",
      "--since",
      since,
      "--max",
      String(EVENTS),
      "--format",
      "ndjson",
      "--no-status",
      "--base-url",
      emulator.url,
      "--user-agent",
      "eventstreams-bench/0.1 (me@example.org)",
      ...(checkpoint ? ["--checkpoint", `${dir}/rc.cursor`] : []),
    ], io);
    if (code !== 0) throw new Error(`tail exited ${code}`);
    return (performance.now() - started) / 1000;
  };
  try {
    await once(false); // Warm-up.
    const median = async (checkpoint: boolean): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await once(checkpoint));
      return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
    };
    const without = await median(false);
    const withCheckpoint = await median(true);
    const factor = withCheckpoint / without;
    console.log(
      `tail catch-up of ${EVENTS} events (median of ${runs}): ${
        without.toFixed(2)
      } s without --checkpoint, ${withCheckpoint.toFixed(2)} s with (${
        factor.toFixed(2)
      }x); target <= ${CHECKPOINT_TARGET_FACTOR}x ${
        factor <= CHECKPOINT_TARGET_FACTOR ? "met" : "MISSED"
      }`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await printCheckpointBench(5);

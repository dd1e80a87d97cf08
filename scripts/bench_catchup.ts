/**
 * A `since` catch-up through the emulator over loopback: N generated
 * recentchange events (1,000,000 by default) served by the emulator in a
 * second process (scripts/bench_server.ts `--emulator=N`), read to the last
 * by `eventStream()` in this process, and by `eventstreams tail --format
 * ndjson --max N` in a third one, its stdout redirected by a shell to
 * /dev/null (what the CLI costs over the library) and to a file, as a user
 * would (`tail ... > rc.ndjson`; the difference is the kernel's file
 * writes, about 2 s of system time per GB here). With `taskset` the server
 * runs on core 1 and the consumers on core 0.
 *
 * The first pass meets a fresh emulator (every line encoded on the way); the
 * later ones a warm one (lines cached), round-robin, median. Goals (issue
 * 10): the library at >= 150,000 events/s, tail within 1.2x of the
 * library's time (its time includes its process start, about 0.05 s).
 *
 * Run: part of `deno task bench`, or alone: `deno run --allow-read
 * --allow-write --allow-env --allow-net=127.0.0.1 --allow-run
 * scripts/bench_catchup.ts [--events=N] [--runs=N]`.
 *
 * @module
 */

import { eventStream } from "../src/client.ts";
import { median, onCore, startBenchServer } from "./bench_process.ts";

const USER_AGENT =
  "eventstreams-bench/0.1.0 (https://jsr.io/@eventstreams/client)";
const CLI = new URL("../src/cli/main.ts", import.meta.url).pathname;

interface ServerInfo {
  url: string;
  events: number;
  start: string;
}

/** What the catch-up benchmark measured, in events per second. */
export interface CatchUpBench {
  events: number;
  pinned: boolean;
  runs: number;
  /** The library's first pass, against a fresh emulator. */
  freshPerS: number;
  /** Medians of the warm passes. */
  libraryPerS: number;
  tailPerS: number;
  tailToFilePerS: number;
}

async function library(info: ServerInfo): Promise<number> {
  const stream = eventStream("recentchange", {
    userAgent: USER_AGENT,
    baseUrl: info.url,
    since: info.start,
  });
  let events = 0;
  for await (const _ of stream) {
    if (++events === info.events) break;
  }
  return events;
}

/** Runs tail; its event count is checked from the file, else taken from `--max` and exit 0. */
async function tail(
  info: ServerInfo,
  pinned: boolean,
  output: string,
): Promise<number> {
  // The shell redirects, as a user's would: stdout is the file itself.
  const [program, args] = onCore(pinned, 0, [
    "sh",
    "-c",
    'exec "$@" > "$BENCH_OUTPUT"',
    "sh",
    Deno.execPath(),
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-env",
    CLI,
    "tail",
    "recentchange",
    "--since",
    info.start,
    "--base-url",
    info.url,
    "--user-agent",
    USER_AGENT,
    "--format",
    "ndjson",
    "--max",
    String(info.events),
    "--no-status",
  ]);
  const child = new Deno.Command(program, {
    args,
    env: { BENCH_OUTPUT: output },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const { code } = await child.status;
  if (code !== 0) throw new Error(`tail exited with ${code}`);
  return output === "/dev/null" ? info.events : await countLines(output);
}

async function countLines(path: string): Promise<number> {
  using file = await Deno.open(path);
  let lines = 0;
  for await (const chunk of file.readable) {
    for (
      let at = chunk.indexOf(10);
      at !== -1;
      at = chunk.indexOf(10, at + 1)
    ) {
      lines++;
    }
  }
  return lines;
}

/**
 * Starts the emulator process and times the passes.
 *
 * @param events Events in the emulator's history.
 * @param runs Warm passes per consumer.
 * @returns What was measured.
 */
export async function benchCatchUp(
  events = 1_000_000,
  runs = 3,
): Promise<CatchUpBench> {
  const server = await startBenchServer<ServerInfo>([`--emulator=${events}`]);
  const output = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    const { info, pinned } = server;
    const time = async (run: () => Promise<number>) => {
      const start = performance.now();
      const n = await run();
      const seconds = (performance.now() - start) / 1000;
      if (n !== events) {
        throw new Error(`a catch-up read ${n} events, expected ${events}`);
      }
      return events / seconds;
    };
    const freshPerS = await time(() => library(info));
    const libraryRates: number[] = [];
    const tailRates: number[] = [];
    const tailToFileRates: number[] = [];
    for (let round = 0; round < runs; round++) {
      libraryRates.push(await time(() => library(info)));
      tailRates.push(await time(() => tail(info, pinned, "/dev/null")));
      tailToFileRates.push(await time(() => tail(info, pinned, output)));
    }
    return {
      events,
      pinned,
      runs,
      freshPerS,
      libraryPerS: median(libraryRates),
      tailPerS: median(tailRates),
      tailToFilePerS: median(tailToFileRates),
    };
  } finally {
    await server.stop();
    await Deno.remove(output).catch(() => {});
  }
}

/**
 * Prints what {@linkcode benchCatchUp} measured.
 *
 * @param bench The measurement.
 */
export function printCatchUpBench(bench: CatchUpBench): void {
  const rate = (perS: number) =>
    `${Math.round(perS).toLocaleString("en-US")} events/s`;
  console.log(
    `Catch-up from since through the emulator over loopback (${
      bench.events.toLocaleString("en-US")
    } recentchange events, server in a second process${
      bench.pinned ? ", pinned" : ", unpinned"
    }; warm: median of ${bench.runs})`,
  );
  console.log(
    `  eventStream(), fresh emulator        ${
      rate(bench.freshPerS)
    } (goal >= 150,000)`,
  );
  console.log(
    `  eventStream(), warm emulator         ${
      rate(bench.libraryPerS)
    } (goal >= 150,000)`,
  );
  console.log(
    `  tail --format ndjson > /dev/null     ${rate(bench.tailPerS)}: ${
      (bench.libraryPerS / bench.tailPerS).toFixed(2)
    }x the library's time (goal <= 1.2x)`,
  );
  console.log(
    `  tail --format ndjson > file          ${rate(bench.tailToFilePerS)}: ${
      (bench.libraryPerS / bench.tailToFilePerS).toFixed(2)
    }x (the kernel's file writes included)`,
  );
}

if (import.meta.main) {
  const arg = (name: string) => {
    const found = Deno.args.find((a) => a.startsWith(`--${name}=`));
    return found === undefined
      ? undefined
      : Number(found.slice(name.length + 3));
  };
  printCatchUpBench(await benchCatchUp(arg("events"), arg("runs")));
}

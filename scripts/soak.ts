/**
 * `deno task soak`: the full-size soak (scripts/soak_run.ts). Ends with
 * `N events, F faults, L lost, D duplicated, max C connection(s)` and exits
 * 1 unless L = 0, D = 0 and C = 1.
 *
 * Options: `--seed=N` (default 1), `--events=N` (default 100000 per phase).
 *
 * @module
 */

import { runSoak, soakLine } from "./soak_run.ts";

const arg = (name: string, fallback: number): number => {
  const found = Deno.args.find((a) => a.startsWith(`--${name}=`));
  const value = found === undefined ? fallback : Number(found.split("=")[1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`Invalid --${name} '${found}': expected a whole number >= 1`);
    Deno.exit(2);
  }
  return value;
};

const events = arg("events", 100_000);
const started = performance.now();
const report = await runSoak({
  seed: arg("seed", 1),
  historicalEvents: events,
  liveEvents: Math.ceil(events / 5),
  meanFramesPerConnection: 15,
  idleTimeoutMs: 250,
  chaos: true,
  log: (line) => console.error(line),
});
console.error(
  `fault kinds: ${
    JSON.stringify(report.faultKinds)
  }; ${report.connections} connections; ${report.unexpected} unexpected; ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s`,
);
console.log(soakLine(report));
Deno.exit(
  report.lost === 0 && report.duplicated === 0 && report.maxConnections === 1
    ? 0
    : 1,
);

/**
 * Shared by the tests that run the library on real runtimes (Node, Bun,
 * Chromium, Firefox): where the installed tools are, the packed npm
 * package, and the emulator data sets every runtime must read exactly once.
 *
 * The tools come from `scripts/install_test_deps.sh` (`.ci/run` calls it):
 * Debian's `chromium` and `firefox-esr`, and from the npm registry, into
 * {@linkcode RUNTIMES_DIR}, TypeScript, `@types/node` and Bun. Tests never
 * install anything themselves (puppeteer-core is a Deno `npm:` import).
 */
import { buildNpm } from "../scripts/build_npm.ts";
import {
  EmulatorStreams,
  loadFixtureStreams,
  TopicPartitionLog,
} from "../src/testing/emulator/mod.ts";
import type { EmulatorFaultScript } from "../src/testing/emulator/faults.ts";
import { runProcess } from "./_helpers.ts";
import { appendRecentChange } from "./_replay_helpers.ts";

/** Where `scripts/install_test_deps.sh` installs the npm-side tools. */
export const RUNTIMES_DIR: string = Deno.env.get("EVENTSTREAMS_RUNTIMES_DIR") ??
  `${Deno.env.get("HOME") ?? "/root"}/.cache/eventstreams-runtimes`;

const INSTALL_HINT =
  "run scripts/install_test_deps.sh (CI's .ci/run does it when they are missing)";

/**
 * An installed tool, by path: under {@linkcode RUNTIMES_DIR} when relative.
 *
 * @throws {Error} When it is not there, naming the installer.
 */
export function tool(path: string, what: string): string {
  const full = path.startsWith("/") ? path : `${RUNTIMES_DIR}/${path}`;
  try {
    Deno.statSync(full);
  } catch {
    throw new Error(`Cannot find ${what} at ${full}: ${INSTALL_HINT}`);
  }
  return full;
}

/** The system's Node.js (a real one: the first `node` on PATH or in /usr/bin). */
export async function systemNode(): Promise<string> {
  for (const candidate of ["node", "/usr/bin/node", "/usr/local/bin/node"]) {
    try {
      const run = await runProcess(candidate, [
        "-p",
        "process.versions.deno ?? process.version",
      ]);
      if (run.code === 0 && run.stdout.startsWith("v")) return candidate;
    } catch {
      // Not there: try the next.
    }
  }
  throw new Error(
    "Cannot find Node.js (node) on this machine: install Node 20+ (CI has it)",
  );
}

/**
 * The core as one ESM file for any runtime: `deno bundle --platform browser
 * mod.ts`.
 *
 * @returns The bundle's code.
 * @throws {Error} With deno's output when bundling fails.
 */
export async function bundleCore(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--format",
      "esm",
      "--platform",
      "browser",
      "mod.ts",
    ],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `deno bundle failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

let packed: Promise<string> | undefined;

/**
 * Builds the npm package (`deno task build:npm`, into a temporary
 * directory) and packs it with the system's npm, once per test process.
 *
 * @returns The path of the `.tgz`.
 */
export function packedPackage(): Promise<string> {
  packed ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "eventstreams_npm_" });
    const out = new URL(`file://${dir}/package/`);
    await buildNpm(out);
    const pack = await runProcess("npm", [
      "pack",
      "--silent",
      "--pack-destination",
      dir,
    ], { cwd: out });
    if (pack.code !== 0) {
      throw new Error(`npm pack failed: ${pack.stderr}${pack.stdout}`);
    }
    return `${dir}/${pack.stdout.trim().split("\n").at(-1)}`;
  })();
  return packed;
}

/** A data set for the emulator and what a consumer of it must receive. */
export interface RuntimeCase {
  /** What the case is, for messages. */
  name: string;
  streams: EmulatorStreams;
  /** The stream names a consumer asks for. */
  request: string[];
  /** The consumer's `since`. */
  since: string;
  faults: EmulatorFaultScript;
  /** `topic/partition/offset` of every event a consumer must get, once each. */
  expected: string[];
}

/** Where an event is: the key compared across runtimes. */
export function eventKey(
  meta: { topic: string; partition: number; offset: number },
): string {
  return `${meta.topic}/${meta.partition}/${meta.offset}`;
}

function expectedKeys(streams: EmulatorStreams, topics: string[]): string[] {
  return topics.flatMap((topic) =>
    streams.partitions(topic).flatMap((log) =>
      log.messages.map((m) =>
        eventKey({ topic, partition: log.partition, offset: m.offset })
      )
    )
  );
}

/**
 * The cut-and-stall data: the real `mediawiki.page_change.v1` capture (170
 * events; its codfw topic is empty) and 123 generated recentchange events
 * (some in codfw), 293 in all, read through two mid-frame cuts and a zombie
 * connection.
 */
export async function cutAndStallCase(): Promise<RuntimeCase> {
  const streams = await loadFixtureStreams(
    new URL("../fixtures/", import.meta.url).pathname,
    { counts: { "mediawiki.recentchange": 123 } },
  );
  const topics = [
    "eqiad.mediawiki.page_change.v1",
    "codfw.mediawiki.page_change.v1",
    "eqiad.mediawiki.recentchange",
    "codfw.mediawiki.recentchange",
  ];
  return {
    name: "cut-and-stall",
    streams,
    request: ["mediawiki.page_change.v1", "recentchange"],
    since: "2020-01-01T00:00:00Z",
    faults: [
      [{ kind: "cut", afterFrames: 40, midFrame: true }],
      [{ kind: "stall", afterFrames: 50 }],
      [{ kind: "cut", afterFrames: 60, midFrame: true, abrupt: true }],
    ],
    expected: expectedKeys(streams, topics),
  };
}

const QUIET_START = Date.parse("2026-09-27T16:00:00Z");

/**
 * The quiet-partition case of issue 11: the other datacenter's topic has one
 * event an hour (one here, at the start), the busy one 300 in the hour
 * after it, and every connection is cut after 120 frames. A resume whose
 * `since` follows the quietest partition replays the whole hour each time
 * and never gets past 120 of 301.
 */
export function quietPartitionCase(): RuntimeCase {
  const eqiad = new TopicPartitionLog({
    topic: "eqiad.mediawiki.recentchange",
    baseOffset: 4369496612,
  });
  const codfw = new TopicPartitionLog({
    topic: "codfw.mediawiki.recentchange",
    baseOffset: 118094503,
  });
  appendRecentChange(codfw, 1000, QUIET_START);
  for (let i = 0; i < 300; i++) {
    // Second precision, like recentchange: pairs of events share a timestamp.
    appendRecentChange(
      eqiad,
      i,
      QUIET_START + 10_000 + Math.floor(i / 2) * 24_000,
    );
  }
  const streams = new EmulatorStreams({
    configs: [{
      name: "mediawiki.recentchange",
      aliases: ["recentchange"],
      topics: [eqiad.topic, codfw.topic],
    }],
    logs: [eqiad, codfw],
  });
  return {
    name: "quiet-partition",
    streams,
    request: ["recentchange"],
    since: new Date(QUIET_START).toISOString(),
    faults: () => [{ kind: "cut", afterFrames: 120 }],
    expected: expectedKeys(streams, [eqiad.topic, codfw.topic]),
  };
}

/** What one runtime's consumer reports. */
export interface ConsumerReport {
  /** `process.version`, `Bun.version` or `navigator.userAgent`. */
  runtime: string;
  /** {@linkcode eventKey} of each event handed over, in order. */
  keys: string[];
  /** The stream's stats at the end. */
  stats: { events: number; duplicates: number; connections: number };
  cursor: string;
}

/**
 * Checks a consumer's events against the case: every expected event once,
 * nothing else. Returns a one-line summary for the closing note.
 *
 * @throws {Error} Listing what is missing or repeated.
 */
export function assertExactlyOnce(
  testCase: RuntimeCase,
  report: ConsumerReport,
): string {
  const seen = new Map<string, number>();
  for (const key of report.keys) seen.set(key, (seen.get(key) ?? 0) + 1);
  const missing = testCase.expected.filter((key) => !seen.has(key));
  const repeated = [...seen].filter(([, n]) => n > 1).map(([key]) => key);
  const expected = new Set(testCase.expected);
  const extra = [...seen.keys()].filter((key) => !expected.has(key));
  if (missing.length || repeated.length || extra.length) {
    throw new Error(
      `${report.runtime}: ${seen.size} of ${testCase.expected.length} events on ${testCase.name}; ` +
        `missing ${missing.length} (${missing.slice(0, 3).join(", ")}), ` +
        `repeated ${repeated.length} (${repeated.slice(0, 3).join(", ")}), ` +
        `unexpected ${extra.length}`,
    );
  }
  return `${report.runtime} on ${testCase.name}: ${report.keys.length} of ${testCase.expected.length} events, ` +
    `${report.stats.duplicates} repeats dropped, ${report.stats.connections} connections`;
}

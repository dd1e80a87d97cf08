/**
 * `eventstreams demo`: the client against a local EventStreams emulator
 * serving the repository's real data, through scripted faults (a mid-frame
 * cut, a zombie connection, a 429, the periodic edge cut, canary events,
 * out-of-order topics), ending with an exact account of what was delivered.
 *
 * @module
 */

import { type EventStream, eventStream } from "../client.ts";
import { Cursor, type CursorEntry } from "../cursor.ts";
import type { Emulator } from "../testing/emulator/server.ts";
import { serveEmulator } from "../testing/emulator/server.ts";
import type { EmulatorStreams } from "../testing/emulator/stream_set.ts";
import { seededRandom } from "../testing/random.ts";
import type { EventStreamsEvent } from "../types.ts";
import { parseFlags, parseTailArgs, UsageError } from "./args.ts";
import {
  compareDeliveries,
  type DeliveryPosition,
  formatDeliverySummary,
  formatPosition,
} from "./demo_accounting.ts";
import {
  buildDemoData,
  DEMO_BATCH_SIZE,
  DEMO_CLIENT,
  DEMO_FAULTS,
  DEMO_JITTER_SEED_SALT,
  DEMO_SINCE,
  DEMO_STREAMS,
  DEMO_USER_AGENT,
  demoFaultsFor,
} from "./demo_scenario.ts";
import { findFixturesDir } from "./fixtures_dir.ts";
import {
  formatNdjson,
  formatPretty,
  outputStyle,
  paint,
  useColor,
} from "./format.ts";
import { type CliIo, writeText, writeTextSync } from "./io.ts";

export {
  compareDeliveries,
  type DeliveryPosition,
  type DeliveryReport,
  formatDeliverySummary,
} from "./demo_accounting.ts";

/** What `eventstreams demo` receives from `main`. */
export interface DemoOptions {
  /** The arguments after `demo`. */
  args: string[];
  /** The process's I/O (stdout, stderr, env, clock, Ctrl-C). */
  io: CliIo;
}

/** `eventstreams demo --help`. */
export const DEMO_HELP =
  `Show the client delivering every event exactly once through cuts, stalls and 429s.

Usage:
  eventstreams demo [--quiet] [--seed <n>] [--format <ndjson|pretty>]
  eventstreams demo --live --user-agent <ua> [--max <n>]

Starts the local EventStreams emulator (loopback) on the repository's real data (the 169-frame
mediawiki.page_change.v1 capture, plus generated mediawiki.recentchange events with canaries;
generated data only outside a checkout) and reads both streams over one connection from
${DEMO_SINCE} while the emulator scripts faults, in compressed time:
  1. a cut in the middle of a frame
  2. a zombie connection: open and silent, caught by the idle watchdog (1 s)
  3. a 429 Too Many Concurrent Connections: the client backs off (floor 300 ms)
  4. the edge's 15-minute cut, after 1 s; the client also reconnects itself every 1.5 s
  and on every connection: canary events (dropped by the client) and topics interleaved out of
  timestamp order.
Events go to stdout (pretty on a terminal, NDJSON otherwise); the header, a note per fault and
the summary go to stderr. The last line compares what the client delivered with the emulator's
log, by topic, partition and offset:
  N events delivered, 0 lost, 0 duplicated, K reconnects
It takes a few seconds.

Options:
  --quiet, -q               No event lines (header, fault notes and summary only)
  --seed <n>                Seed of the generated events and of the backoff jitter (default 1)
  --format <ndjson|pretty>  Event lines (default: pretty on a terminal, NDJSON otherwise)
  --no-color                No colours (also when NO_COLOR is set)
  --live                    Read the real stream at https://stream.wikimedia.org instead (needs
                            internet and --user-agent). No loss accounting there: the live
                            log is not ours to compare against
  --max <n>                 With --live: stop after n events (default 20)
  --user-agent <ua>         With --live: who you are, as Wikimedia requires, like
                            'my-tool/1.0 (https://example.org; me@example.org)'
                            (default: EVENTSTREAMS_USER_AGENT)

Examples:
  eventstreams demo
  eventstreams demo --quiet
  eventstreams demo --format ndjson > events.ndjson
  eventstreams demo --seed 7
  eventstreams demo --live --max 50 --user-agent 'my-tool/1.0 (me@example.org)'
From a checkout:
  deno task demo

Exit codes: 0 every expected event delivered exactly once (or --live done), 1 an event was lost,
duplicated or unexpected, the run stopped early (Ctrl-C, a stuck client) or a runtime error,
2 usage error.
`;

/** Stop when no event has been delivered for this long (the client is stuck). */
const STALL_LIMIT_MS = 8_000;
/** Stop whatever happens after this long (the demo must end within a minute). */
const DEADLINE_MS = 45_000;
/** How many lost or duplicated positions to list. */
const LIST_LIMIT = 20;
const DEFAULT_LIVE_MAX = 20;

const SPEC = {
  help: { type: "boolean", short: "h" },
  quiet: { type: "boolean", short: "q" },
  seed: { type: "string" },
  format: { type: "string" },
  color: { type: "boolean" },
  live: { type: "boolean" },
  max: { type: "string" },
  "user-agent": { type: "string" },
} as const satisfies Parameters<typeof parseFlags>[1];

interface DemoArgs {
  help: boolean;
  quiet: boolean;
  seed: number;
  format?: "ndjson" | "pretty";
  color?: boolean;
  live: boolean;
  max?: string;
  userAgent?: string;
}

function parseDemoArgs(args: string[]): DemoArgs {
  const { values, positionals } = parseFlags("demo", SPEC, args);
  if (values.help) return { help: true, quiet: false, seed: 1, live: false };
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument '${
        positionals[0]
      }' for 'eventstreams demo': the demo picks its streams; use 'eventstreams tail ${
        positionals[0]
      }' to follow one`,
    );
  }
  let seed = 1;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed) || !Number.isSafeInteger(+values.seed)) {
      throw new UsageError(
        `Invalid --seed '${values.seed}': expected a whole number, like --seed 7`,
      );
    }
    seed = Number(values.seed);
  }
  if (
    values.format !== undefined && values.format !== "ndjson" &&
    values.format !== "pretty"
  ) {
    throw new UsageError(
      `Invalid --format '${values.format}': expected ndjson or pretty`,
    );
  }
  const live = values.live ?? false;
  if (!live) {
    for (const flag of ["max", "user-agent"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(
          `Option '--${flag}' applies to 'eventstreams demo --live' only: the emulator run stops when every expected event is delivered`,
        );
      }
    }
  } else if (values.seed !== undefined) {
    throw new UsageError(
      "Option '--seed' applies to the emulator run only: the live stream is what it is",
    );
  }
  return {
    help: false,
    quiet: values.quiet ?? false,
    seed,
    format: values.format as DemoArgs["format"],
    color: values.color,
    live,
    max: values.max,
    userAgent: values["user-agent"],
  };
}

/**
 * Runs `eventstreams demo`: the emulator run (default) or `--live`.
 *
 * @param options Arguments and I/O.
 * @returns The exit code: 0 when every expected event was delivered exactly
 * once, 1 otherwise or on a runtime error.
 * @throws {UsageError} For a bad command line (exit code 2).
 *
 * @example Printing the demo's help
 * ```ts
 * import { runDemo } from "./demo.ts";
 * import { denoIo } from "./io.ts";
 *
 * const code = await runDemo({ args: ["--help"], io: denoIo() });
 * if (code !== 0) throw new Error(`expected exit code 0, got ${code}`);
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { io } = options;
  const args = parseDemoArgs(options.args);
  if (args.help) {
    await writeText(io.stdout, DEMO_HELP);
    return 0;
  }
  if (args.live) return await runLive(args, io);
  return await runEmulatorDemo(args, io);
}

// ---------------------------------------------------------------------------
// --live: tail the real stream
// ---------------------------------------------------------------------------

async function runLive(args: DemoArgs, io: CliIo): Promise<number> {
  const max = args.max ?? String(DEFAULT_LIVE_MAX);
  const tailArgs = [...DEMO_STREAMS, "--max", max];
  if (args.userAgent !== undefined) {
    tailArgs.push("--user-agent", args.userAgent);
  }
  if (args.format !== undefined) tailArgs.push("--format", args.format);
  if (args.color === false) tailArgs.push("--no-color");
  // Usage errors (no User-Agent, bad --max) before the header.
  parseTailArgs(tailArgs, io.env, io.clock.now());
  const color = useColor(
    io.stderr.isTerminal(),
    io.env.get("NO_COLOR"),
    args.color,
  );
  writeTextSync(
    io.stderr,
    paint(
      "1",
      `eventstreams demo --live: ${
        DEMO_STREAMS.join(" and ")
      } from https://stream.wikimedia.org, ${max} events`,
      color,
    ) +
      "\nNo loss accounting here: the live log is not ours to compare against. Run the demo without\n" +
      "--live to see every event accounted for through scripted faults.\n",
  );
  const { runTail } = await import("./tail.ts");
  const stdout = args.quiet
    ? {
      write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
      writeSync: (bytes: Uint8Array) => bytes.length,
      isTerminal: () => false,
    }
    : io.stdout;
  return await runTail(tailArgs, { ...io, stdout }, "demo");
}

// ---------------------------------------------------------------------------
// The emulator run
// ---------------------------------------------------------------------------

/** `eqiad.mediawiki.page_change.v1` -> `eqiad.page_change.v1`. */
function shortTopic(topic: string): string {
  return topic.replace(/^(\w+)\.mediawiki\./, "$1.");
}

/** The offsets a cursor resumes from, short: `eqiad.page_change.v1@1109139175, ...`. */
function describeCursor(cursor: string): string {
  let entries: readonly CursorEntry[];
  try {
    entries = Cursor.parse(cursor).entries;
  } catch {
    return cursor;
  }
  return entries.map((entry) => {
    const at = "offset" in entry
      ? (entry.offset < 0 ? "latest" : String(entry.offset))
      : `t=${new Date(entry.timestamp).toISOString()}`;
    const partition = entry.partition === 0 ? "" : `/${entry.partition}`;
    return `${shortTopic(entry.topic)}${partition}@${at}`;
  }).join(", ");
}

/** The compact pretty line of the demo: stream, datacenter and offset, then tail's line. */
function formatDemoEvent(event: EventStreamsEvent, color: boolean): string {
  const stream = event.meta.stream.replace(/^mediawiki\./, "")
    .replace(/\.v1$/, "");
  const dc = event.meta.topic.split(".")[0];
  const where = paint(
    "2",
    `${stream.padEnd(12)} ${dc} ${String(event.meta.offset).padStart(10)}`,
    color,
  );
  return `${where}  ${formatPretty(event, { color })}`;
}

/**
 * How many non-canary events the server's own id would skip when resuming
 * after `offset - 1` of (topic, partition): the events from `offset` on
 * that share the last delivered event's timestamp, since the server's id
 * says `timestamp + 1` (PROTOCOL.md, "Resume semantics and their traps").
 */
function skippedByServerId(
  streams: EmulatorStreams,
  topic: string,
  partition: number,
  offset: number,
): number {
  const log = streams.log(topic, partition);
  if (log === undefined) return 0;
  const last = log.messages[log.indexOfOffset(offset - 1)];
  if (last === undefined || last.offset !== offset - 1) return 0;
  const from = log.indexOfOffset(offset);
  const to = log.indexForTimestamp(last.timestamp + 1);
  let skipped = 0;
  for (let i = from; i < to; i++) {
    if (!log.messages[i].data.includes('"domain":"canary"')) skipped++;
  }
  return skipped;
}

const seconds = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;

async function runEmulatorDemo(args: DemoArgs, io: CliIo): Promise<number> {
  const { clock } = io;
  const startedAt = clock.now();
  const stderrColor = useColor(
    io.stderr.isTerminal(),
    io.env.get("NO_COLOR"),
    args.color,
  );
  const { format, color: stdoutColor } = outputStyle(io.stdout, io.env, args);
  const err = (text: string) => writeTextSync(io.stderr, text);
  const tag = (name: string, code: string) =>
    paint(code, `[${name}]`.padEnd(8), stderrColor);
  const note = (name: string, code: string, text: string) =>
    err(`${tag(name, code)} ${text}\n`);

  const fixturesDir = await findFixturesDir();
  const data = await buildDemoData({ seed: args.seed, fixturesDir });
  const expectedCount = data.expected.length;
  // The last expected offset of each topic-partition: once delivered, the client is past everything.
  const lastExpected = new Map<string, number>();
  for (const p of data.expected) {
    const k = `${p.topic}/${p.partition}`;
    lastExpected.set(k, Math.max(lastExpected.get(k) ?? -1, p.offset));
  }

  const emulator: Emulator = serveEmulator({
    streams: data.streams,
    clock,
    faults: (index) => demoFaultsFor(index),
    closeGraceMs: 100,
  });

  // The header.
  const path = `/v2/stream/${DEMO_STREAMS.join(",")}?since=${DEMO_SINCE}`;
  const source = data.fromFixtures
    ? `the repository's fixtures: the real 169-frame ${
      DEMO_STREAMS[0]
    } capture + generated ${DEMO_STREAMS[1]} (seed ${args.seed})`
    : `generated data (no fixtures directory found; seed ${args.seed})`;
  const faultLines = DEMO_FAULTS.map((f, i) =>
    `${i === 0 ? "  faults    " : "            "}connection ${
      i + 1
    }: ${f.description}\n`
  ).join("");
  err(
    paint(
      "1",
      "eventstreams demo: the client against a local EventStreams emulator, through scripted faults",
      stderrColor,
    ) +
      "\n" +
      `  emulator  ${emulator.url}, serving ${source}\n` +
      `  request   GET ${path}  (one connection, both streams)\n` +
      `  expected  ${expectedCount} events: the emulator's log for both streams from since on, without its ${data.canaries} canaries\n` +
      faultLines +
      `            every connection: topics interleaved in batches of ${DEMO_BATCH_SIZE} (meta.dt goes backwards), canaries mixed in\n` +
      `  client    idleTimeoutMs ${DEMO_CLIENT.idleTimeoutMs}, maxConnectionMs ${DEMO_CLIENT.maxConnectionMs} (14 min in production), backoff from ${DEMO_CLIENT.backoff.initialMs} ms\n\n`,
  );

  const delivered: DeliveryPosition[] = [];
  const reached = new Map<string, number>();
  let outOfOrder = 0;
  let lastDt = -Infinity;
  let printing = !args.quiet;
  let stopReason: string | undefined;
  let pendingNote: string | undefined;
  /** What the client went through, in order, for the recap. */
  const survived: string[] = [];
  /** Topic-partitions that delivered events on the current connection. */
  const touched = new Set<string>();

  let stream: EventStream<EventStreamsEvent>;
  try {
    stream = openStream();
  } catch (error) {
    await emulator.close();
    throw error;
  }
  function openStream(): EventStream<EventStreamsEvent> {
    return eventStream(DEMO_STREAMS, {
      userAgent: DEMO_USER_AGENT,
      baseUrl: emulator.url,
      since: DEMO_SINCE,
      clock,
      idleTimeoutMs: DEMO_CLIENT.idleTimeoutMs,
      maxConnectionMs: DEMO_CLIENT.maxConnectionMs,
      backoff: {
        ...DEMO_CLIENT.backoff,
        random: seededRandom(args.seed ^ DEMO_JITTER_SEED_SALT),
      },
      onConnect: (info) => {
        touched.clear();
        if (info.lastEventId === undefined) {
          note(
            "open",
            "32",
            `connection ${info.connection}: fresh start at since=${DEMO_SINCE}`,
          );
        } else {
          note(
            "resume",
            "36",
            `connection ${info.connection}: Last-Event-ID pinned to offsets: ${
              describeCursor(info.lastEventId)
            }`,
          );
        }
      },
      onDisconnect: (info) => {
        const server = emulator.connections[info.connection - 1]?.end?.reason;
        const after = `after ${info.events} event${
          info.events === 1 ? "" : "s"
        }`;
        switch (info.reason) {
          case "closed":
          case "aborted":
          case "failed":
            return;
          case "idle-timeout":
            survived.push(`zombie (${info.connection})`);
            pendingNote = `connection ${info.connection}: no bytes for ${
              seconds(DEMO_CLIENT.idleTimeoutMs)
            } ${after}: zombie connection aborted by the idle watchdog`;
            break;
          case "max-connection-age":
            survived.push(`maxConnectionMs (${info.connection})`);
            pendingNote = `connection ${info.connection}: ${
              seconds(DEMO_CLIENT.maxConnectionMs)
            } old (maxConnectionMs): the client reconnects before the edge cuts it`;
            break;
          case "eof":
            survived.push(
              server === "cut-mid-frame"
                ? `mid-frame cut (${info.connection})`
                : server === "max-age"
                ? `edge cut (${info.connection})`
                : `end of stream (${info.connection})`,
            );
            pendingNote = server === "cut-mid-frame"
              ? `connection ${info.connection} cut mid-frame ${after}: the half frame is discarded`
              : server === "max-age"
              ? `connection ${info.connection} cut by the edge at ${
                seconds(info.durationMs)
              } of age ${after} (the 15-minute cut, compressed)`
              : `connection ${info.connection} ended by the server ${after}`;
            break;
          default:
            survived.push(`${info.reason} (${info.connection})`);
            pendingNote =
              `connection ${info.connection} ended (${info.reason}) ${after}`;
        }
        // The trap a timestamp resume would fall into here.
        if (stream.cursor !== "") {
          const traps: string[] = [];
          for (const entry of Cursor.parse(stream.cursor).entries) {
            if (
              !("offset" in entry) || entry.offset <= 0 ||
              !touched.has(`${entry.topic}/${entry.partition}`)
            ) continue;
            const n = skippedByServerId(
              data.streams,
              entry.topic,
              entry.partition,
              entry.offset,
            );
            if (n > 0) {
              traps.push(
                `${n} ${shortTopic(entry.topic)} event${n === 1 ? "" : "s"}`,
              );
            }
          }
          if (traps.length > 0) {
            pendingNote += `\n${
              tag("trap", "35")
            } resuming from the server's own id (timestamp + 1) would skip ${
              traps.join(" and ")
            } that share the last delivered one's timestamp; the offset-pinned cursor skips none`;
          }
        }
      },
      onRetry: (info) => {
        const delay = `${Math.round(info.delayMs)} ms`;
        if (info.reason === "http") {
          const refused = emulator.connections.length;
          survived.push(`${info.status} (${refused})`);
          note(
            "fault",
            "33",
            info.status === 429
              ? `connection ${refused}: 429 Too Many Concurrent Connections: backing off ${delay}`
              : `connection ${refused}: HTTP ${info.status}: backing off ${delay}`,
          );
          return;
        }
        const text = pendingNote ?? `connection ended (${info.reason})`;
        pendingNote = undefined;
        const [first, ...rest] = text.split("\n");
        note(
          "fault",
          "33",
          `${first}; resuming from the offset-pinned cursor in ${delay}`,
        );
        for (const line of rest) err(`${line}\n`);
      },
      onError: (error, context) => {
        if (
          context.kind === "invalid-json" || context.kind === "invalid-event" ||
          context.kind === "invalid-id" || context.kind === "error-event"
        ) {
          note("error", "31", error.message);
        }
      },
    });
  }

  // Watchdogs of the demo itself: a client that stops making progress ends the run.
  let cancelStall: () => void = () => {};
  const armStall = () => {
    cancelStall();
    cancelStall = clock.setTimeout(() => {
      stopReason = `no event for ${seconds(STALL_LIMIT_MS)}: stopping`;
      void stream.close();
    }, STALL_LIMIT_MS);
  };
  const cancelDeadline = clock.setTimeout(() => {
    stopReason = `still running after ${seconds(DEADLINE_MS)}: stopping`;
    void stream.close();
  }, DEADLINE_MS);
  let interrupted = false;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    stopReason = "interrupted";
    void stream.close();
  });

  let failure: Error | undefined;
  armStall();
  try {
    for await (const event of stream) {
      const { topic, partition, offset } = event.meta;
      delivered.push({ topic, partition, offset });
      const dt = Date.parse(event.meta.dt);
      if (dt < lastDt) outOfOrder++;
      lastDt = dt;
      armStall();
      if (printing) {
        const line = format === "ndjson"
          ? formatNdjson(event)
          : formatDemoEvent(event, stdoutColor);
        try {
          await writeText(io.stdout, `${line}\n`);
        } catch (error) {
          if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
          printing = false; // `| head`: keep accounting, stop printing.
        }
      }
      const k = `${topic}/${partition}`;
      touched.add(k);
      reached.set(k, Math.max(reached.get(k) ?? -1, offset));
      // Offsets only grow within a topic-partition: past the last expected one everywhere, it is done.
      if (
        [...lastExpected].every(([tp, last]) => (reached.get(tp) ?? -1) >= last)
      ) break;
    }
  } catch (error) {
    failure = error as Error;
  } finally {
    cancelStall();
    cancelDeadline();
    stopListening();
    await stream.close();
    await emulator.close();
  }

  const stats = stream.stats;
  const report = compareDeliveries(data.expected, delivered);
  if (failure) note("error", "31", `the client failed: ${failure.message}`);
  if (stopReason) note("stop", "31", stopReason);
  const elapsed = seconds(Math.round((clock.now() - startedAt) / 100) * 100);
  if (survived.length > 0) {
    note(
      "recap",
      "32",
      `faults survived, by connection: ${
        survived.join(", ")
      }; each resumed from the offset-pinned cursor`,
    );
  }
  note(
    "done",
    "32",
    `${report.delivered} of ${expectedCount} expected events in ${elapsed} over ${stats.connections} connections; ` +
      `the client dropped ${stats.canaryDropped} canaries and ${stats.duplicates} repeats; ` +
      `${outOfOrder} events arrived with a meta.dt earlier than the one before`,
  );
  const list = (label: string, positions: DeliveryPosition[]) => {
    if (positions.length === 0) return;
    const shown = positions.slice(0, LIST_LIMIT).map(formatPosition).join(", ");
    const more = positions.length > LIST_LIMIT
      ? `, and ${positions.length - LIST_LIMIT} more`
      : "";
    note(label, "31", `${positions.length}: ${shown}${more}`);
  };
  list("lost", report.lost);
  list("dup", report.duplicated);
  list("extra", report.unexpected);
  if (report.undelivered.length > 0) {
    note(
      "stop",
      "31",
      `${report.undelivered.length} expected events not reached before the stop (after the last one delivered of their topic-partition)`,
    );
  }
  const ok = report.lost.length === 0 && report.duplicated.length === 0 &&
    report.unexpected.length === 0 && report.undelivered.length === 0 &&
    failure === undefined && !interrupted;
  err(
    paint(
      ok ? "1;32" : "1;31",
      formatDeliverySummary(report, stats.reconnects),
      stderrColor,
    ) +
      "\n",
  );
  return ok ? 0 : 1;
}

/**
 * `eventstreams sink postgres`: consume streams into a PostgreSQL table,
 * exactly once, with an optional leader lease among replicas.
 *
 * Its own flags are taken off first; the rest (streams, `--since`,
 * `--cursor`, `--base-url`, `--user-agent`, filters, `--status`) are read by
 * `tail`'s parser, so both commands accept and check them alike.
 *
 * @module
 */

import { type EventStream, eventStream } from "../client.ts";
import type { EventStreamsEvent } from "../types.ts";
import { PostgresSink, runSink, type SinkState } from "../sink/postgres.ts";
import {
  CONNECTION_OPTIONS_HELP,
  parseCommand,
  parseTailArgs,
  resolveStreamArg,
  type TailArgs,
  toUsageError,
  UsageError,
} from "./args.ts";
import { selectEvents } from "./filters.ts";
import { type CliIo, terminalColumns, writeTextSync } from "./io.ts";
import { StatusReporter } from "./status.ts";

/** `eventstreams sink --help`. */
export const SINK_HELP =
  `Consume Wikimedia EventStreams into PostgreSQL, exactly once.

Usage:
  eventstreams sink postgres <stream>... --database-url <url> --table <name> [options]

Each batch of events and the stream's cursor are committed in one transaction into
<table> (topic, partition, "offset", dt, stream, wiki, data jsonb; primary key topic,
partition, offset) and <table>_cursor; both are created when missing. A restart resumes
from the cursor in the database; a replayed batch inserts nothing. While the database is
unreachable the stream is not read (one batch is held), the upstream connection is closed
after 30 s, and work resumes from the stored cursor when the database returns.

Database:
  --database-url <url>      postgres://user:password@host:5432/db (or EVENTSTREAMS_DATABASE_URL,
                            which keeps the password off the command line). Never printed with
                            its password
  --table <name>            Events table: letters, digits, _ (schema.name allowed)
  --batch-size <n>          Write a batch at this many events (default 500)
  --batch-ms <n>            ... or when its first event is this many ms old (default 1000)
  --lease, --no-lease       Leader lease (default on): replicas started with the same --table
                            take a PostgreSQL advisory lock; only its holder connects upstream,
                            the others wait and retry every second, so a dead leader is replaced
                            within about a second of its database session ending

Where to start (only when the table has no cursor yet; default: now, live):
  --since <time>            ISO 8601 date-time, a duration before now (2h), or epoch ms
  --cursor <id>             A Last-Event-ID JSON array

Which events: as 'eventstreams tail' (--wiki, --domain, --type, --namespace, --bot, --no-bot,
--match, --canary). Filtered-out events are not stored, and the cursor still covers them.

Output:
  --status, --no-status     Status line on stderr (events/s, lag, batch size, leader or
                            standby). Default: only when stderr is a terminal

Connection:
${CONNECTION_OPTIONS_HELP}

Examples:
  export EVENTSTREAMS_USER_AGENT='my-archiver/1.0 (me@example.org)'
  export EVENTSTREAMS_DATABASE_URL='postgres://archiver:secret@db.example/wiki'
  eventstreams sink postgres recentchange --table rc --since 1h --wiki enwiki
  # A second replica on another machine: it waits as standby and takes over on failure.
  eventstreams sink postgres recentchange --table rc

Exit codes: 0 stopped (Ctrl-C or SIGTERM: the batch in hand is written first), 1 runtime error
(database refused at start, server refused the request), 2 usage error (bad flag or value).
`;

/** The flags only `sink` has. */
interface SinkFlags {
  databaseUrl?: string;
  table?: string;
  batchSize?: number;
  batchMs?: number;
  lease: boolean;
}

const VALUE_FLAGS = new Set([
  "database-url",
  "table",
  "batch-size",
  "batch-ms",
]);

/** `tail` flags that mean nothing for a sink. */
const TAIL_ONLY = [
  "checkpoint",
  "checkpoint-every",
  "checkpoint-interval",
  "max",
  "format",
  "color",
];

function positive(flag: string, text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `Invalid --${flag} '${text}': expected a positive whole number, like --${flag} 500`,
    );
  }
  return n;
}

/** Takes `sink`'s own flags off `args`; returns them and the rest, for `tail`'s parser. */
function splitSinkFlags(args: string[]): { flags: SinkFlags; rest: string[] } {
  const flags: SinkFlags = { lease: true };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === "--lease" || arg === "--no-lease") {
      flags.lease = arg === "--lease";
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (match !== null && TAIL_ONLY.includes(match[1].replace(/^no-/, ""))) {
      throw new UsageError(
        `Option '--${
          match[1]
        }' is for 'eventstreams tail', not 'sink': the sink keeps its cursor in the database; run 'eventstreams sink --help'`,
      );
    }
    if (match === null || !VALUE_FLAGS.has(match[1])) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? args[++i];
    if (value === undefined) {
      throw new UsageError(
        `Option '--${
          match[1]
        }' needs a value; run 'eventstreams sink --help' to see the options`,
      );
    }
    switch (match[1]) {
      case "database-url":
        flags.databaseUrl = value;
        break;
      case "table":
        flags.table = value;
        break;
      case "batch-size":
        flags.batchSize = positive("batch-size", value);
        break;
      case "batch-ms":
        flags.batchMs = positive("batch-ms", value);
        break;
    }
  }
  return { flags, rest };
}

/**
 * Runs `eventstreams sink`.
 *
 * @param args The arguments after `sink`.
 * @param io The process's I/O.
 * @returns The exit code (0 stopped, 1 runtime error).
 * @throws {UsageError} For a bad command line (exit code 2).
 */
export async function runSinkCommand(
  args: string[],
  io: CliIo,
): Promise<number> {
  const [engine, ...afterEngine] = args;
  if (engine === undefined || engine === "--help" || engine === "-h") {
    writeTextSync(io.stdout, SINK_HELP);
    return 0;
  }
  if (engine !== "postgres") {
    throw new UsageError(
      `Unknown sink '${engine}': expected 'eventstreams sink postgres <stream>... --table <name>'`,
    );
  }
  const { flags, rest } = splitSinkFlags(afterEngine);
  const options: TailArgs | undefined = await parseCommand(rest, io, {
    parse: (argv, env, nowMs) => {
      try {
        return parseTailArgs(argv, env, nowMs);
      } catch (error) {
        if (error instanceof UsageError) {
          throw new UsageError(
            error.message.replaceAll("eventstreams tail", "eventstreams sink"),
            { cause: error },
          );
        }
        throw error;
      }
    },
    help: SINK_HELP,
  });
  if (options === undefined) return 0;
  const databaseUrl = flags.databaseUrl ??
    io.env.get("EVENTSTREAMS_DATABASE_URL");
  if (databaseUrl === undefined || databaseUrl === "") {
    throw new UsageError(
      "Missing database: pass --database-url postgres://user@host/db or set EVENTSTREAMS_DATABASE_URL",
    );
  }
  if (flags.table === undefined) {
    throw new UsageError(
      "Missing --table: name the table the events go into, like --table recentchange",
    );
  }
  const streams = options.streams.map((name) =>
    resolveStreamArg(name, options.allowUnknownStreams)
  );
  let sink: PostgresSink;
  try {
    sink = await PostgresSink.connect({
      url: databaseUrl,
      table: flags.table,
      lease: flags.lease,
    });
  } catch (error) {
    // A bad URL or table name (the message names it without the password).
    if (error instanceof TypeError) {
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
  try {
    return await consume(streams, options, flags, sink, io);
  } finally {
    await sink.close();
  }
}

async function consume(
  streams: string[],
  options: TailArgs,
  flags: SinkFlags,
  sink: PostgresSink,
  io: CliIo,
): Promise<number> {
  const label = "eventstreams sink";
  const batchSize = flags.batchSize ?? 500;
  let stream: EventStream<EventStreamsEvent> | undefined;
  let written = 0;
  let reconnectsBefore = 0;
  let lastBatch = 0;
  let state: SinkState = "standby";
  let lastEventDt: string | undefined;
  const stderrIsTerminal = io.stderr.isTerminal();
  const status = (options.status ?? stderrIsTerminal)
    ? new StatusReporter({
      write: (text) => writeTextSync(io.stderr, text),
      sample: () => ({
        events: written,
        reconnects: reconnectsBefore + (stream?.stats.reconnects ?? 0),
        cursor: stream?.cursor ?? "",
        lastEventDt,
        extra: `batch ${lastBatch}/${batchSize} | ${state}`,
      }),
      terminal: stderrIsTerminal,
      stdoutIsTerminal: false,
      clock: io.clock,
      columns: stderrIsTerminal ? terminalColumns : undefined,
    })
    : undefined;
  const note = (text: string): void =>
    status ? status.note(text) : writeTextSync(io.stderr, `${text}\n`);
  const stop = new AbortController();
  const stopListening = io.onInterrupt(() => stop.abort());
  const filter = selectEvents(options);
  let exitCode = 0;
  status?.start();
  try {
    await runSink(sink, {
      open: (cursor) => {
        reconnectsBefore += stream?.stats.reconnects ?? 0;
        const start = cursor ?? options.cursor;
        try {
          stream = eventStream(streams, {
            userAgent: options.userAgent,
            cursor: start,
            since: start === undefined ? options.since : undefined,
            baseUrl: options.baseUrl,
            idleTimeoutMs: options.idleTimeoutMs,
            canary: options.canary,
            filter,
            allowUnknownStreams: true,
            clock: io.clock,
          }) as EventStream<EventStreamsEvent>;
        } catch (error) {
          throw toUsageError(error);
        }
        return stream;
      },
      batchSize,
      batchMs: flags.batchMs,
      clock: io.clock,
      signal: stop.signal,
      onBatch: (info) => {
        written += info.events;
        lastBatch = info.events;
        const dt = info.last?.meta?.dt;
        if (typeof dt === "string") lastEventDt = dt;
      },
      onState: (next) => {
        if (next !== state && next !== "stopped") {
          note(
            `${label}: ${next}${
              next === "leader" ? " (holding the upstream connection)" : ""
            }`,
          );
        }
        state = next;
      },
      onError: (error, attempt) => {
        if (attempt === 1 || attempt % 10 === 0) {
          note(
            `${label}: ${
              (error as Error)?.message ?? String(error)
            } (attempt ${attempt}, retrying)`,
          );
        }
      },
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    status?.stop();
    writeTextSync(io.stderr, `${label}: ${(error as Error)?.message}\n`);
    exitCode = 1;
  } finally {
    stopListening();
    status?.stop();
  }
  return exitCode;
}

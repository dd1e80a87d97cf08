/**
 * `eventstreams record`: consume streams through a recording `fetch` and
 * write the session as a cassette for replay tests.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { eventStream } from "../client.ts";
import { resolveStreamName } from "../streams.ts";
import { recordingFetch } from "../testing/recorder.ts";
import { writeCassette } from "../testing/cassette_file.ts";
import { UsageError } from "./args.ts";
import { parseDuration, parseSince } from "./duration.ts";
import { type CliIo, writeText, writeTextSync } from "./io.ts";

/** `eventstreams record --help`. */
export const RECORD_HELP =
  `Record an EventStreams session as a cassette (JSON Lines) for replay tests.

Usage:
  eventstreams record <stream>... --out <file> [options]

The client consumes the streams as usual (reconnects included) through a recording fetch:
every connection's request, response head and body chunks (byte-exact, with their original
boundaries and times) go into the cassette. Secret headers are stripped. The file is written
atomically when recording stops: after --max events, after --duration, or on Ctrl-C.

Options:
  --out <file>          Cassette to write (required), e.g. fixtures/recentchange.cassette.jsonl
  --max <n>             Stop after n events (default 100)
  --duration <d>        Stop after this long (e.g. 30s, 5m)
  --since <time>        Start at an ISO 8601 time or a duration before now (2h, 15m)
  --user-agent <ua>     Required by Wikimedia (or EVENTSTREAMS_USER_AGENT)
  --base-url <url>      Server (default https://stream.wikimedia.org)
  --note <text>         Free text stored in the cassette header (provenance)

Examples:
  eventstreams record recentchange --max 200 --out fixtures/recentchange.cassette.jsonl \\
    --user-agent 'my-tool/1.0 (me@example.org)'
  eventstreams record test --duration 5m --out test.cassette.jsonl

Exit codes: 0 recorded, 1 runtime error, 2 usage error.
`;

/**
 * Runs `eventstreams record`.
 *
 * @param args The arguments after `record`.
 * @param io The process's I/O.
 * @returns The exit code.
 * @throws {UsageError} For a bad command line.
 */
export async function runRecord(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        out: { type: "string", short: "o" },
        max: { type: "string" },
        duration: { type: "string" },
        since: { type: "string" },
        "user-agent": { type: "string" },
        "base-url": { type: "string" },
        note: { type: "string" },
      },
    });
  } catch (error) {
    throw new UsageError(
      `${
        (error as Error).message.replace(/\.$/, "")
      }; run 'eventstreams record --help' to see the options`,
      { cause: error },
    );
  }
  const { values, positionals } = parsed;
  if (values.help) {
    await writeText(io.stdout, RECORD_HELP);
    return 0;
  }
  const streams = positionals.flatMap((p) => p.split(",")).filter((p) =>
    p !== ""
  );
  if (streams.length === 0) {
    throw new UsageError(
      "Missing stream name: say what to record, like 'eventstreams record recentchange --out rc.cassette.jsonl'",
    );
  }
  if (!values.out) {
    throw new UsageError(
      "Missing --out <file>: say where to write the cassette",
    );
  }
  const max = values.max === undefined ? 100 : Number(values.max);
  if (
    !Number.isSafeInteger(max) || max < 1 || !/^\d+$/.test(values.max ?? "1")
  ) {
    throw new UsageError(
      `Invalid --max '${values.max}': expected a positive whole number, like --max 100`,
    );
  }
  let durationMs: number | undefined;
  let since: Date | undefined;
  try {
    if (values.duration !== undefined) {
      durationMs = parseDuration(values.duration, "--duration");
    }
    if (values.since !== undefined) {
      since = parseSince(values.since, io.clock.now());
    }
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const userAgent = values["user-agent"] ??
    io.env.get("EVENTSTREAMS_USER_AGENT");
  if (!userAgent) {
    throw new UsageError(
      "Missing user agent: pass --user-agent 'my-tool/1.0 (https://example.org; me@example.org)' or set EVENTSTREAMS_USER_AGENT",
    );
  }
  let names: string[];
  try {
    names = streams.map((name) => resolveStreamName(name));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }

  const recorder = recordingFetch({
    clock: io.clock,
    tool: "eventstreams record",
    note: values.note,
  });
  let stream;
  try {
    stream = eventStream(names, {
      userAgent,
      since,
      baseUrl: values["base-url"],
      fetch: recorder.fetch,
      clock: io.clock,
      allowUnknownStreams: true,
    });
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
  const stopListening = io.onInterrupt(() => void stream.close());
  const cancelTimer = durationMs === undefined
    ? undefined
    : io.clock.setTimeout(() => void stream.close(), durationMs);
  let events = 0;
  let exitCode = 0;
  try {
    for await (const _ of stream) {
      events++;
      if (events >= max) break;
    }
  } catch (error) {
    writeTextSync(
      io.stderr,
      `eventstreams record: ${(error as Error).message}\n`,
    );
    exitCode = 1;
  } finally {
    stopListening();
    cancelTimer?.();
    await stream.close();
  }
  await writeCassette(values.out, recorder.cassette());
  const stats = recorder.stats;
  writeTextSync(
    io.stderr,
    `Recorded ${events} events, ${stats.connections} connection(s), ${stats.bytes} bytes to ${values.out}\n`,
  );
  return exitCode;
}

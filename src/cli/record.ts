/**
 * `eventstreams record` (also `deno task record` in a checkout): consume
 * streams with the library's `eventStream()` through a recording `fetch`
 * and write the session as a cassette for replay tests.
 *
 * @module
 */

import { type EventStream, eventStream } from "../client.ts";
import type { EventStreamsEvent } from "../types.ts";
import { recordingFetch, type RecordingStats } from "../testing/recorder.ts";
import { writeCassette } from "../testing/cassette_file.ts";
import {
  CONNECTION_OPTIONS_HELP,
  parseCommand,
  parseRecordArgs,
  sinceWarning,
  toUsageError,
} from "./args.ts";
import { checkWritableFile } from "./paths.ts";
import { type CliIo, writeTextSync } from "./io.ts";

/** `eventstreams record --help`. */
export const RECORD_HELP =
  `Record an EventStreams session as a cassette (JSON Lines) for replay tests.

Usage:
  eventstreams record <stream>... --out <file> [options]
  deno task record <stream>... --out <file> [options]        (from a checkout)

The client consumes the streams as usual (reconnects and resumes included) through a
recording fetch: each connection's request, response head, body chunks (byte-exact, with
their original boundaries and times) and how it ended go into the cassette. Secret headers
(Authorization, Cookie, Set-Cookie, API keys, tokens) are never written. Recording stops
after --events events, after --duration, or on Ctrl-C, whichever comes first; then the file
is written atomically (--out is checked before connecting). When the stream fails, what was recorded is still written (exit 1).
Progress (connections, retries, events, bytes) goes to stderr.

Streams (names or aliases: recentchange, page-create, mediawiki.page_change.v1, test, ...):
  <stream>...               As arguments, or comma-separated: page-create,page-delete
  --stream <stream>         The same as an option (repeatable, comma lists too)
  --allow-unknown-streams   Send stream names this client does not know as given

When to stop:
  --events <n>              Stop after n events (default 100, unless --duration is given)
  --max <n>                 Alias of --events
  --duration <d>            Stop after this long: 500ms, 30s, 5m, 1h (with --events, whichever
                            comes first)

Where to start (default: now, live):
  --since <time>            ISO 8601 date-time (UTC unless it has an offset), a duration
                            before now (30s, 15m, 2h, 1d) or epoch milliseconds

Output:
  --out, -o <file>          Cassette to write (required), e.g. fixtures/recentchange.cassette.jsonl
  --note <text>             Free text for the cassette header: provenance, why it was recorded

Connection:
${CONNECTION_OPTIONS_HELP}

Examples:
  # From the real server (needs internet access): 200 recent changes from the last 10 minutes
  eventstreams record recentchange --events 200 --since 10m \\
    --out fixtures/recentchange.cassette.jsonl --note 'enwiki edits for the filter tests' \\
    --user-agent 'my-tool/1.0 (https://example.org; me@example.org)'
  # The same from a checkout, with --stream and the user agent from the environment
  export EVENTSTREAMS_USER_AGENT='my-tool/1.0 (me@example.org)'
  deno task record --stream recentchange --events 200 --out fixtures/recentchange.cassette.jsonl
  # Two streams on one connection, for five minutes
  eventstreams record page-create,page-delete --duration 5m --out pages.cassette.jsonl
  # Offline, from the local emulator ('eventstreams serve' in another terminal)
  eventstreams record recentchange --since 2026-09-27T16:15:00Z --events 50 \\
    --base-url http://127.0.0.1:8092 --out rc.cassette.jsonl

Replay a cassette in tests with replayFetch from @eventstreams/client/testing.

Exit codes: 0 recorded (limit reached or Ctrl-C), 1 the stream failed (what was recorded is
still written) or the cassette could not be written, 2 usage error (bad flag or value).
`;

/** Progress lines look like `25 events, 8123 bytes, 2 connections`. */
function totals(events: number, stats: RecordingStats): string {
  return `${events} event${events === 1 ? "" : "s"}, ${stats.bytes} bytes, ` +
    `${stats.connections} connection${stats.connections === 1 ? "" : "s"}`;
}

/** Progress every this many events. */
const PROGRESS_EVERY = 50;

/**
 * Runs `eventstreams record`.
 *
 * Progress goes to stderr, one line each: `Connected ...` when a response
 * opens, `Reconnecting in <ms> ms (<reason>)` before each retry,
 * `Recording: ...` every 50 events, and `Wrote <file>: ...` at the end.
 *
 * @param args The arguments after `record`.
 * @param io The process's I/O.
 * @returns The exit code: 0 recorded, 1 when the stream failed (what was
 *   recorded is still written) or the cassette could not be written.
 * @throws {UsageError} For a bad command line (exit code 2).
 *
 * @example Showing the options
 * ```ts
 * import { main } from "@eventstreams/client/cli";
 *
 * const code = await main(["record", "--help"]);
 * if (code !== 0) throw new Error(`expected exit code 0, got ${code}`);
 * ```
 */
export async function runRecord(args: string[], io: CliIo): Promise<number> {
  const options = await parseCommand(args, io, {
    parse: parseRecordArgs,
    help: RECORD_HELP,
  });
  if (options === undefined) return 0;
  const log = (line: string) => writeTextSync(io.stderr, `${line}\n`);
  // Before connecting: a recording must not be lost to a path that cannot be written.
  await checkWritableFile("--out", options.out);
  const warning = options.since === undefined
    ? undefined
    : sinceWarning(options.since, io.clock.now(), options.baseUrl);
  if (warning !== undefined) log(`eventstreams record: ${warning}`);

  const recorder = recordingFetch({
    clock: io.clock,
    tool: "eventstreams record",
    note: options.note,
  });
  let events = 0;
  let stream: EventStream<EventStreamsEvent>;
  try {
    // Names were resolved by parseRecordArgs (honouring --allow-unknown-streams).
    stream = eventStream(options.streams, {
      userAgent: options.userAgent,
      since: options.since,
      baseUrl: options.baseUrl,
      fetch: recorder.fetch,
      clock: io.clock,
      allowUnknownStreams: true,
      onConnect: ({ connection, lastEventId }) =>
        log(
          `Connected (connection ${connection}${
            lastEventId === undefined ? "" : ", resuming"
          }): ${totals(events, recorder.stats)} so far`,
        ),
      onRetry: ({ delayMs, reason, status }) =>
        // Whole milliseconds, rounded up: waiting the printed time is always enough.
        log(
          `Reconnecting in ${Math.ceil(delayMs)} ms (${reason}${
            status === undefined ? "" : ` ${status}`
          })`,
        ),
    });
  } catch (error) {
    // The user agent is checked by the client (generic or without a contact).
    throw toUsageError(error);
  }

  const stop = () => void stream.close();
  const stopListening = io.onInterrupt(stop);
  const cancelTimer = options.durationMs === undefined
    ? undefined
    : io.clock.setTimeout(stop, options.durationMs);
  let exitCode = 0;
  try {
    for await (const _event of stream) {
      events++;
      if (options.events !== undefined && events >= options.events) break;
      if (events % PROGRESS_EVERY === 0) {
        log(`Recording: ${totals(events, recorder.stats)}`);
      }
    }
  } catch (error) {
    log(
      `eventstreams record: Stream failed after ${events} events: ${
        (error as Error).message
      }; writing what was recorded`,
    );
    exitCode = 1;
  } finally {
    stopListening();
    cancelTimer?.();
    await stream.close();
  }
  try {
    await writeCassette(options.out, recorder.cassette());
  } catch (error) {
    log(
      `eventstreams record: Cannot write cassette '${options.out}': ${
        (error as Error).message
      }; check the directory exists and is writable`,
    );
    return 1;
  }
  log(`Wrote ${options.out}: ${totals(events, recorder.stats)}`);
  return exitCode;
}

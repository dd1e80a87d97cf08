/**
 * `eventstreams tail`: follow streams, print events, keep a checkpoint.
 *
 * @module
 */

import {
  type EventStream,
  eventStream,
  type EventStreamErrorKind,
} from "../client.ts";
import { CursorError } from "../errors.ts";
import { CheckpointError } from "../checkpoint/errors.ts";
import type { EventStreamsEvent } from "../types.ts";
import { checkpointed } from "../checkpoint/checkpointed.ts";
import { FileCheckpointStore } from "../checkpoint/file_store.ts";
import {
  CONNECTION_OPTIONS_HELP,
  parseCommand,
  parseTailArgs,
  resolveStreamArg,
  sinceWarning,
  type TailArgs,
  toUsageError,
} from "./args.ts";
import { checkWritableFile } from "./paths.ts";
import { selectEvents } from "./filters.ts";
import { formatNdjson, formatPretty, outputStyle } from "./format.ts";
import { formatDuration } from "./duration.ts";
import { type CliIo, terminalColumns, writeTextSync } from "./io.ts";
import { LineWriter } from "./line_writer.ts";
import { StatusReporter } from "./status.ts";

/** `eventstreams tail --help`. */
export const TAIL_HELP = `Follow Wikimedia EventStreams and print each event.

Usage:
  eventstreams tail <stream>... [options]

Streams are names or aliases (recentchange, page-create, mediawiki.page_change.v1, test, ...);
give several as separate arguments or comma-separated. They share one connection.

Where to start (default: now, live):
  --since <time>            ISO 8601 date-time (UTC unless it has an offset), a duration
                            before now (30s, 15m, 2h, 1d, 1h30m) or epoch milliseconds.
                            Wikimedia keeps about 7 days: further back is warned about
  --cursor <id>             Resume from a saved cursor (a Last-Event-ID JSON array)
  --checkpoint <file>       Resume from and save to this file (atomic, crash-safe). When it
                            exists it wins over --since, so '--since 1h --checkpoint f'
                            starts an hour back the first time and resumes afterwards.
                            Saves are coalesced: at most one a second, and one on every way
                            out (Ctrl-C, SIGTERM, --max, output closed, an error), so catching
                            up costs little. A hard kill (kill -9, power loss) loses no event
                            but repeats those printed since the last save: about the last
                            second's (--checkpoint-interval), at most n with --checkpoint-every
  --checkpoint-interval <d> Save at most this often (default 1s); a quiet stream's last events
                            are saved this long after they were printed
  --checkpoint-every <n>    Also save after every n events (1: after each, about 1 ms each),
                            so that a hard kill repeats at most n events

When to stop (default: never; Ctrl-C or SIGTERM saves the checkpoint and exits 0; a second
Ctrl-C within 2 s is taken as the same one, a later one quits at once with exit 130):
  --max <n>                 Stop after n printed events

Which events (filters combine with AND; repeated values and comma lists with OR):
  --wiki <db>               Wiki database name: enwiki, wikidatawiki (wiki / database / wiki_id)
  --domain <domain>         meta.domain: en.wikipedia.org, or *.wikipedia.org for a suffix
  --type <kind>             recentchange type (edit, new, log, categorize, external) or
                            page_change page_change_kind (create, edit, move, delete,
                            undelete, visibility_change)
  --namespace <id>          Namespace id: 0 articles, 14 categories, -1 special pages
A value that can never match (a domain given to --wiki, a wiki to --domain, an unknown type)
is refused with the right flag or the valid values.
  --bot, --no-bot           Only bot changes, or only non-bot changes
  --match <path=value>      Dotted field path equals value, e.g. performer.user_text=Example
                            (repeatable; all must hold)
  --canary                  Keep canary (synthetic monitoring) events, dropped by default
Filtered-out events (and canaries, repeats) still advance the cursor and the checkpoint.

Output:
  --format <ndjson|pretty>  Default: pretty on a terminal, NDJSON (one JSON object per line)
                            otherwise
  --no-color                No colours in pretty output (also when NO_COLOR is set)
  --status, --no-status     Status line on stderr (events/s, lag, reconnects, cursor), about
                            once a second. Default: only when stderr is a terminal. It never
                            goes to stdout

Connection:
${CONNECTION_OPTIONS_HELP}
  --idle-timeout <d>        Reconnect when no new event arrives for this long (bytes alone do
                            not count). Default: adaptive, at most 1m for busy streams (5s
                            once it has seen 10 events/s or more), longer for sparse ones
  --allow-unknown-streams   Accept stream names this client does not know

Examples:
  export EVENTSTREAMS_USER_AGENT='my-tool/1.0 (me@example.org)'  # or --user-agent each time
  eventstreams tail recentchange --wiki enwiki --no-bot --namespace 0
  eventstreams tail page-create,page-delete --domain '*.wikipedia.org' --format ndjson > pages.ndjson
  eventstreams tail mediawiki.page_change.v1 --since 2h --max 1000 | jq .page.page_title
  eventstreams tail recentchange --since 1d --checkpoint rc.cursor --format ndjson >> rc.ndjson
  eventstreams tail recentchange --base-url http://127.0.0.1:8092 --max 50   # 'eventstreams serve'

Exit codes: 0 done (--max reached, Ctrl-C, output closed), 1 runtime error (server refused the
request, checkpoint unreadable, ...), 2 usage error (bad flag or value).
`;

/** Errors after which the client reconnects (the others skip one frame). */
const RETRIED: ReadonlySet<EventStreamErrorKind> = new Set([
  "network",
  "http",
  "idle-timeout",
  "error-event",
]);

/** An error's message and, for fetch's terse `fetch failed`, its cause (e.g. `Connection refused`). */
function describeError(error: Error): string {
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause === undefined || error.message.includes(cause)
    ? error.message
    : `${error.message}: ${cause}`;
}

/**
 * Runs `eventstreams tail`.
 *
 * @param args The arguments after `tail`.
 * @param io The process's I/O.
 * @param command The command its messages are labelled with (`demo` for
 *   `eventstreams demo --live`, which runs this).
 * @returns The exit code (0 done, 1 runtime error).
 * @throws {UsageError} For a bad command line (exit code 2).
 */
export async function runTail(
  args: string[],
  io: CliIo,
  command: string = "tail",
): Promise<number> {
  const options = await parseCommand(args, io, {
    parse: parseTailArgs,
    help: TAIL_HELP,
  });
  if (options === undefined) return 0;
  const streams = options.streams.map((name) =>
    resolveStreamArg(name, options.allowUnknownStreams)
  );
  // Before connecting: a wrong path must not fail after the first event, nor a FIFO block.
  if (options.checkpoint !== undefined) {
    await checkWritableFile("--checkpoint", options.checkpoint);
  }

  const store = options.checkpoint === undefined
    ? undefined
    : new FileCheckpointStore(options.checkpoint);
  try {
    return await follow(streams, options, io, store, `eventstreams ${command}`);
  } finally {
    await store?.close();
  }
}

async function follow(
  streams: string[],
  options: TailArgs,
  io: CliIo,
  store: FileCheckpointStore | undefined,
  label: string,
): Promise<number> {
  const cursor = options.cursor ?? await store?.load();
  const { format, color, isTerminal: stdoutIsTerminal } = outputStyle(
    io.stdout,
    io.env,
    options,
  );
  const render = format === "ndjson"
    ? (event: EventStreamsEvent) => formatNdjson(event, stream.eventText)
    : (event: EventStreamsEvent) => formatPretty(event, { color });

  let stream: EventStream<EventStreamsEvent>;
  let written = 0;
  let lastEventDt: string | undefined;
  const stderrIsTerminal = io.stderr.isTerminal();
  const status = (options.status ?? stderrIsTerminal)
    ? new StatusReporter({
      write: (text) => writeTextSync(io.stderr, text),
      sample: () => ({
        events: written,
        reconnects: stream.stats.reconnects,
        cursor: stream.cursor,
        lastEventDt,
      }),
      terminal: stderrIsTerminal,
      stdoutIsTerminal,
      clock: io.clock,
      columns: stderrIsTerminal ? terminalColumns : undefined,
    })
    : undefined;

  // Messages for stderr; with a status line on the terminal, they go around it.
  const note = (text: string): void =>
    status ? status.note(text) : writeTextSync(io.stderr, `${text}\n`);
  /** The error that ended the last connection, told with the retry. */
  let retryCause: string | undefined;
  const warning = cursor === undefined && options.since !== undefined
    ? sinceWarning(options.since, io.clock.now(), options.baseUrl)
    : undefined;
  if (warning !== undefined) writeTextSync(io.stderr, `${label}: ${warning}\n`);

  try {
    // Names were checked above (resolveStreamName honours --allow-unknown-streams), so the
    // untyped overload is right here.
    stream = eventStream(streams, {
      userAgent: options.userAgent,
      cursor,
      since: cursor === undefined ? options.since : undefined,
      baseUrl: options.baseUrl,
      idleTimeoutMs: options.idleTimeoutMs,
      canary: options.canary,
      filter: selectEvents(options),
      allowUnknownStreams: true,
      clock: io.clock,
      onError: (error, context) => {
        if (RETRIED.has(context.kind)) retryCause = describeError(error);
        else note(`${label}: ${error.message}`); // A frame skipped.
      },
      // Planned reconnects (the edge's cut, maxConnectionMs) have no cause and go unsaid.
      onRetry: ({ delayMs }) => {
        if (retryCause === undefined) return;
        note(
          `${label}: ${retryCause} (reconnecting in ${
            formatDuration(delayMs)
          })`,
        );
        retryCause = undefined;
      },
    });
  } catch (error) {
    if (error instanceof CursorError && options.cursor === undefined && store) {
      throw new CheckpointError(
        `Cannot resume from checkpoint '${store.path}': ${error.message}; delete the file to start from --since or live`,
        { cause: error },
      );
    }
    // A TypeError or RangeError from the client (e.g. a user agent without a contact).
    throw toUsageError(error);
  }

  // Lines go out in batches (line_writer.ts). Per the checkpoint module: an event is saved
  // when the loop asks for the next one, and each save writes the buffered lines first, so a
  // checkpoint never covers an event that is not written (at-least-once); a run whose output
  // closes saves the cursor of the last batch written.
  const lines = new LineWriter(io.stdout, {
    clock: io.clock,
    beforeWrite: () => status?.beforeOutput(),
    afterWrite: () => status?.afterOutput(),
    mark: () => stream.cursor,
  });
  const events: AsyncIterable<EventStreamsEvent> = store === undefined
    ? stream
    : checkpointed(stream, store, {
      every: options.checkpointEvery,
      intervalMs: options.checkpointIntervalMs,
      clock: io.clock,
      beforeSave: () => lines.flush(),
    });

  let interrupted = false;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    void stream.close();
  });
  try {
    let exitCode = 0;
    let failure: string | undefined;
    const fail = (error: unknown): void => {
      exitCode = 1;
      const message = `${label}: ${(error as Error)?.message}`;
      // A save that failed in the loop usually fails again at the end: say it once.
      if (message !== failure) writeTextSync(io.stderr, `${message}\n`);
      failure = message;
    };
    /** Stopped by --max or Ctrl-C right after writing an event: it counts as done. */
    let stoppedAfterWrite = false;
    /** The reader of stdout went away (`| head`): a normal end. */
    let outputClosed = false;
    let caught: { error: unknown } | undefined;
    status?.start();
    try {
      for await (const event of events) {
        const batch = lines.writeLine(render(event)); // A promise when a batch goes out.
        if (batch) await batch;
        written++;
        lastEventDt = typeof event.meta?.dt === "string"
          ? event.meta.dt
          : lastEventDt;
        if (
          (options.max !== undefined && written >= options.max) || interrupted
        ) {
          stoppedAfterWrite = true;
          break;
        }
      }
    } catch (error) {
      caught = { error };
    } finally {
      // The last lines go out before any message, the status line's end and the last save
      // (a reader that does not keep up holds them: Ctrl-C again still quits).
      try {
        await lines.flush();
      } catch (error) {
        stoppedAfterWrite = false;
        caught ??= { error };
      }
      status?.stop(); // Cleared before any message.
      if (caught !== undefined) {
        if (isBrokenPipe(caught.error)) outputClosed = true;
        else fail(caught.error);
      }
      await stream.close();
    }
    // checkpointed() keeps a break's last event unsaved, as it may be unprocessed; this one was
    // written. A closed output keeps the cursor of the last batch that was written.
    const last = stoppedAfterWrite
      ? stream.cursor
      : outputClosed
      ? lines.lastWrittenMark
      : undefined;
    if (store !== undefined && last !== undefined && last !== "") {
      try {
        await store.save(last);
      } catch (error) {
        fail(error);
      }
    }
    return exitCode;
  } finally {
    // Last: a second Ctrl-C still quits while the last lines or the last save wait.
    stopListening();
  }
}

/**
 * The reader of stdout went away (`tail ... | head`): a normal end. What was
 * not written is not checkpointed (a save waits for the writes before it).
 */
function isBrokenPipe(error: unknown): boolean {
  return error instanceof Deno.errors.BrokenPipe;
}

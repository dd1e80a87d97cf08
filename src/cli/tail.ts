/**
 * `eventstreams tail`: follow streams, print events, keep a checkpoint.
 *
 * @module
 */

import { type EventStream, eventStream } from "../client.ts";
import { CursorError } from "../errors.ts";
import { CheckpointError } from "../checkpoint/errors.ts";
import type { EventStreamsEvent } from "../types.ts";
import { FileCheckpointStore } from "../checkpoint/file_store.ts";
import {
  CONNECTION_OPTIONS_HELP,
  parseCommand,
  parseTailArgs,
  resolveStreamArg,
  type TailArgs,
  toUsageError,
} from "./args.ts";
import { selectEvents } from "./filters.ts";
import { formatNdjson, formatPretty, outputStyle } from "./format.ts";
import { type CliIo, writeText, writeTextSync } from "./io.ts";
import { StatusReporter } from "./status.ts";

/** `eventstreams tail --help`. */
export const TAIL_HELP = `Follow Wikimedia EventStreams and print each event.

Usage:
  eventstreams tail <stream>... [options]

Streams are names or aliases (recentchange, page-create, mediawiki.page_change.v1, test, ...);
give several as separate arguments or comma-separated. They share one connection.

Where to start (default: now, live):
  --since <time>            ISO 8601 date-time (UTC unless it has an offset) or a duration
                            before now: 30s, 15m, 2h, 1d, 1h30m
  --cursor <id>             Resume from a saved cursor (a Last-Event-ID JSON array)
  --checkpoint <file>       Resume from and save to this file (atomic, crash-safe). When it
                            exists it wins over --since, so '--since 1h --checkpoint f'
                            starts an hour back the first time and resumes afterwards
  --checkpoint-every <n>    Save after every n events (default 1: after each event, so a crash
                            repeats at most one event). Each save is an fsync (about 1 ms):
                            raise n to catch up faster; a crash then repeats up to n events
  --checkpoint-interval <d> Also save when this long passed since the last save (e.g. 5s)

When to stop (default: never; Ctrl-C saves the checkpoint and exits 0):
  --max <n>                 Stop after n printed events

Which events (filters combine with AND; repeated values and comma lists with OR):
  --wiki <db>               Wiki database name: enwiki, wikidatawiki (wiki / database / wiki_id)
  --domain <domain>         meta.domain: en.wikipedia.org, or *.wikipedia.org for a suffix
  --type <kind>             recentchange type (edit, new, log, categorize) or page_change
                            page_change_kind (create, edit, move, delete, undelete)
  --namespace <id>          Namespace id: 0 articles, 14 categories (write --namespace=-1)
  --bot, --no-bot           Only bot changes, or only non-bot changes
  --match <path=value>      Dotted field path equals value, e.g. performer.user_text=Example
                            (repeatable; all must hold)
  --canary                  Keep canary (synthetic monitoring) events, dropped by default
Filtered-out events still advance the cursor and the checkpoint.

Output:
  --format <ndjson|pretty>  Default: pretty on a terminal, NDJSON (one JSON object per line)
                            otherwise
  --no-color                No colours in pretty output (also when NO_COLOR is set)
  --status, --no-status     Status line on stderr (events/s, lag, reconnects, cursor), about
                            once a second. Default: only when stderr is a terminal. It never
                            goes to stdout

Connection:
${CONNECTION_OPTIONS_HELP}
  --idle-timeout <d>        Reconnect when nothing arrives for this long (default per stream:
                            1m for busy streams, longer for sparse ones)
  --allow-unknown-streams   Accept stream names this client does not know

Examples:
  eventstreams tail recentchange --wiki enwiki --no-bot --namespace 0
  eventstreams tail page-create,page-delete --domain '*.wikipedia.org' --format ndjson > pages.ndjson
  eventstreams tail mediawiki.page_change.v1 --since 2h --max 1000 | jq .page.page_title
  eventstreams tail recentchange --since 1d --checkpoint rc.cursor --format ndjson >> rc.ndjson
  eventstreams tail recentchange --base-url http://127.0.0.1:8092 --max 50

Exit codes: 0 done (--max reached, Ctrl-C, output closed), 1 runtime error (server refused the
request, checkpoint unreadable, ...), 2 usage error (bad flag or value).
`;

/**
 * Runs `eventstreams tail`.
 *
 * @param args The arguments after `tail`.
 * @param io The process's I/O.
 * @returns The exit code (0 done, 1 runtime error).
 * @throws {UsageError} For a bad command line (exit code 2).
 */
export async function runTail(args: string[], io: CliIo): Promise<number> {
  const options = await parseCommand(args, io, {
    parse: parseTailArgs,
    help: TAIL_HELP,
  });
  if (options === undefined) return 0;
  const streams = options.streams.map((name) =>
    resolveStreamArg(name, options.allowUnknownStreams)
  );

  const store = options.checkpoint === undefined
    ? undefined
    : new FileCheckpointStore(options.checkpoint);
  try {
    return await follow(streams, options, io, store);
  } finally {
    await store?.close();
  }
}

async function follow(
  streams: string[],
  options: TailArgs,
  io: CliIo,
  store: FileCheckpointStore | undefined,
): Promise<number> {
  const cursor = options.cursor ?? await store?.load();
  const { format, color, isTerminal: stdoutIsTerminal } = outputStyle(
    io.stdout,
    io.env,
    options,
  );
  const render = format === "ndjson"
    ? formatNdjson
    : (event: EventStreamsEvent) => formatPretty(event, { color });

  let stream: EventStream<EventStreamsEvent>;
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

  let written = 0;
  let lastEventDt: string | undefined;
  const showStatus = options.status ?? io.stderr.isTerminal();
  const status = showStatus
    ? new StatusReporter({
      write: (text) => writeTextSync(io.stderr, text),
      sample: () => ({
        events: written,
        reconnects: stream.stats.reconnects,
        cursor: stream.cursor,
        lastEventDt,
      }),
      terminal: io.stderr.isTerminal(),
      stdoutIsTerminal,
      clock: io.clock,
    })
    : undefined;

  // The cursor after the last event fully written to stdout: what a checkpoint may hold.
  let processed = cursor ?? "";
  let saved = processed;
  let sinceSave = 0;
  let lastSaveAt = io.clock.now();
  const save = async (next: string): Promise<void> => {
    if (!store || next === "" || next === saved) return;
    await store.save(next);
    saved = next;
    sinceSave = 0;
    lastSaveAt = io.clock.now();
  };

  let interrupted = false;
  const stopListening = io.onInterrupt(() => {
    interrupted = true;
    void stream.close();
  });
  let exitCode = 0;
  let outputClosed = false;
  status?.start();
  try {
    for await (const event of stream) {
      const line = render(event);
      status?.beforeOutput();
      try {
        await writeText(io.stdout, line);
      } catch (error) {
        if (error instanceof Deno.errors.BrokenPipe) {
          // The reader went away (`| head`): a normal end. This event was not written.
          outputClosed = true;
          break;
        }
        throw error;
      }
      status?.afterOutput();
      processed = stream.cursor;
      written++;
      lastEventDt = typeof event.meta?.dt === "string"
        ? event.meta.dt
        : lastEventDt;
      sinceSave++;
      if (
        sinceSave >= options.checkpointEvery ||
        (options.checkpointIntervalMs !== undefined &&
          io.clock.now() - lastSaveAt >= options.checkpointIntervalMs)
      ) {
        await save(processed);
      }
      if (
        (options.max !== undefined && written >= options.max) || interrupted
      ) break;
    }
    // Every event handed out was written; events the filter dropped after it are done too.
    if (!outputClosed) processed = stream.cursor;
  } catch (error) {
    exitCode = 1;
    status?.stop();
    writeTextSync(
      io.stderr,
      `eventstreams tail: ${(error as Error).message}\n`,
    );
  } finally {
    stopListening();
    status?.stop();
    await stream.close();
  }
  try {
    await save(processed);
  } catch (error) {
    writeTextSync(
      io.stderr,
      `eventstreams tail: ${(error as Error).message}\n`,
    );
    exitCode = 1;
  }
  return exitCode;
}

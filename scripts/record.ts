/**
 * `deno task record`: consume EventStreams through the library's
 * `eventStream()` with a recording fetch, then write the session as a
 * cassette (JSON Lines) for replay tests.
 *
 * ```sh
 * deno task record --stream recentchange --events 50 \
 *   --user-agent "my-tests/1.0 (https://example.org; me@example.org)" \
 *   --out fixtures/recentchange.cassette.jsonl
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { eventStream } from "../src/client.ts";
import { type Clock, systemClock } from "../src/clock.ts";
import { resolveStreamName } from "../src/streams.ts";
import { type FetchLike, recordingFetch } from "../src/testing/recorder.ts";
import { writeCassette } from "../src/testing/cassette_file.ts";

const USAGE =
  `Usage: deno task record --stream NAME --out FILE --user-agent UA [options]

Consumes the streams with the library's eventStream() (reconnects and resumes
included) through a recording fetch, and writes every connection (request,
response head, body chunks byte-exact with their boundaries and times, how it
ended) as a cassette. Secret headers are never written.

Options:
  --stream NAME        stream name or alias (repeatable, or a comma list) (required)
  --out FILE           the cassette to write, e.g. fixtures/x.cassette.jsonl (required)
  --user-agent UA      required by Wikimedia's User-Agent policy:
                       "<tool>/<version> (<url or email>)"
  --events N           stop after N events (default 100 unless --duration is given)
  --duration D         stop after D: 500ms, 30s, 5m, 1h
  --since TIME         start at this ISO-8601 time instead of live
  --base-url URL       the server (default https://stream.wikimedia.org)
  --note TEXT          provenance stored in the cassette header
  --allow-unknown-streams  send stream names this library does not know as given
  --help               show this help

Progress (events, bytes, connections) goes to stderr.`;

/** What `main` talks to; tests inject their own. */
export interface RecordIo {
  /** Writes one line of progress or error text (default: stderr). */
  stderr?: (line: string) => void;
  /** The clock for `--duration` and the client's timers (default: the system clock). */
  clock?: Clock;
  /** The fetch that reaches the server (default: `globalThis.fetch`). */
  fetch?: FetchLike;
  /** Stops recording early (Ctrl-C); the cassette is still written. */
  signal?: AbortSignal;
}

/**
 * Runs the record command.
 *
 * @param args The command line arguments (without the script name).
 * @param io Where messages go, and the clock and fetch to use.
 * @returns The exit code: 0 recorded, 1 when the stream failed (what was
 *   recorded is still written), 2 on a usage error.
 */
export async function main(args: string[], io: RecordIo = {}): Promise<number> {
  const log = io.stderr ?? ((line: string) => console.error(line));
  const clock = io.clock ?? systemClock;
  const usage = (problem: string) => {
    log(`${problem}\n\nRun 'deno task record --help' for the options`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        stream: { type: "string", multiple: true },
        out: { type: "string" },
        "user-agent": { type: "string" },
        events: { type: "string" },
        duration: { type: "string" },
        since: { type: "string" },
        "base-url": { type: "string" },
        note: { type: "string" },
        "allow-unknown-streams": { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    return usage(`Cannot record: ${(error as Error).message}`);
  }
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const streams = (values.stream ?? []).flatMap((s) => s.split(",")).map((s) =>
    s.trim()
  ).filter((s) => s !== "");
  if (streams.length === 0) {
    return usage(
      "Cannot record: --stream is required, e.g. --stream recentchange",
    );
  }
  if (!values.out) {
    return usage(
      "Cannot record: --out is required, e.g. --out fixtures/recentchange.cassette.jsonl",
    );
  }
  const userAgent = values["user-agent"];
  if (!userAgent) {
    return usage(
      "Cannot record: --user-agent is required by Wikimedia's User-Agent policy " +
        "(https://foundation.wikimedia.org/wiki/Policy:Wikimedia_Foundation_User-Agent_Policy), " +
        `e.g. --user-agent "my-tests/1.0 (https://example.org; me@example.org)"`,
    );
  }
  let maxEvents: number | undefined;
  if (values.events !== undefined) {
    if (!/^[1-9]\d*$/.test(values.events)) {
      return usage(
        `Cannot record: --events must be a positive whole number, got "${values.events}"`,
      );
    }
    maxEvents = Number(values.events);
  }
  let durationMs: number | undefined;
  if (values.duration !== undefined) {
    durationMs = parseDuration(values.duration);
    if (durationMs === undefined) {
      return usage(
        `Cannot record: --duration must look like 500ms, 30s, 5m or 1h, got "${values.duration}"`,
      );
    }
  }
  if (maxEvents === undefined && durationMs === undefined) maxEvents = 100;
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since))) {
    return usage(
      `Cannot record: --since must be an ISO-8601 time like 2026-09-27T16:00:00Z, got "${values.since}"`,
    );
  }

  try {
    for (const name of streams) {
      resolveStreamName(name, {
        allowUnknown: values["allow-unknown-streams"] === true,
      });
    }
  } catch (error) {
    return usage(`Cannot record: ${(error as Error).message}`);
  }

  const recorder = recordingFetch({
    fetch: io.fetch,
    clock,
    tool: "scripts/record.ts",
    note: values.note,
  });
  let events = 0;
  let stream;
  try {
    stream = eventStream(streams, {
      userAgent,
      since: values.since,
      baseUrl: values["base-url"],
      fetch: recorder.fetch,
      clock,
      allowUnknownStreams: true, // Names were checked above, unless --allow-unknown-streams.
      onConnect: () => log(progress("connected", events, recorder.stats)),
      onRetry: ({ delayMs, reason }) =>
        log(`reconnecting in ${delayMs} ms (${reason})`),
    });
  } catch (error) {
    return usage(`Cannot record: ${(error as Error).message}`);
  }

  let exitCode = 0;
  const stop = () => void stream.close();
  const cancelTimer = durationMs === undefined
    ? undefined
    : clock.setTimeout(stop, durationMs);
  io.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const _event of stream) {
      events++;
      if (events % 50 === 0) log(progress("recording", events, recorder.stats));
      if (maxEvents !== undefined && events >= maxEvents) break;
    }
  } catch (error) {
    log(
      `Stream failed after ${events} events: ${
        (error as Error).message
      }; writing what was recorded`,
    );
    exitCode = 1;
  } finally {
    cancelTimer?.();
    io.signal?.removeEventListener("abort", stop);
    await stream.close();
  }
  try {
    await writeCassette(values.out, recorder.cassette());
  } catch (error) {
    log(`Cannot write cassette ${values.out}: ${(error as Error).message}`);
    return 1;
  }
  log(`${progress("wrote " + values.out + ":", events, recorder.stats)}`);
  return exitCode;
}

function progress(
  what: string,
  events: number,
  stats: { connections: number; bytes: number },
): string {
  return `${what} ${events} events, ${stats.bytes} bytes, ${stats.connections} connection` +
    `${stats.connections === 1 ? "" : "s"}`;
}

/** `500ms`, `30s`, `5m`, `1h` (or plain milliseconds) to milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"]!;
  const ms = Math.round(Number(match[1]) * unit);
  return ms > 0 ? ms : undefined;
}

if (import.meta.main) {
  const interrupt = new AbortController();
  Deno.addSignalListener("SIGINT", () => interrupt.abort());
  Deno.exit(await main(Deno.args, { signal: interrupt.signal }));
}

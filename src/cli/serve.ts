/**
 * `eventstreams serve`: run the local EventStreams emulator.
 *
 * @module
 */

import { type Emulator, serveEmulator } from "../testing/emulator/server.ts";
import { loadFixtureStreams } from "../testing/emulator/fixtures.ts";
import { generateStreams } from "../testing/emulator/generate_streams.ts";
import { parseCommand, parseServeArgs } from "./args.ts";
import { findFixturesDir } from "./fixtures_dir.ts";
import { type CliIo, writeText } from "./io.ts";

/** `eventstreams serve --help`. */
export const SERVE_HELP =
  `Run a local emulator of the Wikimedia EventStreams server.

Usage:
  eventstreams serve [--port <n>] [--hostname <addr>] [--fixtures <dir>] [--rate <n>]

It serves every public stream the way stream.wikimedia.org does (since, Last-Event-ID,
KafkaSSE ids, the 400/404/429 errors, :ok first, no heartbeats). The history is the
repository's real fixtures (a real mediawiki.page_change.v1 capture and Wikimedia Enterprise
test events) topped up with seeded generated events of 2026-09-27 (outside a checkout,
generated events only); new generated events keep arriving live, --rate a second in each
stream. Prints one line, 'EventStreams emulator listening on http://127.0.0.1:<port>', then
runs until Ctrl-C. Point any SSE client at it, or 'eventstreams tail --base-url'.

Options:
  --port, -p <n>        TCP port (default 8092; 0 picks a free one)
  --hostname <addr>     Interface to listen on (default 127.0.0.1, loopback only)
  --fixtures <dir>      Fixtures directory (default: the repository's fixtures/, when present)
  --rate <n>            Live events per second in each stream (default 2; 0: history only)

Examples:
  eventstreams serve
  eventstreams serve --port 0 --rate 50
  # In another terminal: new events as they arrive, or the history from 16:15 on
  eventstreams tail recentchange --base-url http://127.0.0.1:8092 --user-agent 'my-tool/1.0 (me@example.org)'
  eventstreams tail recentchange --since 2026-09-27T16:15:00Z --base-url http://127.0.0.1:8092 \\
    --user-agent 'my-tool/1.0 (me@example.org)'

Exit codes: 0 stopped with Ctrl-C, 1 runtime error (port in use, fixtures unreadable),
2 usage error.
`;

/**
 * Runs `eventstreams serve` until Ctrl-C.
 *
 * @param args The arguments after `serve`.
 * @param io The process's I/O.
 * @returns The exit code.
 * @throws {UsageError} For a bad command line.
 */
export async function runServe(args: string[], io: CliIo): Promise<number> {
  const options = await parseCommand(args, io, {
    parse: parseServeArgs,
    help: SERVE_HELP,
  });
  if (options === undefined) return 0;
  const dir = options.fixtures ?? await findFixturesDir();
  const streams = dir === undefined
    ? generateStreams()
    : await loadFixtureStreams(dir);
  const names = streams.configs.map((config) => config.name);

  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const stopListening = io.onInterrupt(() => stop());
  let emulator: Emulator;
  try {
    emulator = serveEmulator({
      streams,
      hostname: options.hostname,
      port: options.port,
      clock: io.clock,
      live: options.rate === 0 ? undefined : {
        eventsPerSecond: options.rate * names.length,
        streams: names,
        tickMs: 100,
      },
    });
  } catch (error) {
    stopListening();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Cannot listen on ${options.hostname}:${options.port}: the port is in use; pick another with --port, or --port 0 for a free one`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    await writeText(
      io.stdout,
      `EventStreams emulator listening on ${emulator.url}\n`,
    );
    await stopped;
  } finally {
    stopListening();
    await emulator.close();
  }
  return 0;
}

/**
 * `eventstreams relay`: share one upstream connection with any number of
 * local subscribers (see `src/relay/relay.ts`).
 *
 * @module
 */

import { type Relay, startRelay } from "../relay/relay.ts";
import { parseCommand, parseRelayArgs } from "./args.ts";
import { type CliIo, terminalColumns, writeText, writeTextSync } from "./io.ts";
import { StatusReporter } from "./status.ts";

/** `eventstreams relay --help`. */
export const RELAY_HELP =
  `Share one EventStreams connection with any number of local subscribers.

Usage:
  eventstreams relay <stream>... --port <n> --data <dir> [--hostname 127.0.0.1] [--retain 24h]
                     [--since <time>] [--base-url <url>] [--user-agent <ua>]
                     [--max-connections-per-ip <n>] [--max-subscriber-lag <n>]

One upstream connection (exact cursor, watchdog, backoff) feeds a durable log under --data;
subscribers connect with the EventStreams protocol (/v2/stream/<streams>, since,
Last-Event-ID, the same errors) and get events only once they are on disk. The ids carry
exact offsets (offset + 1 per partition), so EventSource and 'eventstreams tail' resume
exactly. Filters per subscriber: ?wiki=enwiki,dewiki&domain=&type=edit&namespace=0&bot=false
(skipped events still move the subscriber's id). After a crash or restart it resumes upstream
exactly where its log ends. Subscriber streams end cleanly after 15 minutes, like the real
server's. Also /metrics (Prometheus text) and /healthz.

Options:
  --port, -p <n>            TCP port for subscribers (0 picks a free one)
  --data <dir>              Directory of the durable log (created when missing)
  --hostname <addr>         Interface to listen on (default 127.0.0.1, loopback only)
  --retain <duration>       Keep the log this long, dropping whole old segments (default 24h)
  --since <time>            Where the first run starts (default: live); later runs resume
  --base-url <url>          Upstream server (default https://stream.wikimedia.org)
  --user-agent <ua>         Required by Wikimedia (default: EVENTSTREAMS_USER_AGENT)
  --max-connections-per-ip <n>  Subscriber streams per client IP (default 0: no limit)
  --max-subscriber-lag <n>  A live subscriber this many events behind while not reading gets
                            event: error and is closed; it resumes from its id (default 10000)

Examples:
  eventstreams relay recentchange --port 8093 --data ./relay-data --user-agent 'my-tool/1.0 (me@example.org)'
  eventstreams tail recentchange --base-url http://127.0.0.1:8093 --user-agent 'my-tool/1.0 (me@example.org)'
  curl -N 'http://127.0.0.1:8093/v2/stream/recentchange?wiki=enwiki'

Exit codes: 0 stopped with Ctrl-C, 1 runtime error, 2 usage error.
`;

/**
 * Runs `eventstreams relay` until Ctrl-C.
 *
 * @param args The arguments after `relay`.
 * @param io The process's I/O.
 * @returns The exit code.
 * @throws {UsageError} For a bad command line.
 */
export async function runRelay(args: string[], io: CliIo): Promise<number> {
  const options = await parseCommand(args, io, {
    parse: parseRelayArgs,
    help: RELAY_HELP,
  });
  if (options === undefined) return 0;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => stop = resolve);
  const stopListening = io.onInterrupt(() => stop());
  let relay: Relay | undefined;
  const stderrIsTerminal = io.stderr.isTerminal();
  const status: StatusReporter | undefined = stderrIsTerminal
    ? new StatusReporter({
      write: (text) => writeTextSync(io.stderr, text),
      sample: () => {
        const stats = relay!.stats;
        return {
          events: stats.received,
          reconnects: Math.max(0, stats.connections - 1),
          cursor: stats.cursor,
          lastEventDt: stats.lastEventMs === undefined
            ? undefined
            : new Date(stats.lastEventMs).toISOString(),
        };
      },
      terminal: true,
      stdoutIsTerminal: io.stdout.isTerminal(),
      clock: io.clock,
      columns: terminalColumns,
    })
    : undefined;
  try {
    relay = await startRelay({
      streams: options.streams,
      dataDir: options.data,
      userAgent: options.userAgent,
      since: options.since?.getTime(),
      baseUrl: options.baseUrl,
      hostname: options.hostname,
      port: options.port,
      retainMs: options.retainMs,
      maxConnectionsPerIp: options.maxConnectionsPerIp,
      maxSubscriberLagEvents: options.maxSubscriberLag,
      clock: io.clock,
      onUpstreamError: (error) =>
        status ? status.note(`Upstream: ${error.message}`) : writeTextSync(
          io.stderr,
          `eventstreams relay: upstream: ${error.message}\n`,
        ),
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
      `EventStreams relay listening on ${relay!.url}\n`,
    );
    status?.start();
    await stopped;
  } finally {
    status?.stop();
    stopListening();
    await relay!.close();
  }
  return 0;
}

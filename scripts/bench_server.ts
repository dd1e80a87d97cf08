/**
 * The loopback server of the peer and catch-up benchmarks
 * (scripts/bench_peers.ts, scripts/bench_catchup.ts), run in a process of
 * its own so that serving does not share the consumer's event loop or core.
 * Two modes:
 *
 * - `--bytes=N` (default 32 MiB): `GET /v2/stream/<any>` answers the seeded
 *   synthetic recentchange corpus (scripts/bench_corpus.ts) as one
 *   `text/event-stream` body, whatever the `Last-Event-ID`;
 *   `GET /short/v2/stream/<any>` answers `:ok` and one frame (the reconnect
 *   measurement). Prints `{"port", "bytes", "frames"}`.
 * - `--emulator=N`: the emulator (src/testing/emulator/) with N generated
 *   recentchange events over the hour from `start`, so a `since` catch-up
 *   reads all of them. Prints `{"url", "events", "start"}`.
 *
 * Once listening it prints that one JSON line on stdout.
 *
 * Run: started by the benchmarks, or alone:
 * `deno run --allow-net=127.0.0.1 --allow-read scripts/bench_server.ts --bytes=33554432`.
 *
 * @module
 */

import { syntheticCorpus } from "./bench_corpus.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";

function positiveArg(name: string, fallback: number | undefined) {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(
      `Cannot serve ${arg}: expected a positive integer`,
    );
  }
  return value;
}

const emulatorEvents = positiveArg("emulator", undefined);
if (emulatorEvents !== undefined) {
  const start = "2026-09-27T16:15:00Z";
  const streams = generateStreams({
    start,
    durationMs: 3_600_000,
    counts: { "mediawiki.recentchange": emulatorEvents },
  });
  const emulator = serveEmulator({ streams, port: 0 });
  console.log(
    JSON.stringify({ url: emulator.url, events: emulatorEvents, start }),
  );
} else serveCorpus(positiveArg("bytes", 32 * 1024 * 1024)!);

function serveCorpus(corpusBytes: number): void {
  const corpus = syntheticCorpus(corpusBytes);
  // Built from fresh ArrayBuffers (bench_corpus.ts), never shared memory.
  const body = corpus.bytes as Uint8Array<ArrayBuffer>;
  // The short answer: the corpus's `:ok` and first frame (one event per connection).
  const firstEnd = new TextDecoder().decode(corpus.bytes.subarray(0, 8192))
    .indexOf("\n\n", 5);
  const short = body.slice(0, firstEnd + 2 > 5 ? firstEnd + 2 : 5);
  const headers = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
  };

  Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen({ port }) {
      console.log(JSON.stringify({
        port,
        bytes: corpus.bytes.byteLength,
        frames: corpus.frames,
      }));
    },
  }, (request) => {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/short/")) {
      return new Response(short, { headers });
    }
    if (pathname.startsWith("/v2/stream/")) {
      return new Response(body, { headers });
    }
    return new Response("not found\n", { status: 404 });
  });
}

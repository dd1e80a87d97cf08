/**
 * The loopback server of the peer benchmark (scripts/bench_peers.ts), run in
 * a process of its own so that serving does not share the consumer's event
 * loop or core: `GET /v2/stream/<any>` answers the seeded synthetic
 * recentchange corpus (scripts/bench_corpus.ts) as one `text/event-stream`
 * body, whatever the `Last-Event-ID`; `GET /short/v2/stream/<any>` answers
 * `:ok` and one frame (the reconnect measurement). Once listening it prints
 * one JSON line on stdout: `{"port", "bytes", "frames"}`.
 *
 * Run: started by scripts/bench_peers.ts, or alone:
 * `deno run --allow-net=127.0.0.1 --allow-read scripts/bench_server.ts --bytes=33554432`.
 *
 * @module
 */

import { syntheticCorpus } from "./bench_corpus.ts";

const bytesArg = Deno.args.find((a) => a.startsWith("--bytes="));
const corpusBytes = bytesArg ? Number(bytesArg.slice(8)) : 32 * 1024 * 1024;
if (!Number.isSafeInteger(corpusBytes) || corpusBytes <= 0) {
  throw new RangeError(
    `Cannot serve a corpus of --bytes=${bytesArg}: expected a positive integer`,
  );
}
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
  if (pathname.startsWith("/short/")) return new Response(short, { headers });
  if (pathname.startsWith("/v2/stream/")) {
    return new Response(body, { headers });
  }
  return new Response("not found\n", { status: 404 });
});

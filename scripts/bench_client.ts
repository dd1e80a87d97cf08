/**
 * End-to-end client throughput: `eventStream()` (parse, JSON, cursor,
 * dedupe, filters, one event per `next()`) over a canned fetch whose body is
 * the seeded synthetic recentchange corpus in 16 KiB chunks, against the
 * floor of the same work without the client (`SseDecoder` + `JSON.parse`).
 * Live recentchange runs at about 50–100 events/s; this says how much
 * headroom a consumer has when catching up from `since`.
 *
 * Run: part of `deno task bench`, or `deno run --allow-read --allow-env
 * scripts/bench_client.ts`.
 *
 * @module
 */

import { eventStream } from "../src/client.ts";
import { SseDecoder } from "../src/sse/decoder.ts";
import { chunk, type Corpus, syntheticCorpus } from "./bench_corpus.ts";

const CHUNK_SIZE = 16 * 1024;

/** One measured contender: events per second and MB per second. */
export interface ClientBenchRow {
  /** What ran. */
  name: string;
  /** Median wall time of one pass over the corpus, in ms. */
  ms: number;
  /** Events per second. */
  eventsPerS: number;
  /** Megabytes (10^6) of body per second. */
  mbPerS: number;
}

function floor(chunks: Uint8Array[]): number {
  let events = 0;
  const decoder = new SseDecoder((frame) => {
    if (JSON.parse(frame.data).meta) events++;
  });
  for (const c of chunks) decoder.push(c);
  decoder.end();
  return events;
}

async function client(chunks: Uint8Array[], expected: number): Promise<number> {
  const fetch = () => {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i < chunks.length) controller.enqueue(chunks[i++]);
        else controller.close();
      },
    });
    return Promise.resolve(
      new Response(body, { headers: { "content-type": "text/event-stream" } }),
    );
  };
  const stream = eventStream("recentchange", {
    userAgent: "eventstreams-bench/0.1.0 (https://jsr.io/@eventstreams/client)",
    fetch,
    canary: true,
  });
  let events = 0;
  for await (const _ of stream) {
    if (++events === expected) break;
  }
  return events;
}

/**
 * Measures the client against its floor on the synthetic corpus.
 *
 * @param runs Timed runs per contender (the median is reported).
 * @param corpusBytes Corpus size.
 * @returns One row per contender.
 */
export async function benchClient(
  runs = 5,
  corpusBytes = 32 * 1024 * 1024,
): Promise<ClientBenchRow[]> {
  const corpus: Corpus = syntheticCorpus(corpusBytes);
  const chunks = chunk(corpus.bytes, CHUNK_SIZE);
  const contenders: [string, () => Promise<number> | number][] = [
    ["SseDecoder + JSON.parse (floor)", () => floor(chunks)],
    ["eventStream()", () => client(chunks, corpus.frames)],
  ];
  const times = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
  for (let round = 0; round < runs + 1; round++) {
    for (const [name, run] of contenders) {
      const start = performance.now();
      const events = await run();
      const ms = performance.now() - start;
      if (events !== corpus.frames) {
        throw new Error(
          `${name} gave ${events} events, expected ${corpus.frames}`,
        );
      }
      if (round > 0) times.get(name)!.push(ms); // Round 0 warms up.
    }
  }
  return contenders.map(([name]) => {
    const sorted = times.get(name)!.sort((a, b) => a - b);
    const ms = sorted[sorted.length >> 1];
    return {
      name,
      ms,
      eventsPerS: corpus.frames / (ms / 1000),
      mbPerS: corpus.bytes.byteLength / 1e6 / (ms / 1000),
    };
  });
}

/**
 * Prints the rows as a table.
 *
 * @param rows What {@linkcode benchClient} measured.
 */
export function printClientBench(rows: ClientBenchRow[]): void {
  console.log(
    `Client end to end: synthetic recentchange corpus in ${
      CHUNK_SIZE / 1024
    } KiB chunks (median)`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(32)} ${row.ms.toFixed(1).padStart(8)} ms ${
        Math.round(row.eventsPerS).toLocaleString("en-US").padStart(9)
      } events/s ${row.mbPerS.toFixed(0).padStart(5)} MB/s`,
    );
  }
  const [base, ours] = rows;
  console.log(
    `  eventStream() runs at ${
      (ours.eventsPerS / base.eventsPerS).toFixed(2)
    }x its floor`,
  );
}

if (import.meta.main) printClientBench(await benchClient());

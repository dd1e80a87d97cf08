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
import { byWiki, type EventFilter } from "../src/filter.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import { SseDecoder } from "../src/sse/decoder.ts";
import {
  captureStreamCorpus,
  chunk,
  type Corpus,
  syntheticCorpus,
} from "./bench_corpus.ts";
import { median } from "./bench_process.ts";

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

/** `eventStream()` over a canned body of `chunks`, read to its end. */
async function client(
  chunks: Uint8Array[],
  stream = "recentchange",
  filter?: EventFilter<EventStreamsEvent>,
): Promise<number> {
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
  const events = eventStream(stream, {
    userAgent: "eventstreams-bench/0.1.0 (https://jsr.io/@eventstreams/client)",
    fetch,
    canary: true,
    allowUnknownStreams: true,
    ...(filter ? { filter } : {}),
    // The end of the body ends the run (else the backoff sleep is measured).
    onDisconnect: () => void events.close(),
  });
  let count = 0;
  for await (const _ of events) count++;
  return count;
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
    ["eventStream()", () => client(chunks)],
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
    const ms = median(times.get(name)!);
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

/** What the raw-text prefilter gains on one corpus, in memory. */
export interface PrefilterRow {
  corpus: string;
  filter: string;
  /** Events handed over with the filter, of all. */
  kept: number;
  events: number;
  /** Median over rounds of the unfiltered time / the filtered time. */
  speedup: number;
}

/**
 * `byWiki("enwiki")` against no filter on the synthetic recentchange corpus
 * (`meta` written second) and the page_change capture (`meta` written
 * last), in 60 KB chunks (what loopback HTTP delivers).
 *
 * @param runs Timed rounds.
 * @param corpusBytes Corpus size.
 * @returns One row per corpus.
 */
export async function benchPrefilter(
  runs = 7,
  corpusBytes = 32 * 1024 * 1024,
): Promise<PrefilterRow[]> {
  const cases: [Corpus, string][] = [
    [syntheticCorpus(corpusBytes), "recentchange"],
    [await captureStreamCorpus(corpusBytes), "mediawiki.page_change.v1"],
  ];
  const rows: PrefilterRow[] = [];
  for (const [corpus, stream] of cases) {
    const chunks = chunk(corpus.bytes, 60_000);
    const filter = byWiki("enwiki");
    const ratios: number[] = [];
    let kept = 0;
    for (let round = 0; round < runs + 1; round++) {
      let start = performance.now();
      const all = await client(chunks, stream);
      const unfilteredMs = performance.now() - start;
      start = performance.now();
      kept = await client(chunks, stream, filter);
      const filteredMs = performance.now() - start;
      if (all !== corpus.frames) {
        throw new Error(`${corpus.name}: ${all} events of ${corpus.frames}`);
      }
      if (round > 0) ratios.push(unfilteredMs / filteredMs);
    }
    rows.push({
      corpus: `${corpus.name} (${stream})`,
      filter: 'byWiki("enwiki")',
      kept,
      events: corpus.frames,
      speedup: median(ratios),
    });
  }
  return rows;
}

/**
 * Prints the rows.
 *
 * @param rows What {@linkcode benchPrefilter} measured.
 */
export function printPrefilterBench(rows: PrefilterRow[]): void {
  console.log(
    "Raw-text prefilter in memory (cursor exact; median of per-round ratios)",
  );
  for (const row of rows) {
    console.log(
      `  ${row.corpus.padEnd(42)} ${row.filter} keeps ${
        row.kept.toLocaleString("en-US")
      } of ${row.events.toLocaleString("en-US")}: ${
        row.speedup.toFixed(2)
      }x faster than unfiltered`,
    );
  }
}

if (import.meta.main) {
  printClientBench(await benchClient());
  printPrefilterBench(await benchPrefilter());
}

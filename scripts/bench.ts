/**
 * SSE parser throughput: our `SseParseStream` and `SseDecoder` against
 * `eventsource-parser` (stream and callback APIs) and a bare `TextDecoder`
 * pass (the floor), on the real capture repeated to 32 MB and a seeded
 * synthetic recentchange-like corpus, cut in 1,448-byte (one TCP segment) and
 * 16 KiB chunks. Also times a 5 MB frame fed in 1 KiB chunks, and prints the
 * retained-memory measurement (scripts/bench_memory.ts) when the process runs
 * with `--v8-flags=--expose-gc`, the client's end-to-end throughput
 * (scripts/bench_client.ts), the client against its peers over loopback
 * HTTP (scripts/bench_peers.ts), a 1M-event `since` catch-up through the
 * emulator by the library and by `tail` (scripts/bench_catchup.ts), the
 * emulator's throughput (scripts/bench_emulator.ts, target > 20,000
 * events/s), what `tail --checkpoint` costs on a catch-up
 * (scripts/bench_checkpoint.ts, target <= 1.5x), the relay and the
 * PostgreSQL sink.
 *
 * Run: `deno task bench` (or `deno run --v8-flags=--expose-gc --allow-read
 * --allow-env --allow-net=127.0.0.1 --allow-write --allow-run
 * scripts/bench.ts`). Options: `--runs=N` (default 7), `--quick`.
 *
 * @module
 */

import { createParser } from "npm:eventsource-parser@3.1.1";
import { EventSourceParserStream } from "npm:eventsource-parser@3.1.1/stream";
import {
  SseDecoder,
  type SseFrame,
  SseParseStream,
} from "../src/sse/parse_stream.ts";
import {
  captureCorpus,
  chunk,
  type Corpus,
  syntheticCorpus,
} from "./bench_corpus.ts";
import {
  benchClient,
  benchPrefilter,
  printClientBench,
  printPrefilterBench,
} from "./bench_client.ts";
import { measureRetainedMemory, printRetainedMemory } from "./bench_memory.ts";
import { printEmulatorBench } from "./bench_emulator.ts";
import { printCheckpointBench } from "./bench_checkpoint.ts";
import { printRelayBench } from "./bench_relay.ts";
import { printPostgresBench } from "./bench_postgres.ts";
import { benchPeers, printPeerBench } from "./bench_peers.ts";
import { benchCatchUp, printCatchUpBench } from "./bench_catchup.ts";
import { median } from "./bench_process.ts";

const MB = 1e6;
const quick = Deno.args.includes("--quick");
const runsArg = Deno.args.find((a) => a.startsWith("--runs="));
const RUNS = runsArg ? Number(runsArg.slice(7)) : quick ? 3 : 7;
const WARMUP = quick ? 1 : 2;
const CORPUS_BYTES = quick ? 4 * 1024 * 1024 : 32 * 1024 * 1024;
const CHUNK_SIZES = [1448, 16 * 1024];

/** What one parse run counted: frames and data characters (also keeps the work observable). */
interface Tally {
  frames: number;
  chars: number;
}

type Contender = (chunks: Uint8Array[]) => Promise<Tally> | Tally;

/** A body-like source: one chunk per pull, as a network response delivers them. */
function source(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else controller.close();
    },
  });
}

async function drain(stream: ReadableStream<{ data: string }>): Promise<Tally> {
  const reader = stream.getReader();
  let frames = 0;
  let chars = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { frames, chars };
    frames++;
    chars += value.data.length;
  }
}

const contenders: [string, Contender][] = [
  ["TextDecoder (floor)", (chunks) => {
    const decoder = new TextDecoder();
    let chars = 0;
    for (const c of chunks) chars += decoder.decode(c, { stream: true }).length;
    chars += decoder.decode().length;
    return { frames: 0, chars };
  }],
  ["SseDecoder", (chunks) => {
    const tally = { frames: 0, chars: 0 };
    const decoder = new SseDecoder((frame: SseFrame) => {
      tally.frames++;
      tally.chars += frame.data.length;
    });
    for (const c of chunks) decoder.push(c);
    decoder.end();
    return tally;
  }],
  [
    "SseParseStream",
    (chunks) => drain(source(chunks).pipeThrough(new SseParseStream())),
  ],
  ["esp createParser", (chunks) => {
    const tally = { frames: 0, chars: 0 };
    const parser = createParser({
      onEvent(event) {
        tally.frames++;
        tally.chars += event.data.length;
      },
    });
    const decoder = new TextDecoder();
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
    return tally;
  }],
  ["esp EventSourceParserStream", (chunks) =>
    drain(
      source(chunks)
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream()),
    )],
];

interface Row {
  corpus: string;
  chunkSize: number;
  contender: string;
  ms: number;
  mbPerS: number;
  framesPerS: number;
}

async function benchCorpus(corpus: Corpus, chunkSize: number): Promise<Row[]> {
  const chunks = chunk(corpus.bytes, chunkSize);
  const times = new Map<string, number[]>(
    contenders.map(([name]) => [name, []]),
  );
  // Round-robin so drift (GC, CPU frequency) spreads over every contender.
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (const [name, run] of contenders) {
      const start = performance.now();
      const tally = await run(chunks);
      const ms = performance.now() - start;
      if (name !== "TextDecoder (floor)" && tally.frames !== corpus.frames) {
        throw new Error(
          `${name} gave ${tally.frames} frames on ${corpus.name}, expected ${corpus.frames}`,
        );
      }
      if (round >= WARMUP) times.get(name)!.push(ms);
    }
  }
  return contenders.map(([name]) => {
    const ms = median(times.get(name)!);
    return {
      corpus: corpus.name,
      chunkSize,
      contender: name,
      ms,
      mbPerS: corpus.bytes.length / MB / (ms / 1000),
      framesPerS: corpus.frames / (ms / 1000),
    };
  });
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function printTable(rows: Row[]): void {
  console.log(
    `${pad("corpus", 10)} ${pad("chunk", 6, true)}  ${pad("parser", 28)} ${
      pad("median ms", 10, true)
    } ${pad("MB/s", 8, true)} ${pad("frames/s", 11, true)}`,
  );
  for (const r of rows) {
    console.log(
      `${pad(r.corpus, 10)} ${pad(String(r.chunkSize), 6, true)}  ${
        pad(r.contender, 28)
      } ${pad(r.ms.toFixed(1), 10, true)} ${
        pad(r.mbPerS.toFixed(0), 8, true)
      } ${pad(Math.round(r.framesPerS).toLocaleString("en"), 11, true)}`,
    );
  }
}

function ratio(
  rows: Row[],
  corpus: string,
  chunkSize: number,
  a: string,
  b: string,
): number {
  const find = (name: string) =>
    rows.find((r) =>
      r.corpus === corpus && r.chunkSize === chunkSize && r.contender === name
    )!;
  return find(a).mbPerS / find(b).mbPerS;
}

async function benchLongFrame(): Promise<void> {
  // One 5 MB data line fed in 1 KiB chunks: linear-time line assembly.
  const size = 5 * 1000 * 1000;
  const bytes = new Uint8Array(size + 8);
  bytes.set(new TextEncoder().encode("data: "));
  bytes.fill(0x61, 6, size + 6);
  bytes.set([0x0a, 0x0a], size + 6);
  const chunks = chunk(bytes, 1024);
  for (const [name, run] of contenders) {
    if (name === "TextDecoder (floor)") continue;
    const times: number[] = [];
    for (let round = 0; round < WARMUP + RUNS; round++) {
      const start = performance.now();
      const tally = await run(chunks);
      if (tally.frames !== 1 || tally.chars !== size) {
        throw new Error(`${name} misparsed the 5 MB frame`);
      }
      if (round >= WARMUP) times.push(performance.now() - start);
    }
    const ms = median(times);
    console.log(
      `  ${pad(name, 28)} ${pad(ms.toFixed(1), 8, true)} ms  ${
        pad((bytes.length / MB / (ms / 1000)).toFixed(0), 6, true)
      } MB/s`,
    );
  }
}

if (import.meta.main) {
  console.log(
    `SSE parser throughput (Deno ${Deno.version.deno}, V8 ${Deno.version.v8}); median of ${RUNS} runs after ${WARMUP} warm-up; MB = 10^6 bytes`,
  );
  const corpora = [
    await captureCorpus(CORPUS_BYTES),
    syntheticCorpus(CORPUS_BYTES),
  ];
  for (const c of corpora) {
    console.log(
      `  ${c.name}: ${(c.bytes.length / MB).toFixed(1)} MB, ${c.frames} frames`,
    );
  }
  const rows: Row[] = [];
  for (const corpus of corpora) {
    for (const size of CHUNK_SIZES) {
      rows.push(...await benchCorpus(corpus, size));
    }
  }
  console.log();
  printTable(rows);
  console.log(
    "\nRatios (throughput; goal: SseParseStream >= 1.25x EventSourceParserStream, >= 0.9x createParser)",
  );
  for (const corpus of corpora) {
    for (const size of CHUNK_SIZES) {
      const vsStream = ratio(
        rows,
        corpus.name,
        size,
        "SseParseStream",
        "esp EventSourceParserStream",
      );
      const vsCallback = ratio(
        rows,
        corpus.name,
        size,
        "SseParseStream",
        "esp createParser",
      );
      const decoderVsCallback = ratio(
        rows,
        corpus.name,
        size,
        "SseDecoder",
        "esp createParser",
      );
      console.log(
        `  ${pad(corpus.name, 10)} ${
          pad(String(size), 6, true)
        }  SseParseStream/EventSourceParserStream ${
          vsStream.toFixed(2)
        }x  SseParseStream/createParser ${
          vsCallback.toFixed(2)
        }x  SseDecoder/createParser ${decoderVsCallback.toFixed(2)}x`,
      );
    }
  }
  console.log("\nOne 5 MB frame in 1 KiB chunks:");
  await benchLongFrame();
  console.log();
  if (typeof (globalThis as { gc?: () => void }).gc === "function") {
    printRetainedMemory(await measureRetainedMemory());
  } else {
    console.log(
      "Retained memory: skipped (needs --v8-flags=--expose-gc): " +
        "deno run --v8-flags=--expose-gc --allow-read --allow-env scripts/bench.ts",
    );
  }
  console.log();
  printClientBench(await benchClient(RUNS, CORPUS_BYTES));
  printPrefilterBench(await benchPrefilter(RUNS, CORPUS_BYTES));
  console.log();
  printPeerBench(await benchPeers(quick ? 3 : 7, 2 * CORPUS_BYTES));
  console.log();
  printCatchUpBench(
    await benchCatchUp(quick ? 200_000 : 1_000_000, quick ? 1 : 3),
  );
  console.log();
  await printEmulatorBench(quick ? 1 : 3);
  await printCheckpointBench(quick ? 3 : 5);
  await printRelayBench(quick ? 1 : 3);
  await printPostgresBench(quick ? 1 : 3);
}

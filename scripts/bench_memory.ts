/**
 * Retained memory: does a kept `frame.data` pin the network chunk it came
 * from? Parses a synthetic stream delivered in 1 MiB chunks, keeps only the
 * `data` strings (all of them, or one frame in 64), drops everything else,
 * forces GC and compares the heap growth with the size of the kept strings.
 * A parser that returns V8 sliced strings (substrings of a decoded chunk)
 * retains whole chunks; ours decodes each value into its own string.
 *
 * Run: `deno run --v8-flags=--expose-gc --allow-read scripts/bench_memory.ts`
 * (also printed by `deno task bench` when it runs with that flag).
 *
 * @module
 */

import { createParser } from "npm:eventsource-parser@3.1.1";
import { SseDecoder } from "../src/sse/decoder.ts";
import { chunk, syntheticCorpus } from "./bench_corpus.ts";

const CHUNK_BYTES = 1024 * 1024;
const CORPUS_BYTES = 16 * 1024 * 1024;

/** One measurement. */
export interface RetainedMemoryRow {
  /** Which parser. */
  parser: string;
  /** Keep every n-th frame's data. */
  keepEvery: number;
  /** Frames kept. */
  keptFrames: number;
  /** Storage of the kept strings: 1 byte per char, 2 when a string has a char above U+00FF. */
  keptBytes: number;
  /** Heap growth after GC (V8 heap used plus external memory). */
  retainedBytes: number;
}

/** Results plus the corpus size. */
export interface RetainedMemory {
  /** Size of the parsed stream. */
  corpusBytes: number;
  /** Frames in the stream. */
  corpusFrames: number;
  /** One row per parser and keep ratio. */
  rows: RetainedMemoryRow[];
}

type Parse = (chunks: Uint8Array[], keep: (data: string) => void) => void;

const parsers: [string, Parse][] = [
  ["SseDecoder", (chunks, keep) => {
    const decoder = new SseDecoder((frame) => keep(frame.data));
    for (const c of chunks) decoder.push(c);
    decoder.end();
  }],
  ["esp createParser", (chunks, keep) => {
    const parser = createParser({ onEvent: (event) => keep(event.data) });
    const decoder = new TextDecoder();
    for (const c of chunks) parser.feed(decoder.decode(c, { stream: true }));
  }],
];

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) {
    throw new Error(
      "Cannot measure retained memory: run with --v8-flags=--expose-gc",
    );
  }
  collect();
  collect();
}

function used(): number {
  const usage = Deno.memoryUsage();
  return usage.heapUsed + usage.external;
}

function storageBytes(text: string): number {
  // deno-lint-ignore no-control-regex
  return text.length * (/[^\u0000-\u00ff]/.test(text) ? 2 : 1);
}

/** Parses in its own scope so the chunks are garbage once it returns. */
function parseAndKeep(
  corpus: Uint8Array,
  parse: Parse,
  keepEvery: number,
): string[] {
  // Fresh 1 MiB buffers, as a network read would hand them over.
  const chunks = chunk(corpus, CHUNK_BYTES).map((c) => c.slice());
  const kept: string[] = [];
  let index = 0;
  parse(chunks, (data) => {
    if (index++ % keepEvery === 0) kept.push(data);
  });
  return kept;
}

/**
 * Runs the measurement (needs `--v8-flags=--expose-gc`).
 *
 * @returns The measured rows.
 */
export function measureRetainedMemory(): RetainedMemory {
  const corpus = syntheticCorpus(CORPUS_BYTES, 7);
  const rows: RetainedMemoryRow[] = [];
  for (const keepEvery of [1, 64]) {
    for (const [name, parse] of parsers) {
      gc();
      const before = used();
      let kept: string[] | undefined = parseAndKeep(
        corpus.bytes,
        parse,
        keepEvery,
      );
      gc();
      const retainedBytes = used() - before;
      const keptBytes = kept.reduce((sum, data) => sum + storageBytes(data), 0);
      rows.push({
        parser: name,
        keepEvery,
        keptFrames: kept.length,
        keptBytes,
        retainedBytes,
      });
      kept = undefined;
    }
  }
  return {
    corpusBytes: corpus.bytes.length,
    corpusFrames: corpus.frames,
    rows,
  };
}

/**
 * Prints the measurement as a table.
 *
 * @param result What {@linkcode measureRetainedMemory} returned.
 */
export function printRetainedMemory(result: RetainedMemory): void {
  const mb = (n: number) => (n / 1e6).toFixed(2).padStart(7);
  console.log(
    `Retained memory after GC: synthetic stream of ${
      mb(result.corpusBytes).trim()
    } MB (${result.corpusFrames} frames) ` +
      `in ${CHUNK_BYTES / 1024} KiB chunks, keeping only frame.data strings`,
  );
  console.log(
    `  ${"parser".padEnd(18)} ${"kept".padStart(12)} ${"kept MB".padStart(8)} ${
      "heap MB".padStart(8)
    }  retained/kept`,
  );
  for (const r of result.rows) {
    console.log(
      `  ${r.parser.padEnd(18)} ${`1 in ${r.keepEvery}`.padStart(12)} ${
        mb(r.keptBytes)
      } ${mb(r.retainedBytes)}  ${(r.retainedBytes / r.keptBytes).toFixed(2)}x`,
    );
  }
}

if (import.meta.main) printRetainedMemory(measureRetainedMemory());

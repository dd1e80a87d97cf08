/**
 * Test harness for EventStreams consumers: a manual clock, cassettes
 * (record/replay of real sessions) and a local emulator of the server.
 *
 * @example A consumer survives a connection cut mid-frame (emulator on 127.0.0.1)
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventStream } from "@eventstreams/client";
 * import { serveEmulator } from "@eventstreams/client/testing";
 *
 * await using emulator = serveEmulator({
 *   generate: { counts: { "mediawiki.recentchange": 10 } },
 *   faults: [[{ kind: "cut", afterFrames: 4, midFrame: true }]], // the first connection dies mid-frame
 * });
 * const stream = eventStream("recentchange", {
 *   userAgent: "my-tests/1.0 (me@example.org)",
 *   baseUrl: emulator.url,
 *   since: "2026-01-01T00:00:00Z",
 *   backoff: { initialMs: 1 },
 * });
 * const offsets: number[] = [];
 * for await (const change of stream) {
 *   offsets.push(change.meta.offset);
 *   if (offsets.length === 10) break;
 * }
 * assert.equal(new Set(offsets).size, 10); // all 10, none twice, across the cut
 * assert.equal(stream.stats.reconnects, 1);
 * ```
 *
 * @module
 */
export * from "./manual_clock.ts";
export * from "./emulator/mod.ts";
export * from "./cassette.ts";
export * from "./cassette_file.ts";
export * from "./recorder.ts";
export * from "./replay.ts";
export * from "./import_capture.ts";
export * from "./random.ts";

/**
 * A local emulator of the Wikimedia EventStreams server for tests and demos:
 * a real HTTP server on loopback serving topic-partition logs (real fixtures
 * or seeded generated events) with the server's `since`, `Last-Event-ID`,
 * id, error and connection-limit behaviour, plus scripted faults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEmulator } from "@eventstreams/client/testing";
 * await using emulator = serveEmulator({ generate: { counts: { "mediawiki.recentchange": 5 } } });
 * assert.ok(emulator.url.startsWith("http://127.0.0.1:"));
 * ```
 *
 * @module
 */
export * from "./faults.ts";
export * from "./fixtures.ts";
export * from "./generate_streams.ts";
export * from "./generator.ts";
export * from "./last_event_id.ts";
export * from "./logs.ts";
export * from "./server.ts";
export type {
  EmulatorConnectionEnd,
  EmulatorConnectionLog,
  EmulatorEndReason,
  EmulatorFrameLog,
} from "./session.ts";
export * from "./stream_set.ts";

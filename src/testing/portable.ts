/**
 * The parts of the test harness that run on any JavaScript runtime (Node,
 * Bun, browsers as well as Deno): the manual clock, the cassette format,
 * `recordingFetch()` / `replayFetch()`, the capture importer and the seeded
 * random generator. The npm package exports this module as
 * `@eventstreams/client/testing`; the emulator server and cassette files on
 * disk need Deno and are in the full `./testing` module only.
 *
 * @example Virtual time for a consumer under test
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManualClock } from "@eventstreams/client/testing";
 *
 * const clock = new ManualClock(0);
 * let fired = 0;
 * clock.setTimeout(() => fired++, 1_000);
 * await clock.tick(999);
 * assert.equal(fired, 0);
 * await clock.tick(1);
 * assert.equal(fired, 1);
 * ```
 *
 * @module
 */
export * from "./manual_clock.ts";
export * from "./cassette.ts";
export * from "./recorder.ts";
export * from "./replay.ts";
export * from "./import_capture.ts";
export * from "./random.ts";

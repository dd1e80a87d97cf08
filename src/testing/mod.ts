/**
 * Test harness for EventStreams consumers: a manual clock, cassettes
 * (record/replay of real sessions) and a local emulator of the server.
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

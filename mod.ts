/**
 * A loss-free client for Wikimedia EventStreams (stream.wikimedia.org):
 * Server-Sent Events over Kafka, consumed exactly once across disconnects.
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/clock.ts";
export * from "./src/cursor.ts";
export * from "./src/types.ts";
export * from "./src/streams.ts";
export * from "./src/events.generated.ts";
export * from "./src/client.ts";
export * from "./src/backoff.ts";
export * from "./src/dedupe.ts";
export * from "./src/filter.ts";
export * from "./src/sse/decoder.ts";
export * from "./src/sse/parse_stream.ts";

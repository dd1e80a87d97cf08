/**
 * A loss-free client for Wikimedia EventStreams (stream.wikimedia.org):
 * Server-Sent Events over Kafka, consumed exactly once across disconnects.
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/clock.ts";

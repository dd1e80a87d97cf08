/**
 * A loss-free client for Wikimedia EventStreams (stream.wikimedia.org):
 * Server-Sent Events over Kafka, consumed exactly once across disconnects.
 *
 * @example Following a stream and keeping its resume point (a canned response stands in for the server)
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventStream } from "@eventstreams/client";
 *
 * const meta = {
 *   topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 41, dt: "2026-01-01T00:00:00Z",
 *   id: "8c3a1f9e-0000-4000-8000-000000000041", stream: "mediawiki.recentchange", domain: "en.wikipedia.org",
 * };
 * // A KafkaSSE id as the server sends it: a position (here a time in ms) per topic-partition.
 * const id = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1767225600001}]';
 * const body = `:ok\n\nevent: message\nid: ${id}\ndata: ${JSON.stringify({ meta, type: "edit", title: "Example" })}\n\n`;
 * const stream = eventStream("recentchange", {
 *   userAgent: "MyBot/1.0 (https://example.org/mybot; mybot@example.org)",
 *   fetch: () => Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } })),
 * });
 * for await (const event of stream) {
 *   assert.equal(event.title, "Example"); // a RecentChangeEvent
 *   break; // closes the stream
 * }
 * // Save the cursor; `eventStream("recentchange", { userAgent, cursor })` resumes right after the event.
 * assert.equal(stream.cursor, '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42}]');
 * ```
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

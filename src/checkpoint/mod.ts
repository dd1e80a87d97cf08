/**
 * Checkpoints: keep a consumer's resume point between runs, in a file
 * ({@linkcode FileCheckpointStore}, crash-safe atomic replace) or in Deno KV
 * ({@linkcode KvCheckpointStore}, check-and-set so two consumers cannot both
 * advance one key).
 *
 * The pattern is load, resume, process, save:
 *
 * ```ts ignore
 * import { eventStream } from "@eventstreams/client";
 * import { FileCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const store = new FileCheckpointStore("./recentchange.cursor");
 * const stream = eventStream("recentchange", {
 *   userAgent: "my-bot/1.0 (https://example.org/my-bot)",
 *   cursor: await store.load(),
 * });
 * for await (const event of stream) {
 *   await handle(event);
 *   await store.save(stream.cursor); // after processing: at-least-once
 * }
 * ```
 *
 * Guarantees: saving after processing gives **at-least-once** delivery
 * across crashes: nothing is lost, and the events processed after the last
 * completed save (at most one when you save after each event) are delivered
 * again. Saving *before* processing would give at-most-once (an event can be
 * lost). Exactly-once needs the processing result and the cursor to commit
 * atomically together, for example both in one Deno KV atomic operation
 * ({@linkcode KvCheckpointStore.stage}).
 *
 * @example A file checkpoint in a temporary directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const dir = await Deno.makeTempDir();
 * const store = new FileCheckpointStore(`${dir}/cursor`);
 * await store.save('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":10}]');
 * assert.ok(await store.load() !== undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export * from "./store.ts";
export * from "./errors.ts";
export * from "./file_store.ts";
export * from "./kv_store.ts";
export * from "./checkpointed.ts";

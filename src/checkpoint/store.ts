/**
 * The {@linkcode CheckpointStore} contract shared by every checkpoint
 * backend, and an in-memory store for tests and examples.
 *
 * @module
 */

/**
 * Somewhere to keep a consumer's resume point (the stream's `cursor`, a
 * KafkaSSE `Last-Event-ID` value) between runs.
 *
 * The usual pattern is: `load()` at start, pass the result as
 * `eventStream(..., { cursor })`, process an event, then
 * `save(stream.cursor)`. That gives **at-least-once** processing: an event
 * processed but not yet saved when the process dies is delivered again after
 * the restart. It is exactly-once only when processing and save commit
 * atomically together (for example both in one Deno KV atomic operation).
 *
 * @example A store in a consumer loop
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStore, type CheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const store: CheckpointStore = new MemoryCheckpointStore();
 * assert.equal(await store.load(), undefined);
 * await store.save('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42}]');
 * assert.ok((await store.load())?.includes('"offset":42'));
 * await store.close?.();
 * ```
 */
export interface CheckpointStore {
  /**
   * Reads the last saved cursor.
   *
   * @returns The cursor text, or `undefined` when nothing was saved yet.
   * @throws {CheckpointError} When the stored value is unreadable.
   */
  load(): Promise<string | undefined>;
  /**
   * Replaces the saved cursor. When the promise resolves, the new cursor is
   * durable (it survives a crash of the process).
   *
   * @param cursor A non-empty cursor, normally `stream.cursor`.
   * @throws {TypeError} When `cursor` is empty.
   */
  save(cursor: string): Promise<void>;
  /** Releases resources (files, database handles). Optional. */
  close?(): Promise<void>;
}

/**
 * Checks the argument of {@linkcode CheckpointStore.save}: a non-empty string.
 *
 * @param cursor The value to check.
 * @throws {TypeError} When `cursor` is not a non-empty string.
 *
 * @example Validating in a custom store's `save`
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertSavableCursor } from "@eventstreams/client/checkpoint";
 *
 * assertSavableCursor('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42}]');
 * assert.throws(() => assertSavableCursor(""), {
 *   name: "TypeError",
 *   message: "Cannot save checkpoint: expected a non-empty cursor string, got ''; " +
 *     "save stream.cursor only after the stream has delivered an event",
 * });
 * ```
 */
export function assertSavableCursor(cursor: unknown): asserts cursor is string {
  if (typeof cursor !== "string" || cursor === "") {
    throw new TypeError(
      `Cannot save checkpoint: expected a non-empty cursor string, got ${
        typeof cursor === "string" ? "''" : String(cursor)
      }; save stream.cursor only after the stream has delivered an event`,
    );
  }
}

/**
 * A {@linkcode CheckpointStore} that keeps the cursor in memory: nothing
 * survives the process. For tests, examples and short-lived consumers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const store = new MemoryCheckpointStore('[{"topic":"eqiad.test","partition":0,"offset":1}]');
 * await store.save('[{"topic":"eqiad.test","partition":0,"offset":2}]');
 * assert.equal(store.saves, 1);
 * assert.ok((await store.load())?.includes('"offset":2'));
 * ```
 */
export class MemoryCheckpointStore implements CheckpointStore {
  #cursor: string | undefined;
  #saves = 0;

  /**
   * Creates a store, optionally holding a cursor already.
   *
   * @param initial The cursor `load()` returns before the first save.
   */
  constructor(initial?: string) {
    this.#cursor = initial;
  }

  /** How many times `save` succeeded. */
  get saves(): number {
    return this.#saves;
  }

  /**
   * Returns the cursor held in memory.
   *
   * @returns The last saved (or initial) cursor, or `undefined`.
   */
  load(): Promise<string | undefined> {
    return Promise.resolve(this.#cursor);
  }

  /**
   * Keeps `cursor` in memory.
   *
   * @param cursor A non-empty cursor.
   * @throws {TypeError} When `cursor` is empty.
   */
  save(cursor: string): Promise<void> {
    try {
      assertSavableCursor(cursor);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#cursor = cursor;
    this.#saves++;
    return Promise.resolve();
  }

  /** Does nothing: there is nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A bounded memory of recently seen keys (event `meta.id`s), so repeats from
 * a timestamp-mode resume or the other datacenter never reach the caller
 * twice, while memory stays fixed however long the stream runs.
 *
 * @module
 */

/**
 * A set of at most `capacity` strings that forgets the oldest first (FIFO).
 * `add` and `has` are O(1): a ring buffer remembers insertion order, a `Set`
 * answers membership.
 *
 * @example Remembering the last two ids
 * ```ts
 * import assert from "node:assert/strict";
 * import { DedupeWindow } from "@eventstreams/client";
 * const seen = new DedupeWindow(2);
 * assert.ok(seen.add("a") === true);
 * assert.ok(seen.add("a") === false); // a repeat
 * seen.add("b");
 * seen.add("c"); // forgets "a"
 * assert.ok(!seen.has("a") && seen.has("b") && seen.has("c"));
 * ```
 */
export class DedupeWindow {
  #ring: (string | undefined)[];
  #next = 0;
  #set = new Set<string>();

  /**
   * Creates an empty window.
   *
   * @param capacity How many keys to remember.
   * @throws {RangeError} When `capacity` is not a positive integer.
   */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot create a dedupe window of ${capacity} entries: expected a positive integer`,
      );
    }
    this.#ring = new Array(capacity);
  }

  /** How many keys the window can hold. */
  get capacity(): number {
    return this.#ring.length;
  }

  /** How many keys the window holds now. */
  get size(): number {
    return this.#set.size;
  }

  /**
   * Whether `key` was added and not yet forgotten.
   *
   * @param key The key to look up.
   * @returns `true` when the key is in the window.
   */
  has(key: string): boolean {
    return this.#set.has(key);
  }

  /**
   * Remembers `key`, forgetting the oldest key when full.
   *
   * @param key The key to remember.
   * @returns `true` when the key is new, `false` when it is a repeat (the
   * window is then unchanged).
   */
  add(key: string): boolean {
    if (this.#set.has(key)) return false;
    const evicted = this.#ring[this.#next];
    if (evicted !== undefined) this.#set.delete(evicted);
    this.#ring[this.#next] = key;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#set.add(key);
    return true;
  }
}

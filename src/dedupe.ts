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
  /** `#set` holds exactly the ring's keys (false after `remember`). */
  #indexed = true;

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

  /** The most keys remembered at once. */
  get capacity(): number {
    return this.#ring.length;
  }

  /** How many keys are remembered now. */
  get size(): number {
    this.#index();
    return this.#set.size;
  }

  /**
   * Tells whether a key is remembered.
   *
   * @param key The key.
   * @returns `true` when it is in the window.
   */
  has(key: string): boolean {
    this.#index();
    return this.#set.has(key);
  }

  /**
   * Remembers a key unless it is there already.
   *
   * @param key The key.
   * @returns `false` when it was there (a repeat), `true` when it is new.
   */
  add(key: string): boolean {
    this.#index();
    if (this.#set.has(key)) return false;
    const evicted = this.#ring[this.#next];
    if (evicted !== undefined) this.#set.delete(evicted);
    this.#push(key);
    this.#set.add(key);
    return true;
  }

  /**
   * Remembers a key without checking it: one array store, for the stretches
   * where repeats cannot happen. The next {@linkcode DedupeWindow.add} or
   * {@linkcode DedupeWindow.has} indexes the window again (once).
   *
   * @param key The key.
   */
  remember(key: string): void {
    this.#push(key);
    this.#indexed = false;
  }

  #push(key: string): void {
    this.#ring[this.#next] = key;
    if (++this.#next === this.#ring.length) this.#next = 0;
  }

  #index(): void {
    if (this.#indexed) return;
    this.#set.clear();
    for (const key of this.#ring) if (key !== undefined) this.#set.add(key);
    this.#indexed = true;
  }
}

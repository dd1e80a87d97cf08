/**
 * A seeded pseudo-random source for deterministic tests, fixtures and demos.
 *
 * @module
 */

/**
 * Creates a small, fast, seeded pseudo-random number generator (mulberry32):
 * the same seed gives the same sequence on every platform, so chunkings,
 * generated events, kill points and backoff jitter are reproducible. Use it
 * wherever a test or fixture would otherwise reach for `Math.random()`. Not
 * for anything secret.
 *
 * @param seed Any number; it is reduced to an unsigned 32-bit integer
 *   (`seed >>> 0`), so `-1` and `4294967295` give the same sequence.
 * @returns A function that returns the next number of the sequence, in
 *   [0, 1), on each call.
 *
 * @example The same seed gives the same sequence
 * ```ts
 * import assert from "node:assert/strict";
 * import { seededRandom } from "@eventstreams/client/testing";
 *
 * const a = seededRandom(42);
 * const b = seededRandom(42);
 * const first = [a(), a(), a()];
 * assert.ok(first.every((x) => x >= 0 && x < 1));
 * assert.ok(JSON.stringify(first) === JSON.stringify([b(), b(), b()]));
 * assert.ok(seededRandom(43)() !== seededRandom(42)());
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

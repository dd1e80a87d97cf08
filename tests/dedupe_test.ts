import assert from "node:assert/strict";
import { DedupeWindow } from "../src/dedupe.ts";

Deno.test("remembers keys and reports repeats", () => {
  const seen = new DedupeWindow(3);
  assert.equal(seen.add("a"), true);
  assert.equal(seen.add("a"), false);
  assert.equal(seen.has("a"), true);
  assert.equal(seen.has("b"), false);
  assert.equal(seen.size, 1);
});

Deno.test("forgets the oldest key first once full (FIFO), and a repeat does not refresh it", () => {
  const seen = new DedupeWindow(3);
  for (const key of ["a", "b", "c"]) seen.add(key);
  assert.equal(seen.add("a"), false); // A repeat: the window is unchanged.
  seen.add("d"); // Evicts "a", the oldest insertion.
  assert.deepEqual(["a", "b", "c", "d"].map((k) => seen.has(k)), [
    false,
    true,
    true,
    true,
  ]);
  seen.add("e"); // Evicts "b".
  assert.deepEqual(["b", "c", "d", "e"].map((k) => seen.has(k)), [
    false,
    true,
    true,
    true,
  ]);
  assert.equal(seen.size, 3);
  assert.equal(seen.capacity, 3);
});

Deno.test("holds exactly capacity keys however many pass through", () => {
  const seen = new DedupeWindow(10_000);
  for (let i = 0; i < 250_000; i++) seen.add(`id-${i}`);
  assert.equal(seen.size, 10_000);
  assert.equal(seen.has("id-239999"), false);
  assert.equal(seen.has("id-240000"), true);
  assert.equal(seen.has("id-249999"), true);
});

Deno.test("rejects a capacity that is not a positive integer", () => {
  for (const capacity of [0, -1, 1.5, NaN]) {
    assert.throws(() => new DedupeWindow(capacity), {
      name: "RangeError",
      message:
        `Cannot create a dedupe window of ${capacity} entries: expected a positive integer`,
    });
  }
});

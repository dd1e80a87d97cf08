import assert from "node:assert/strict";
import { randomFaults, runSoak, soakLine } from "../scripts/soak_run.ts";
import { seededRandom } from "../src/testing/random.ts";

// The CI-sized soak (deno task soak runs it at full size): a historical and a
// live phase, a live start on two streams among them, through randomly
// scheduled faults of every kind the emulator offers.
Deno.test("soak (CI size): every event exactly once through hundreds of random faults, one connection at a time", async () => {
  const report = await runSoak({
    seed: 11,
    historicalEvents: 4_000,
    liveEvents: 1_500,
    meanFramesPerConnection: 8,
    idleTimeoutMs: 100,
    chaos: true,
  });
  console.log(soakLine(report), JSON.stringify(report.faultKinds));
  assert.ok(report.events >= 5_000, `${report.events} events`);
  assert.ok(report.faults >= 300, `${report.faults} faults`);
  for (
    const kind of [
      "status",
      "cut",
      "stall",
      "error-event",
      "max-age",
      "interleave",
      "trickle",
    ]
  ) {
    assert.ok(report.faultKinds[kind] > 0, `no ${kind} fault was scheduled`);
  }
  assert.deepEqual(
    {
      lost: report.lost,
      duplicated: report.duplicated,
      unexpected: report.unexpected,
      max: report.maxConnections,
    },
    { lost: 0, duplicated: 0, unexpected: 0, max: 1 },
  );
});

Deno.test("the soak's fault schedule is seeded: the same seed gives the same faults", () => {
  const a = seededRandom(5);
  const b = seededRandom(5);
  const faults = (r: () => number) =>
    Array.from({ length: 50 }, () => randomFaults(r, 10));
  assert.deepEqual(faults(a), faults(b));
});

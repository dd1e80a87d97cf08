/**
 * `eventstreams demo`: the emulator run delivers exactly the emulator's log
 * through its scripted faults, and the accounting behind its summary line
 * can fail. In-process, the demo runs on a manual clock that the test moves
 * on in steps, so machine load cannot change which fault ends which
 * connection; the subprocess run (the README's command) uses real time.
 */
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { compareDeliveries, formatDeliverySummary } from "../src/cli/demo.ts";
import {
  DEMO_CANARY_EVERY,
  DEMO_CLIENT,
  DEMO_FAULTS,
  DEMO_RECENTCHANGE_COUNT,
  DEMO_SINCE,
  demoFaultsFor,
} from "../src/cli/demo_scenario.ts";
import { captureIo, runProcess } from "./_helpers.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

/** How far the test moves the demo's clock at a time: far below its 1 s idle timeout. */
const STEP_MS = 20;
/** Event-loop turns without output after which the demo is taken to wait on time. */
const QUIET_TURNS = 4;

/**
 * Runs `main(args)` on a manual clock. Time stands still while the demo
 * makes progress (writes output) and moves on by {@linkcode STEP_MS} only
 * after {@linkcode QUIET_TURNS} turns of the event loop without any: bytes
 * in flight on loopback are never overtaken by a timeout, however slow the
 * machine, and waits on time (a zombie, backoff, paced bytes, ages) pass
 * at once.
 */
async function onManualClock(
  args: string[],
): Promise<{ code: number; io: ReturnType<typeof captureIo> }> {
  const clock = new ManualClock(Date.parse("2026-12-02T12:00:00Z"));
  const io = captureIo(clock);
  let written = 0;
  const counted = (output: typeof io.out) => ({
    write: (bytes: Uint8Array) => {
      written += bytes.length;
      return output.write(bytes);
    },
    writeSync: (bytes: Uint8Array) => {
      written += bytes.length;
      return output.writeSync(bytes);
    },
    isTerminal: () => false,
  });
  io.stdout = counted(io.out);
  io.stderr = counted(io.err);
  let done = false;
  const run = main(args, io).finally(() => done = true);
  let seen = -1;
  let quiet = 0;
  while (!done) {
    if (written !== seen) {
      seen = written;
      quiet = 0;
    } else if (++quiet >= QUIET_TURNS) {
      quiet = 0;
      await clock.tick(STEP_MS);
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // One turn of the event loop.
  }
  return { code: await run, io };
}

const FIXTURES = new URL("../fixtures/", import.meta.url);
const SUMMARY =
  /^(\d+) events delivered, 0 lost, 0 duplicated, (\d+) reconnects$/;

/**
 * The events the demo must deliver, counted without the emulator: the real
 * capture's message frames at or after `since` (read straight from the
 * .sse file), plus the generated recent changes that are not canaries
 * (every DEMO_CANARY_EVERY-th generated event is one).
 */
async function expectedCount(): Promise<{ pageChange: number; total: number }> {
  const capture = await Deno.readTextFile(
    new URL("page_change_v1.2026-09-27.sse", FIXTURES),
  );
  const since = Date.parse(DEMO_SINCE);
  let pageChange = 0;
  for (const block of capture.split("\n\n")) {
    const data = block.split("\n").find((line) => line.startsWith("data: "));
    if (!block.includes("event: message") || data === undefined) continue;
    const event = JSON.parse(data.slice(6));
    if (Date.parse(event.meta.dt) >= since) pageChange++;
  }
  const recentChange = DEMO_RECENTCHANGE_COUNT -
    Math.floor(DEMO_RECENTCHANGE_COUNT / DEMO_CANARY_EVERY);
  return { pageChange, total: pageChange + recentChange };
}

/** The fault notes the demo prints on stderr, one per scripted fault. */
const FAULT_NOTES = [
  /^\[fault\] +connection 1 cut mid-frame after 60 events: .*resuming from the offset-pinned cursor in \d+ ms$/m,
  /^\[fault\] +connection 2: no bytes for 1 s after 10 events: zombie connection aborted by the idle watchdog; .*$/m,
  /^\[fault\] +connection 3: 429 Too Many Concurrent Connections: backing off \d+ ms$/m,
  /^\[fault\] +connection 4 cut by the edge at [\d.]+ s of age .*\(the 15-minute cut, compressed\); .*$/m,
];

function summaryOf(stderr: string): RegExpMatchArray {
  const lines = stderr.trimEnd().split("\n");
  const last = lines.at(-1)!;
  const match = last.match(SUMMARY);
  assert.ok(match, `last stderr line is not a clean summary: '${last}'`);
  return match;
}

Deno.test("demo: delivers every event of the emulator's log exactly once through a mid-frame cut, a zombie, a 429 and the edge cut", async () => {
  const { pageChange, total } = await expectedCount();
  assert.equal(pageChange, 169); // The whole real capture.
  const { code, io } = await onManualClock(["demo"]);

  const stderr = io.err.text;
  assert.equal(code, 0, stderr);
  const [, delivered, reconnects] = summaryOf(stderr);
  assert.equal(Number(delivered), total);
  assert.ok(
    Number(reconnects) >= DEMO_FAULTS.length,
    `expected at least ${DEMO_FAULTS.length} reconnects, got ${reconnects}`,
  );
  for (const note of FAULT_NOTES) assert.match(stderr, note);
  assert.match(
    stderr,
    /^ {2}emulator {2}http:\/\/127\.0\.0\.1:\d+, serving the repository's fixtures/m,
  );

  // stdout: one NDJSON event per line, each position once, no canary, both streams.
  const lines = io.out.text.split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, total);
  const positions = new Set<string>();
  const streams = new Set<string>();
  for (const line of lines) {
    const { meta } = JSON.parse(line);
    assert.notEqual(meta.domain, "canary");
    positions.add(`${meta.topic}/${meta.partition}@${meta.offset}`);
    streams.add(meta.stream);
  }
  assert.equal(positions.size, total);
  assert.deepEqual([...streams].sort(), [
    "mediawiki.page_change.v1",
    "mediawiki.recentchange",
  ]);

  // stderr: notes only, never event data.
  assert.doesNotMatch(stderr, /"meta"|^\{/m);
  assert.ok(
    !stderr.includes("\x1b["),
    "no colours when stderr is not a terminal",
  );
});

Deno.test("demo (subprocess): deno task demo --quiet exits 0 with the summary as its last line and no event on stdout", async () => {
  const { total } = await expectedCount();
  // The task itself, as README.md runs it (its permissions included).
  const { code, stdout, stderr } = await runProcess(
    Deno.execPath(),
    ["task", "--quiet", "demo", "--quiet"],
    { env: { NO_COLOR: "1" }, cwd: new URL("..", import.meta.url) },
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, "");
  const [, delivered, reconnects] = summaryOf(stderr);
  assert.equal(Number(delivered), total);
  assert.ok(Number(reconnects) >= DEMO_FAULTS.length);
  for (const note of FAULT_NOTES) assert.match(stderr, note);
});

Deno.test("demo: each scripted fault comes before the client's own limits, whatever the machine's load: only connections meant to age are paced", () => {
  const pause = (index: number): number => {
    const trickle = demoFaultsFor(index).find((f) => f.kind === "trickle");
    return trickle?.kind === "trickle" ? trickle.delayMs ?? 0 : 0;
  };
  DEMO_FAULTS.forEach(({ fault }, index) => {
    const faults = demoFaultsFor(index);
    assert.deepEqual(faults.at(-1), fault, `connection ${index + 1}`);
    assert.ok(faults.some((f) => f.kind === "interleave"));
    switch (fault.kind) {
      case "cut":
      case "stall":
      case "status":
        // Paced, 60 frames could outlast maxConnectionMs on a loaded machine (and 10 frames
        // plus the idle timeout too): the client would reconnect for its own reason first.
        assert.equal(pause(index), 0, `connection ${index + 1} is not paced`);
        break;
      case "max-age":
        // The edge's cut must come before the client's own reconnect, on a stream still busy.
        assert.ok(pause(index) > 0);
        assert.ok(fault.ms < DEMO_CLIENT.maxConnectionMs);
        break;
      default:
        assert.fail(`unexpected scripted fault ${fault.kind}`);
    }
  });
  assert.ok(DEMO_CLIENT.idleTimeoutMs < DEMO_CLIENT.maxConnectionMs);
  // After the script: paced, so maxConnectionMs ends a connection too.
  assert.ok(pause(DEMO_FAULTS.length) > 0);
});

Deno.test("demo: the loss accounting reports a skipped event as lost, a repeated one as duplicated, and one after a stop as not reached", () => {
  const at = (offset: number) => ({
    topic: "eqiad.mediawiki.recentchange",
    partition: 0,
    offset,
  });
  const expected = [at(10), at(11), at(12), at(13)];
  // 11 never arrives; 12 arrives twice (a resume from a timestamp would do both).
  const report = compareDeliveries(expected, [at(10), at(12), at(12), at(13)]);
  assert.deepEqual(report.lost, [at(11)]);
  assert.deepEqual(report.undelivered, []);
  assert.deepEqual(report.duplicated, [at(12)]);
  assert.deepEqual(report.unexpected, []);

  // A run stopped early (Ctrl-C) has not lost what it never reached.
  const stopped = compareDeliveries(expected, [at(10), at(11)]);
  assert.deepEqual(stopped.lost, []);
  assert.deepEqual(stopped.undelivered, [at(12), at(13)]);
  const skipped = compareDeliveries(expected, [at(10), at(12)]);
  assert.deepEqual(skipped.lost, [at(11)]);
  assert.deepEqual(skipped.undelivered, [at(13)]);
  assert.equal(
    formatDeliverySummary(report, 3),
    "4 events delivered, 1 lost, 1 duplicated, 3 reconnects",
  );
  assert.doesNotMatch(formatDeliverySummary(report, 3), SUMMARY);

  // The same offset in another partition or topic is another event.
  const other = compareDeliveries(expected, [
    ...expected,
    { ...at(10), partition: 1 },
    { ...at(10), topic: "codfw.mediawiki.recentchange" },
  ]);
  assert.equal(other.lost.length, 0);
  assert.equal(other.duplicated.length, 0);
  assert.equal(other.unexpected.length, 2);

  const clean = compareDeliveries(expected, expected);
  assert.match(formatDeliverySummary(clean, 0), SUMMARY);
});

Deno.test("demo: bad options exit 2 with a message saying what to do", async () => {
  const table: [string[], RegExp][] = [
    [["demo", "--seed", "x"], /Invalid --seed 'x': expected a whole number/],
    [
      ["demo", "--max", "5"],
      /Option '--max' applies to 'eventstreams demo --live' only/,
    ],
    [
      ["demo", "recentchange"],
      /Unexpected argument 'recentchange'.*eventstreams tail recentchange/,
    ],
    [["demo", "--bogus"], /Unknown option '--bogus' for 'eventstreams demo'/],
    [
      ["demo", "--live", "--seed", "2"],
      /Option '--seed' applies to the emulator run only/,
    ],
    // --live without a User-Agent fails before any request (no network in tests).
    [["demo", "--live"], /Missing user agent/],
  ];
  for (const [args, message] of table) {
    const io = captureIo();
    assert.equal(await main(args, io), 2, args.join(" "));
    assert.match(io.err.text, message, args.join(" "));
  }
});

Deno.test("demo: --help shows usage, the faults, the summary line and examples", async () => {
  const io = captureIo();
  assert.equal(await main(["demo", "--help"], io), 0);
  assert.match(io.out.text, /^Usage:$/m);
  assert.match(
    io.out.text,
    /N events delivered, 0 lost, 0 duplicated, K reconnects/,
  );
  assert.match(io.out.text, /^Examples:$/m);
  assert.match(io.out.text, /^Exit codes: 0 /m);
  assert.equal(io.err.text, "");
});

/**
 * Crash test of the file checkpoint: a real `eventstreams tail --checkpoint`
 * process is SIGKILLed again and again mid-stream, at seeded points, and
 * restarted from its checkpoint until it has printed every event.
 */
import assert from "node:assert/strict";
import { FileCheckpointStore } from "../src/checkpoint/file_store.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import { seededRandom } from "../src/testing/random.ts";
import { runProcess, spawnCli } from "./_helpers.ts";

const UA =
  "eventstreams-kill-test/0.1 (https://example.org/eventstreams-kill-test)";
const EVENTS = 2000;
/** The kill test's --checkpoint-every: what `tail --help` promises a hard kill repeats at most. */
const EVERY = 100;
const SEED = 20260927;

/** Splits a byte stream into lines; the last unterminated piece is yielded too. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    let start = 0;
    while ((newline = buffered.indexOf("\n", start)) >= 0) {
      yield buffered.slice(start, newline);
      start = newline + 1;
    }
    buffered = buffered.slice(start);
  }
  buffered += decoder.decode();
  if (buffered !== "") yield buffered;
}

interface Position {
  topic: string;
  partition: number;
  offset: number;
}
const key = (p: Position): string => `${p.topic}/${p.partition}@${p.offset}`;

/** The offset entries of a cursor: topic/partition -> next offset to deliver. */
function offsetsOf(cursor: string | undefined): Map<string, number> {
  const map = new Map<string, number>();
  if (cursor === undefined) return map;
  for (const entry of JSON.parse(cursor) as Record<string, unknown>[]) {
    if (typeof entry.offset === "number" && entry.offset >= 0) {
      map.set(`${entry.topic}/${entry.partition}`, entry.offset);
    }
  }
  return map;
}
const covers = (offsets: Map<string, number>, p: Position): boolean =>
  p.offset < (offsets.get(`${p.topic}/${p.partition}`) ?? -Infinity);

/** Resolves once `done()` holds, checking again on each change in `dir` (no polling). */
async function untilChanged(
  dir: string,
  done: () => Promise<boolean>,
): Promise<void> {
  using watcher = Deno.watchFs(dir);
  if (await done()) return;
  for await (const _ of watcher) if (await done()) return;
}

Deno.test(
  "file checkpoint survives repeated SIGKILL mid-stream: at-least-once, no event lost, " +
    "a kill repeats only events printed after the last save (at most --checkpoint-every), " +
    "and a quiet stream's last events are saved by the interval timer",
  async () => {
    // Both datacenter topics carry events, so the cursor has two live entries.
    const streams = generateStreams({
      seed: SEED,
      counts: { "mediawiki.recentchange": EVENTS },
      codfwShare: 0.3,
    });
    const all = streams.select("recentchange").flatMap((slice) =>
      slice.messages.map((m) => ({
        topic: slice.topic,
        partition: slice.partition,
        offset: m.offset,
      }))
    );
    assert.equal(all.length, EVENTS);
    const since = new Date(
      Math.min(
        ...streams.logs.flatMap((l) => l.messages.map((m) => m.timestamp)),
      ),
    )
      .toISOString();

    // No per-IP limit: a killed consumer's socket may still count on the server side.
    await using emulator = serveEmulator({ streams, maxConnectionsPerIp: 0 });
    const dir = await Deno.makeTempDir({ prefix: "kill_test_" });
    const checkpoint = `${dir}/rc.cursor`;
    const random = seededRandom(SEED);
    const delivered = new Map<string, number>(); // key -> times printed
    const windows: string[] = []; // events printed but not covered by the checkpoint at a kill
    let kills = 0;
    let previous = new Map<string, number>();
    try {
      for (let run = 0; run < 100; run++) {
        const killAfter = 40 + Math.floor(random() * 400);
        const { child, stderr } = spawnCli([
          "tail",
          "recentchange",
          "--since",
          since,
          "--checkpoint",
          checkpoint,
          "--checkpoint-every",
          String(EVERY),
          "--format",
          "ndjson",
          "--no-status",
          "--base-url",
          emulator.url,
          "--user-agent",
          UA,
        ]);
        const printed: Position[] = [];
        let signal: "SIGKILL" | undefined;
        let final = false;
        for await (const line of lines(child.stdout)) {
          const meta = JSON.parse(line).meta as Position;
          const position = {
            topic: meta.topic,
            partition: meta.partition,
            offset: meta.offset,
          };
          printed.push(position);
          delivered.set(key(position), (delivered.get(key(position)) ?? 0) + 1);
          if (signal !== undefined) continue; // Drain what the process wrote before it died.
          if (delivered.size === EVENTS) {
            // Everything printed; the stream is quiet now. No event comes to trigger a save:
            // the interval's timer must save the last ones (within a second), then kill.
            final = true;
            await untilChanged(dir, async () => {
              const saved = offsetsOf(
                await new FileCheckpointStore(checkpoint).load(),
              );
              return all.every((p) => covers(saved, p));
            });
          }
          if (final || printed.length === killAfter) {
            signal = "SIGKILL";
            child.kill(signal);
          }
        }
        const status = await child.status;
        const errors = await stderr;

        // The checkpoint file always holds a complete cursor (old or new), never a torn one.
        const saved = offsetsOf(
          await new FileCheckpointStore(checkpoint).load(),
        );
        for (const [partition, offset] of previous) {
          assert.ok(
            (saved.get(partition) ?? -1) >= offset,
            `checkpoint of ${partition} went backwards`,
          );
        }
        previous = saved;
        // Nothing the checkpoint covers is unprinted: no loss.
        for (const position of all) {
          if (covers(saved, position)) {
            assert.ok(delivered.has(key(position)), `lost ${key(position)}`);
          }
        }
        const window = printed.filter((p) => !covers(saved, p));

        kills++;
        assert.equal(status.signal, "SIGKILL", errors);
        // The unsaved events are the last ones printed, at most --checkpoint-every of them.
        assert.ok(
          window.length <= EVERY,
          `run ${run}: ${window.length} unsaved events: ${window.map(key)}`,
        );
        assert.deepEqual(
          window.map(key),
          printed.slice(printed.length - window.length).map(key),
          `run ${run}: the unsaved events are not the last printed`,
        );
        windows.push(...window.map(key));
        if (final) {
          // The timer saved past every event: the last kill repeats nothing.
          assert.deepEqual(window, []);
          break;
        }
      }

      assert.ok(
        kills >= 5,
        `only ${kills} kills: the stream should outlast several kill points`,
      );
      // At least once: every event was printed.
      assert.deepEqual(all.filter((p) => !delivered.has(key(p))).map(key), []);
      // Duplicates only from the unsaved windows, each re-delivered exactly once.
      const duplicates = [...delivered].flatMap(([k, n]) =>
        Array(n - 1).fill(k)
      ).sort();
      assert.deepEqual(duplicates, [...windows].sort());
      console.log(
        `${kills} SIGKILL/restart cycles; ${EVENTS} events, ${duplicates.length} re-delivered`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "file checkpoint with the documented pattern (print, then save): a SIGKILL between print and save " +
    "re-delivers exactly that event, a SIGKILL after the save re-delivers nothing (at-least-once)",
  async () => {
    const streams = generateStreams({
      seed: SEED + 1,
      counts: { "mediawiki.recentchange": 1000 },
      codfwShare: 0,
    });
    const offsets = streams.log("eqiad.mediawiki.recentchange")!.messages.map((
      m,
    ) => m.offset);
    const since = new Date(
      streams.log("eqiad.mediawiki.recentchange")!.messages[0].timestamp,
    ).toISOString();
    await using emulator = serveEmulator({ streams, maxConnectionsPerIp: 0 });
    const dir = await Deno.makeTempDir({ prefix: "kill_test_" });
    const checkpoint = `${dir}/rc.cursor`;
    const consumer =
      new URL("./fixtures_kill_consumer.ts", import.meta.url).pathname;
    const random = seededRandom(SEED + 1);
    const delivered: number[] = [];
    const counts = { print: 0, save: 0 };
    try {
      for (let run = 0; run < 100; run++) {
        const remaining = offsets.length - new Set(delivered).size;
        const killAfter = Math.min(remaining, 30 + Math.floor(random() * 120));
        // The last run gets no kill: it stops after saving the last event.
        const phase = killAfter === remaining
          ? "none"
          : random() < 0.5
          ? "print"
          : "save";
        const output = await runProcess(Deno.execPath(), [
          "run",
          "--allow-net=127.0.0.1",
          "--allow-read",
          "--allow-write",
          "--allow-run",
          consumer,
          emulator.url,
          since,
          checkpoint,
          String(phase === "none" ? 0 : killAfter),
          phase,
          String(offsets.at(-1)),
        ]);
        const stderr = output.stderr;
        const printed = output.stdout.trimEnd().split("\n").map((line) =>
          Number(line.split(" ")[2])
        );
        const before = delivered.at(-1);
        delivered.push(...printed);
        if (phase === "none") {
          assert.equal(output.code, 0, stderr);
          break;
        }
        assert.equal(output.signal, "SIGKILL", stderr);
        assert.equal(printed.length, killAfter);
        counts[phase]++;
        // Where the next run starts: right after the last saved event.
        const saved =
          JSON.parse((await new FileCheckpointStore(checkpoint).load())!)[0]
            .offset;
        const lastPrinted = printed.at(-1)!;
        assert.equal(
          saved,
          phase === "print"
            ? lastPrinted
            : offsets[offsets.indexOf(lastPrinted) + 1],
          `run ${run} (${phase}) after ${before}`,
        );
      }
      assert.ok(counts.print >= 2 && counts.save >= 2, JSON.stringify(counts));
      // Every event at least once, in order; each kill between print and save repeats exactly one event.
      assert.deepEqual([...new Set(delivered)], offsets);
      assert.equal(delivered.length - offsets.length, counts.print);
      console.log(
        `${counts.print} kills between print and save, ${counts.save} after save; ` +
          `${delivered.length - offsets.length} events re-delivered`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

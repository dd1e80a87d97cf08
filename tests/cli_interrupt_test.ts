/**
 * Ctrl-C and SIGTERM the way a terminal delivers them: `deno task cli tail`
 * runs in its own process group (`setsid`), and the signal goes to the whole
 * group, so the CLI gets it from the terminal and again from `deno task`,
 * which forwards it. Whatever the count, the CLI saves the position of the
 * last event it printed and exits 0.
 */
import assert from "node:assert/strict";
import { Cursor } from "../src/cursor.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";

const UA = "eventstreams-test/0.1 (https://example.org/eventstreams-test)";
const EVENTS = 5_000;
const REPO = new URL("..", import.meta.url);

/** Whether `setsid` (util-linux) is there to start a process group. */
function hasSetsid(): boolean {
  try {
    new Deno.Command("setsid", { args: ["--version"], stdout: "null" })
      .outputSync();
    return true;
  } catch {
    return false;
  }
}

const SKIP = Deno.build.os === "windows"
  ? "no process groups on Windows"
  : hasSetsid()
  ? undefined
  : "setsid (util-linux) is not installed";
if (SKIP !== undefined) {
  console.warn(`cli_interrupt_test.ts: skipping the signal tests: ${SKIP}`);
}

/** A terminal's way to stop a job: one signal to every process of its group. */
type Delivery = { signal: Deno.Signal; times: number };

async function interruptTail(delivery: Delivery): Promise<void> {
  const streams = generateStreams({
    seed: 7,
    counts: { "mediawiki.recentchange": EVENTS },
    codfwShare: 0,
  });
  const log = streams.log("eqiad.mediawiki.recentchange")!;
  const since = new Date(log.messages[0].timestamp).toISOString();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  try {
    const checkpoint = `${dir}/rc.cursor`;
    // setsid makes the task the leader of a new process group: its pid is the group's id.
    const child = new Deno.Command("setsid", {
      args: [
        Deno.execPath(),
        "task",
        "--quiet",
        "cli",
        "tail",
        "recentchange",
        "--since",
        since,
        "--checkpoint",
        checkpoint,
        "--format",
        "ndjson",
        "--base-url",
        emulator.url,
        "--user-agent",
        UA,
      ],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const lines: string[] = [];
    let pending = "";
    let sent = false;
    const decoder = new TextDecoder();
    // Stdout is a pipe: while the test does not read, the CLI waits on its writes, mid catch-up.
    for await (const chunk of child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      const parts = pending.split("\n");
      pending = parts.pop()!;
      lines.push(...parts);
      if (!sent && lines.length >= 200) {
        sent = true;
        for (let i = 0; i < delivery.times; i++) {
          Deno.kill(-child.pid, delivery.signal);
        }
      }
    }
    const status = await child.status;
    const errors = await stderr;
    assert.ok(sent, `the CLI ended before the signal: ${errors}`);
    assert.equal(pending, "", "the last line is complete");
    assert.equal(status.code, 0, `exit ${status.code}: ${errors}`);
    assert.equal(errors, "");
    assert.ok(lines.length < EVENTS, "stopped mid catch-up");
    const last = JSON.parse(lines.at(-1)!).meta;
    const saved = Cursor.parse(await Deno.readTextFile(checkpoint)).entries;
    assert.deepEqual(saved.find((e) => e.topic === last.topic), {
      topic: last.topic,
      partition: last.partition,
      offset: last.offset + 1,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (
  const [name, delivery] of [
    ["Ctrl-C (SIGINT to the process group)", { signal: "SIGINT", times: 1 }],
    ["Ctrl-C twice in quick succession", { signal: "SIGINT", times: 2 }],
    ["SIGTERM to the process group", { signal: "SIGTERM", times: 1 }],
  ] as [string, Delivery][]
) {
  Deno.test({
    name:
      `tail under deno task: ${name} saves the last printed event's position and exits 0`,
    ignore: SKIP !== undefined,
    fn: () => interruptTail(delivery),
  });
}

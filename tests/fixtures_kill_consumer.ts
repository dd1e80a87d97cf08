/**
 * Child process of tests/file_store_kill_test.ts: the documented checkpoint
 * pattern (load, resume, print, save) that kills itself with SIGKILL at an
 * exact point of that pattern.
 *
 * Usage: deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-run \
 *   tests/fixtures_kill_consumer.ts <baseUrl> <since> <checkpoint> <killAfter> <print|save> <lastOffset>
 *
 * Prints `topic partition offset` per event. With `print`, it dies after
 * printing event number `killAfter` (of this run) and before saving it; with
 * `save`, right after that save completed. It exits 0 once it has saved the
 * event at `lastOffset` (`killAfter` 0: never dies).
 */
import { eventStream } from "../src/client.ts";
import { FileCheckpointStore } from "../src/checkpoint/file_store.ts";

const [baseUrl, since, path, killAfterText, phase, lastOffsetText] = Deno.args;
const killAfter = Number(killAfterText);
const lastOffset = Number(lastOffsetText);
const store = new FileCheckpointStore(path);
const cursor = await store.load();
const stream = eventStream("recentchange", {
  userAgent:
    "eventstreams-kill-test/0.1 (https://example.org/eventstreams-kill-test)",
  baseUrl,
  cursor,
  since: cursor === undefined ? since : undefined,
});
const encoder = new TextEncoder();
let count = 0;
for await (const event of stream) {
  const { topic, partition, offset } = event.meta;
  const line = encoder.encode(`${topic} ${partition} ${offset}\n`);
  for (let written = 0; written < line.length;) {
    written += await Deno.stdout.write(line.subarray(written));
  }
  count++;
  if (phase === "print" && count === killAfter) Deno.kill(Deno.pid, "SIGKILL");
  await store.save(stream.cursor);
  if (phase === "save" && count === killAfter) Deno.kill(Deno.pid, "SIGKILL");
  if (offset === lastOffset) break;
}
await stream.close();

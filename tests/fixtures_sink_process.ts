/**
 * A sink replica for the kill and failover tests: consumes recentchange from
 * the emulator at `Deno.args[0]` into the table `Deno.args[2]` of the
 * database `Deno.args[1]` (with the lease when `Deno.args[3]` is "lease"),
 * and prints one JSON line per committed batch and per role change, so the
 * test waits on what it reads, never on time.
 */
import { eventStream } from "../src/client.ts";
import { PostgresSink, runSink } from "../src/sink/postgres.ts";

const [baseUrl, url, table, mode] = Deno.args;
const encoder = new TextEncoder();
const say = (value: unknown) =>
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));
await using sink = await PostgresSink.connect({
  url,
  table,
  lease: mode === "lease",
});
await runSink(sink, {
  open: (cursor) =>
    eventStream("recentchange", {
      baseUrl,
      userAgent: "eventstreams-sink-test/0.1 (https://example.org/sink-test)",
      since: "2020-01-01T00:00:00Z",
      cursor,
      backoff: { initialMs: 50, maxMs: 200, throttledFloorMs: 50 },
    }),
  batchSize: 25,
  batchMs: 50,
  standbyRetryMs: 100,
  onBatch: (info) => say({ batch: info.events, cursor: info.cursor }),
  onState: (state) => say({ state }),
});

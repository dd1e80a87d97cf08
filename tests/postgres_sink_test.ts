/**
 * The PostgreSQL sink against a real cluster (started by the test in a
 * temporary directory) and the emulator as upstream: idempotent batches,
 * restart from the stored cursor, hard kills during live production, the
 * leader lease and its fencing, and a database outage.
 */
import assert from "node:assert/strict";
import { type EventStream, eventStream } from "../src/client.ts";
import type { EventStreamsEvent } from "../src/types.ts";
import {
  PostgresSink,
  redactDatabaseUrl,
  runSink,
  SinkLeaseLostError,
} from "../src/sink/postgres.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import type { Emulator } from "../src/testing/emulator/server.ts";
import { seededRandom } from "../src/testing/random.ts";
import { POSTGRES_SKIP, TestPostgres } from "./_postgres.ts";

const UA = "eventstreams-sink-test/0.1 (https://example.org/sink-test)";
const ignore = POSTGRES_SKIP !== undefined;
const EMPTY = { counts: { "mediawiki.recentchange": 0 } };

/** `topic/partition@offset` of every non-canary recentchange message the emulator holds. */
function expectedKeys(emulator: Emulator): string[] {
  return emulator.streams.select("recentchange").flatMap((slice) =>
    slice.messages.filter((m) => !m.data.includes('"domain":"canary"')).map(
      (m) => `${slice.topic}/${slice.partition}@${m.offset}`,
    )
  ).sort();
}

/**
 * Whether `cursor` (a KafkaSSE id) resumes past every non-canary message the
 * emulator produced (canaries after the last one are covered by a later batch).
 */
function coversAll(emulator: Emulator, cursor: string): boolean {
  const positions = JSON.parse(cursor) as {
    topic: string;
    partition: number;
    offset?: number;
  }[];
  return emulator.streams.select("recentchange").every((slice) => {
    const last = slice.messages.findLast((m) =>
      !m.data.includes('"domain":"canary"')
    );
    if (last === undefined) return true;
    const at = positions.find((p) =>
      p.topic === slice.topic && p.partition === slice.partition
    );
    return at?.offset !== undefined && at.offset > last.offset;
  });
}

/** `topic/partition@offset` of every row, with duplicates impossible by the key: also counts rows. */
async function tableKeys(pg: TestPostgres, table: string): Promise<string[]> {
  const text = await pg.psql(
    `select topic || '/' || partition || '@' || "offset" from ${table} order by 1`,
  );
  return text === "" ? [] : text.split("\n").sort();
}

function open(
  emulator: Emulator,
  opened: EventStream<EventStreamsEvent>[] = [],
  cursors: (string | undefined)[] = [],
): (cursor: string | undefined) => EventStream<EventStreamsEvent> {
  return (cursor) => {
    cursors.push(cursor);
    const stream = eventStream("recentchange", {
      baseUrl: emulator.url,
      userAgent: UA,
      since: "2020-01-01T00:00:00Z",
      cursor,
      backoff: { initialMs: 20, maxMs: 100, throttledFloorMs: 20 },
    }) as EventStream<EventStreamsEvent>;
    opened.push(stream);
    return stream;
  };
}

/** Reads a child's stdout as JSON lines. */
async function* jsonLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<Record<string, unknown>> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      yield JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
}

function spawnReplica(
  emulator: Emulator,
  pg: TestPostgres,
  table: string,
  lease: boolean,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      new URL("./fixtures_sink_process.ts", import.meta.url).pathname,
      emulator.url,
      pg.url,
      table,
      lease ? "lease" : "solo",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

const recentChange = (offset: number): EventStreamsEvent => ({
  meta: {
    topic: "eqiad.mediawiki.recentchange",
    partition: 0,
    offset,
    dt: "2026-12-02T12:00:00Z",
    stream: "mediawiki.recentchange",
  } as EventStreamsEvent["meta"],
  wiki: "enwiki",
});

Deno.test({
  name:
    "postgres sink: a replayed or overlapping batch inserts nothing twice; the cursor row moves with it",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using sink = await PostgresSink.connect({
      url: pg.url,
      table: "events",
    });
    assert.equal(await sink.readCursor(), undefined);
    const batch = [recentChange(1), recentChange(2)];
    await sink.writeBatch(batch, "[1]");
    await sink.writeBatch(batch, "[2]");
    await sink.writeBatch([recentChange(2), recentChange(3)], "[3]");
    assert.equal(
      await pg.psql(
        `select string_agg("offset"::text || wiki, ',' order by "offset") from events`,
      ),
      "1enwiki,2enwiki,3enwiki",
    );
    assert.equal(await sink.readCursor(), "[3]");
  },
});

Deno.test({
  name:
    "postgres sink: refuses a bad URL or table name, and never shows the password",
  ignore,
  async fn() {
    await assert.rejects(
      PostgresSink.connect({ url: "mysql://x", table: "events" }),
      TypeError,
    );
    await assert.rejects(
      PostgresSink.connect({
        url: "postgres://localhost/db",
        table: "ev; drop",
      }),
      /Cannot use the table name 'ev; drop'/,
    );
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const error = await PostgresSink.connect({
      url: `postgres://me:hunter2secret@127.0.0.1:${port}/db`,
      table: "events",
      connectTimeoutSeconds: 2,
    }).then(() => undefined, (e: Error) => e);
    assert.ok(error instanceof Error);
    assert.match(
      error.message,
      new RegExp(`^PostgreSQL at postgres://127.0.0.1:${port}/db: `),
    );
    assert.doesNotMatch(String(error.stack), /hunter2secret/);
    assert.equal(
      redactDatabaseUrl("postgresql://a:b@h/d?password=x"),
      "postgresql://h/d?password=REDACTED",
    );
  },
});

Deno.test({
  name:
    "postgres sink: a restart resumes from the cursor in the database, and the table holds each event once",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: EMPTY,
      maxConnectionsPerIp: 0,
    });
    emulator.produce("recentchange", 120);
    emulator.produce("recentchange", 3, { canary: true });
    const run = async (until: number) => {
      await using sink = await PostgresSink.connect({
        url: pg.url,
        table: "rc",
      });
      const stop = new AbortController();
      const cursors: (string | undefined)[] = [];
      await runSink(sink, {
        open: open(emulator, [], cursors),
        batchSize: 50,
        batchMs: 20,
        signal: stop.signal,
        onBatch: async () => {
          if ((await tableKeys(pg, "rc")).length >= until) stop.abort();
        },
      });
      return { cursors, stored: await sink.readCursor() };
    };
    const first = await run(120);
    assert.deepEqual(first.cursors, [undefined]);
    assert.deepEqual(await tableKeys(pg, "rc"), expectedKeys(emulator));
    emulator.produce("recentchange", 40);
    const second = await run(160);
    assert.deepEqual(second.cursors, [first.stored]);
    const last = emulator.connections.at(-1)!;
    assert.equal(last.headers["last-event-id"], first.stored);
    assert.deepEqual(await tableKeys(pg, "rc"), expectedKeys(emulator));
  },
});

Deno.test({
  name:
    "postgres sink: SIGKILLed again and again during live production, the table ends with exactly the emulator's non-canary events, once each",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: EMPTY,
      maxConnectionsPerIp: 0,
    });
    const random = seededRandom(13);
    const KILLS = Number(Deno.env.get("SINK_KILLS") ?? 5);
    let produced = 0;
    const produce = () => {
      emulator.produce("recentchange", 30);
      if (produced % 4 === 0) {
        emulator.produce("recentchange", 1, { canary: true });
      }
      produced++;
    };
    produce();
    for (let run = 0; run <= KILLS; run++) {
      if (run === KILLS) produce(); // Something left for the last run to write.
      const child = spawnReplica(emulator, pg, "rc", false);
      const killAfter = 1 + Math.floor(random() * 4);
      let batches = 0;
      let killed = false;
      for await (const line of jsonLines(child.stdout)) {
        if (line.batch === undefined || killed) continue; // Drain what it wrote before dying.
        batches++;
        if (run < KILLS) {
          produce(); // Live: new events arrive while the sink writes.
          if (batches === killAfter) {
            child.kill("SIGKILL");
            killed = true;
          }
        } else if (coversAll(emulator, String(line.cursor))) {
          // Past everything: a lost event fails the comparison below, never hangs.
          child.kill("SIGTERM");
          killed = true;
        }
      }
      const status = await child.status;
      if (run < KILLS) assert.equal(status.signal, "SIGKILL");
    }
    const keys = await tableKeys(pg, "rc");
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(keys, expectedKeys(emulator));
    console.log(
      `${KILLS} SIGKILLs, ${keys.length} events stored once each, ${emulator.connections.length} upstream connections`,
    );
  },
});

Deno.test({
  name:
    "postgres lease: one replica holds it; one whose session was ended cannot commit, and another takes over",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using a = await PostgresSink.connect({
      url: pg.url,
      table: "rc",
      lease: true,
    });
    await using b = await PostgresSink.connect({
      url: pg.url,
      table: "rc",
      lease: true,
    });
    assert.equal(await a.tryAcquireLease(), true);
    assert.equal(await b.tryAcquireLease(), false);
    await a.writeBatch([recentChange(1)], "[1]");
    // B never took the lease: fenced.
    await assert.rejects(
      b.writeBatch([recentChange(2)], "[2]"),
      SinkLeaseLostError,
    );
    // A's session ends (as when its connection drops; the timeout waits until the backend is
    // gone and its lock released); B takes the lease.
    const pid = await a.backendPid();
    assert.equal(
      await pg.psql(`select pg_terminate_backend(${pid}, 30000)`),
      "t",
    );
    assert.equal(await b.tryAcquireLease(), true);
    // A's driver reconnects on a new session that does not hold the lock: nothing commits.
    let lost: unknown;
    for (let attempt = 0; attempt < 3 && lost === undefined; attempt++) {
      await a.writeBatch([recentChange(3)], "[3]").catch((error) => {
        if (error instanceof SinkLeaseLostError) lost = error;
      });
    }
    assert.ok(
      lost instanceof SinkLeaseLostError,
      "a replica without the lease committed",
    );
    assert.match((lost as Error).message, /no longer holds the leader lease/);
    assert.equal(
      await pg.psql(`select string_agg("offset"::text, ',') from rc`),
      "1",
    );
    assert.equal(await a.readCursor(), "[1]");
    await b.writeBatch([recentChange(4)], "[4]");
    assert.equal(await b.readCursor(), "[4]");
  },
});

/** Whether the emulator ever had two stream connections open at once. */
function overlapping(emulator: Emulator): string[] {
  const logs = [...emulator.connections].filter((c) => c.status === 200).sort(
    (x, y) => x.startedAt - y.startedAt,
  );
  const problems: string[] = [];
  for (let i = 1; i < logs.length; i++) {
    const previous = logs[i - 1];
    if (previous.end === undefined || previous.end.at > logs[i].startedAt) {
      problems.push(
        `connection ${logs[i].index} opened at ${
          logs[i].startedAt
        } while ${previous.index} was open (ended ${previous.end?.at})`,
      );
    }
  }
  return problems;
}

Deno.test({
  name:
    "postgres lease: three replicas, the leader SIGKILLed repeatedly: one upstream connection at a time, 0 lost, 0 duplicated",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: EMPTY,
      maxConnectionsPerIp: 0,
    });
    const KILLS = Number(Deno.env.get("LEADER_KILLS") ?? 3);
    const random = seededRandom(7);
    emulator.produce("recentchange", 30);
    let kills = 0;
    let killedAt: number | undefined;
    const failovers: number[] = [];
    let finishing = false;
    let done: () => void;
    const finished = new Promise<void>((resolve) => done = resolve);
    const children = new Set<Deno.ChildProcess>();
    const replica = () => {
      const child = spawnReplica(emulator, pg, "rc", true);
      children.add(child);
      const reading = (async () => {
        let leader = false;
        let batches = 0;
        let killAfter = 1 + Math.floor(random() * 3);
        for await (const line of jsonLines(child.stdout)) {
          if (!children.has(child)) continue;
          if (line.state === "leader") {
            if (leader) continue;
            leader = true;
            if (killedAt !== undefined) failovers.push(Date.now() - killedAt);
            killedAt = undefined;
          }
          if (line.batch === undefined || !leader) continue;
          batches++;
          if (finishing) {
            // Done when the committed cursor is past everything produced (a
            // lost event then fails the comparison below instead of hanging).
            if (coversAll(emulator, String(line.cursor))) done();
            continue;
          }
          emulator.produce("recentchange", 20);
          if (batches >= killAfter) {
            kills++;
            killedAt = Date.now();
            children.delete(child);
            child.kill("SIGKILL");
            if (kills === KILLS) {
              finishing = true;
              emulator.produce("recentchange", 5);
            }
            replica(); // Keep three.
            killAfter = Infinity;
          }
        }
      })();
      reading.catch(() => {});
    };
    for (let i = 0; i < 3; i++) replica();
    await finished;
    for (const child of children) child.kill("SIGTERM");
    for (const child of children) {
      assert.equal((await child.status).signal, "SIGTERM"); // None crashed.
    }
    const keys = await tableKeys(pg, "rc");
    assert.deepEqual(keys, expectedKeys(emulator));
    assert.deepEqual(overlapping(emulator), []);
    failovers.sort((x, y) => x - y);
    console.log(
      `${KILLS} leader kills, ${keys.length} events, ${emulator.connections.length} upstream connections; failover ms: median ${
        failovers[Math.floor(failovers.length / 2)]
      }, max ${failovers.at(-1)}`,
    );
  },
});

/** A promise and its resolver, for waiting on a condition a callback reports. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => resolve = r);
  return { promise, resolve };
}

Deno.test({
  name:
    "postgres sink: the database stopped mid-stream and started again: the upstream is not read past one batch, closed after the bound, 0 lost",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: EMPTY,
      maxConnectionsPerIp: 0,
    });
    await using sink = await PostgresSink.connect({
      url: pg.url,
      table: "rc",
      connectTimeoutSeconds: 2,
    });
    const BATCH = 20;
    const opened: EventStream<EventStreamsEvent>[] = [];
    const cursors: (string | undefined)[] = [];
    let committed = 0;
    let failures = 0;
    let waitCommitted = { target: 50, ...signal() };
    let waitFailures = { target: 3, ...signal() };
    const backpressure = signal();
    const stop = new AbortController();
    const running = runSink(sink, {
      open: open(emulator, opened, cursors),
      batchSize: BATCH,
      batchMs: 20,
      closeUpstreamAfterMs: 300,
      retryInitialMs: 20,
      retryMaxMs: 100,
      signal: stop.signal,
      onBatch: (info) => {
        committed += info.events;
        if (committed >= waitCommitted.target) waitCommitted.resolve();
      },
      onState: (state) => {
        if (state === "backpressure") backpressure.resolve();
      },
      onError: () => {
        if (++failures >= waitFailures.target) waitFailures.resolve();
      },
    });
    emulator.produce("recentchange", 50);
    await waitCommitted.promise;
    const storedBefore = await sink.readCursor();
    await pg.stopServer();
    emulator.produce("recentchange", 100);
    await backpressure.promise;
    await emulator.waitForEnd(0); // The bound passed: the upstream was closed.
    // Still down, still retrying (SINK_OUTAGE_RETRIES=300 holds it about 30 s).
    const retries = Number(Deno.env.get("SINK_OUTAGE_RETRIES") ?? 3);
    waitFailures = { target: failures + retries, ...signal() };
    const downAt = Date.now();
    await waitFailures.promise;
    // Structural bound: what the stream handed over beyond the committed rows is one batch.
    assert.ok(
      opened[0].stats.events - committed <= BATCH,
      `read ${opened[0].stats.events} events with ${committed} committed`,
    );
    assert.equal(opened.length, 1); // Not reopened while the database is down.
    waitCommitted = { target: 150, ...signal() };
    await pg.startServer();
    const downMs = Date.now() - downAt;
    await waitCommitted.promise;
    stop.abort();
    await running;
    console.log(
      `database down ${downMs} ms after the upstream closed, ${failures} failed attempts, at most ${BATCH} events held`,
    );
    assert.deepEqual(await tableKeys(pg, "rc"), expectedKeys(emulator));
    assert.equal(cursors.length, 2);
    // Reopened from the cursor the database held once it was back.
    assert.notEqual(cursors[1], undefined);
    assert.notEqual(cursors[1], storedBefore);
    assert.equal(emulator.connections[1].headers["last-event-id"], cursors[1]);
  },
});

Deno.test({
  name:
    "postgres lease: a leader whose session ends while the stream is quiet closes its upstream before a new leader opens one",
  ignore,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: EMPTY,
      maxConnectionsPerIp: 0,
    });
    await using sink = await PostgresSink.connect({
      url: pg.url,
      table: "rc",
      lease: true,
    });
    let committed = 0;
    let waitCommitted = { target: 10, ...signal() };
    const lost = signal();
    const stop = new AbortController();
    const running = runSink(sink, {
      open: open(emulator),
      batchMs: 20,
      standbyRetryMs: 50,
      signal: stop.signal,
      onBatch: (info) => {
        committed += info.events;
        if (committed >= waitCommitted.target) waitCommitted.resolve();
      },
      onError: (error) => {
        if (error instanceof SinkLeaseLostError) lost.resolve();
      },
    });
    emulator.produce("recentchange", 10);
    await waitCommitted.promise;
    // Quiet stream, no batch in hand: only the lease check can notice.
    const pid = await sink.backendPid();
    assert.equal(
      await pg.psql(`select pg_terminate_backend(${pid}, 30000)`),
      "t",
    );
    await lost.promise;
    const first = await emulator.waitForEnd(0);
    const second = await emulator.waitForConnection(1); // The lock was free: it leads again.
    assert.ok(first.end!.at <= second.startedAt);
    waitCommitted = { target: 15, ...signal() };
    emulator.produce("recentchange", 5);
    await waitCommitted.promise;
    stop.abort();
    await running;
    assert.deepEqual(await tableKeys(pg, "rc"), expectedKeys(emulator));
  },
});

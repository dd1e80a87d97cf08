import assert from "node:assert/strict";
import {
  CheckpointConflictError,
  checkpointed,
  CheckpointError,
  FileCheckpointStore,
  KvCheckpointStore,
  MemoryCheckpointStore,
} from "../src/checkpoint/mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";

const cursorAt = (offset: number): string =>
  `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":${offset}},` +
  `{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]`;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("file store: load of a missing file gives undefined", async () => {
  await withTempDir(async (dir) => {
    const store = new FileCheckpointStore(`${dir}/cursor`);
    assert.equal(await store.load(), undefined);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("file store: save writes the cursor and a newline, and load returns it", async () => {
  await withTempDir(async (dir) => {
    const store = new FileCheckpointStore(`${dir}/cursor`);
    await store.save(cursorAt(5));
    assert.equal(await Deno.readTextFile(`${dir}/cursor`), cursorAt(5) + "\n");
    assert.equal(
      await new FileCheckpointStore(`${dir}/cursor`).load(),
      cursorAt(5),
    );
  });
});

Deno.test("file store: a file: URL names the same file as its path", async () => {
  await withTempDir(async (dir) => {
    const store = new FileCheckpointStore(
      new URL(`file://${dir}/url%20cursor`),
    );
    assert.equal(store.path, `${dir}/url cursor`);
    await store.save(cursorAt(1));
    assert.equal(
      await new FileCheckpointStore(`${dir}/url cursor`).load(),
      cursorAt(1),
    );
  });
});

Deno.test("file store: replaces the file atomically by rename and leaves no temporary file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cursor`;
    const store = new FileCheckpointStore(path);
    await store.save(cursorAt(1));
    // A reader that opened the old file keeps seeing the old, complete cursor:
    // the new content went into a new inode, the old one was never truncated.
    const reader = await Deno.open(path, { read: true });
    try {
      const before = (await Deno.stat(path)).ino;
      await store.save(cursorAt(2));
      const after = (await Deno.stat(path)).ino;
      if (before !== null && after !== null) assert.notEqual(after, before);
      const old = new Uint8Array(1024);
      const n = await reader.read(old);
      assert.equal(
        new TextDecoder().decode(old.subarray(0, n ?? 0)),
        cursorAt(1) + "\n",
      );
    } finally {
      reader.close();
    }
    assert.equal(await store.load(), cursorAt(2));
    assert.deepEqual(await listDir(dir), ["cursor"]);
  });
});

Deno.test("file store: a temporary file left by a killed save is overwritten by the next save", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cursor`;
    await Deno.writeTextFile(`${path}.tmp`, '[{"topic":"half-writ');
    const store = new FileCheckpointStore(path);
    assert.equal(await store.load(), undefined);
    await store.save(cursorAt(9));
    assert.equal(await store.load(), cursorAt(9));
    assert.deepEqual(await listDir(dir), ["cursor"]);
  });
});

Deno.test("file store: concurrent saves apply in call order", async () => {
  await withTempDir(async (dir) => {
    const store = new FileCheckpointStore(`${dir}/cursor`);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.save(cursorAt(i))),
    );
    await store.close();
    assert.equal(await store.load(), cursorAt(19));
    assert.deepEqual(await listDir(dir), ["cursor"]);
  });
});

Deno.test("file store: a corrupted file gives a CheckpointError naming the file and what to do", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cursor`;
    await Deno.writeTextFile(path, '[{"topic":"eqiad.mediawiki.rec');
    await assert.rejects(
      new FileCheckpointStore(path).load(),
      (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.equal(
          error.message,
          `Cannot load checkpoint from '${path}': expected a cursor (a non-empty JSON array), ` +
            `got '[{"topic":"eqiad.mediawiki.rec'; delete the file to start from --since or live, or restore a valid cursor`,
        );
        return true;
      },
    );
  });
});

Deno.test("file store: an empty file is corrupted, not missing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cursor`;
    await Deno.writeTextFile(path, "");
    await assert.rejects(
      new FileCheckpointStore(path).load(),
      CheckpointError,
      `Cannot load checkpoint from '${path}': expected a cursor (a non-empty JSON array), got ''`,
    );
  });
});

Deno.test("file store: saving an empty cursor is a TypeError", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(new FileCheckpointStore(`${dir}/cursor`).save(""), {
      name: "TypeError",
      message:
        "Cannot save checkpoint: expected a non-empty cursor string, got ''; save stream.cursor only after the stream has delivered an event",
    });
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("file store: saving into a missing directory gives a CheckpointError and leaves nothing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing/cursor`;
    await assert.rejects(
      new FileCheckpointStore(path).save(cursorAt(1)),
      (error: unknown) => {
        assert.ok(error instanceof CheckpointError);
        assert.match(
          error.message,
          new RegExp(
            `^Cannot save checkpoint to '${path}': .+; check that the directory exists and is writable$`,
          ),
        );
        return true;
      },
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("kv store: two consumers sharing a key cannot both advance it", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/kv.sqlite3`;
    const key = ["eventstreams", "checkpoint", "shared-bot"];
    const a = await KvCheckpointStore.open({ path, key });
    const b = await KvCheckpointStore.open({ path, key });
    try {
      assert.equal(await a.load(), undefined);
      assert.equal(await b.load(), undefined);
      await a.save(cursorAt(10));
      await assert.rejects(b.save(cursorAt(11)), (error: unknown) => {
        assert.ok(error instanceof CheckpointConflictError);
        assert.deepEqual(error.key, key);
        assert.equal(
          error.message,
          'Cannot save checkpoint under key ["eventstreams", "checkpoint", "shared-bot"]: another consumer advanced it ' +
            "since this store last read it (expected versionstamp none (key absent)); " +
            "run one consumer per key, or load() again and resume from the stored cursor",
        );
        return true;
      });
      // The loser wrote nothing; after reloading it sees the winner's cursor and may continue.
      assert.equal(await b.load(), cursorAt(10));
      await b.save(cursorAt(12));
      const stale = a.versionstamp;
      await assert.rejects(
        a.save(cursorAt(13)),
        CheckpointConflictError,
        `(expected versionstamp ${stale})`,
      );
      assert.equal(await a.load(), cursorAt(12));
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("kv store: a store that never loaded expects the key to be absent", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["cp"], cursorAt(1));
    const store = new KvCheckpointStore(kv, ["cp"]);
    await assert.rejects(store.save(cursorAt(2)), CheckpointConflictError);
    assert.equal((await kv.get(["cp"])).value, cursorAt(1));
  } finally {
    kv.close();
  }
});

Deno.test("kv store: stage commits processing results and the cursor in one transaction", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const store = new KvCheckpointStore(kv, ["cp"]);
    const rival = new KvCheckpointStore(kv, ["cp"]);
    await store.load();
    await rival.load();
    store.commitStaged(
      await store.stage(kv.atomic().sum(["count"], 1n), cursorAt(1)).commit(),
    );
    // The rival's transaction fails as a whole: its result is not written either.
    const result = await rival.stage(
      kv.atomic().sum(["count"], 1n),
      cursorAt(1),
    ).commit();
    assert.throws(() => rival.commitStaged(result), CheckpointConflictError);
    assert.equal((await kv.get<Deno.KvU64>(["count"])).value?.value, 1n);
    assert.equal(await store.load(), cursorAt(1));
  } finally {
    kv.close();
  }
});

Deno.test("kv store: a value that is not a cursor string gives a CheckpointError", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    await kv.set(["cp"], { offset: 3 });
    await assert.rejects(
      new KvCheckpointStore(kv, ["cp"]).load(),
      CheckpointError,
      'Cannot load checkpoint from key ["cp"]: expected a cursor string, got {"offset":3}; delete the key or use another one',
    );
  } finally {
    kv.close();
  }
});

Deno.test("kv store: an empty key is a TypeError and a closed store refuses to work", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    assert.throws(() => new KvCheckpointStore(kv, []), TypeError);
    const store = new KvCheckpointStore(kv, ["cp"]);
    await store.close();
    await assert.rejects(
      store.load(),
      CheckpointError,
      'Cannot use the checkpoint store for key ["cp"]: it is closed; open a new one',
    );
  } finally {
    kv.close();
  }
});

/** A stand-in EventStream: offsets from..to on one partition; its cursor follows handed-out events. */
function fakeStream(from: number, to: number) {
  let next = from;
  return {
    get cursor(): string {
      return next === from ? "" : cursorAt(next);
    },
    async *[Symbol.asyncIterator]() {
      while (next < to) {
        const offset = next++;
        yield { offset };
      }
    },
  };
}

Deno.test("checkpointed: saves after each processed event and at the end of the stream", async () => {
  const store = new MemoryCheckpointStore();
  const seen: string[] = [];
  for await (const event of checkpointed(fakeStream(0, 3), store)) {
    // The save for an event happens only after its processing: not yet for this one.
    seen.push(`${event.offset}:${await store.load()}`);
  }
  assert.deepEqual(seen, [
    `0:undefined`,
    `1:${cursorAt(1)}`,
    `2:${cursorAt(2)}`,
  ]);
  assert.equal(await store.load(), cursorAt(3));
  assert.equal(store.saves, 3);
});

Deno.test("checkpointed: an early exit keeps the last handed-out event unsaved (at-least-once)", async () => {
  const store = new MemoryCheckpointStore();
  await assert.rejects(async () => {
    for await (
      const event of checkpointed(fakeStream(0, 10), store, { every: 2 })
    ) {
      if (event.offset === 4) throw new Error("processing failed");
    }
  }, /processing failed/);
  // Events 0..3 were processed; 4 was not, so the resume point is offset 4.
  assert.equal(await store.load(), cursorAt(4));
});

Deno.test("checkpointed: every and intervalMs bound how many processed events a crash re-delivers", async () => {
  const clock = new ManualClock(0);
  const store = new MemoryCheckpointStore();
  const savesAt: number[] = [];
  for await (
    const event of checkpointed(fakeStream(0, 12), store, {
      every: 5,
      intervalMs: 1_000,
      clock,
    })
  ) {
    if (event.offset === 6) await clock.tick(1_000);
    savesAt.push(store.saves);
  }
  // Saves after event 4 (every 5); at 1 s, while event 6 is processed, by the timer (0..5
  // processed); after event 10 (5 since the timer's save); at the end (11 and the stream's end).
  assert.deepEqual(savesAt, [0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 3]);
  assert.equal(store.saves, 4);
  assert.equal(await store.load(), cursorAt(12));
});

/** A source that hands out `count` events, then waits for more until closed (a quiet live stream). */
function quietAfter(count: number) {
  let next = 0;
  let wake: () => void = () => {};
  let closed = false;
  return {
    get cursor(): string {
      return next === 0 ? "" : cursorAt(next);
    },
    closes: 0,
    close(): void {
      this.closes++;
      closed = true;
      wake();
    },
    async *[Symbol.asyncIterator]() {
      while (next < count) yield { offset: next++ };
      await new Promise<void>((resolve) => wake = resolve);
      if (!closed) throw new Error("woken without close");
    },
  };
}

Deno.test("checkpointed: with intervalMs alone, saves are coalesced to about one per interval however fast events come", async () => {
  // A clock that moves 1 ms per processed event (1,000 events a second); its timers never fire
  // here, as events keep coming.
  let now = 0;
  const clock = { now: () => now, setTimeout: () => () => {} };
  const store = new MemoryCheckpointStore();
  const savedAt: number[] = [];
  let saves = 0;
  for await (
    const _ of checkpointed(fakeStream(0, 5_000), store, {
      intervalMs: 1_000,
      clock,
    })
  ) {
    now++;
    if (store.saves > saves) savedAt.push(now);
    saves = store.saves;
  }
  // One save a second while events come (seen with the next event), and one at the end.
  assert.deepEqual(savedAt, [1_001, 2_001, 3_001, 4_001]);
  assert.equal(store.saves, 5);
  assert.equal(await store.load(), cursorAt(5_000));
});

Deno.test("checkpointed: on a quiet stream the timer saves the processed events within intervalMs, without a next event", async () => {
  const clock = new ManualClock(0);
  const store = new MemoryCheckpointStore();
  const source = quietAfter(3);
  const loop = (async () => {
    for await (
      const _ of checkpointed(source, store, { intervalMs: 1_000, clock })
    ) { /* print */ }
  })();
  await clock.waitForTimers();
  assert.equal(store.saves, 0);
  await clock.tick(999);
  assert.equal(store.saves, 0);
  await clock.tick(1);
  // All three were processed: the loop waits for a fourth that does not come.
  assert.equal(await store.load(), cursorAt(3));
  assert.equal(store.saves, 1);
  source.close();
  await loop;
  assert.equal(store.saves, 1); // Nothing new to save at the end.
});

Deno.test("checkpointed: a save by the timer that fails closes the source and ends the loop with the store's error", async () => {
  const clock = new ManualClock(0);
  const failing = new MemoryCheckpointStore();
  failing.save = () => Promise.reject(new Error("disk full"));
  const source = quietAfter(2);
  const loop = (async () => {
    for await (
      const _ of checkpointed(source, failing, { intervalMs: 1_000, clock })
    ) { /* print */ }
  })();
  const outcome = loop.then(() => undefined, (error: Error) => error.message);
  await clock.waitForTimers();
  await clock.tick(1_000);
  assert.equal(await outcome, "disk full");
  assert.equal(source.closes, 1);
});

Deno.test("checkpointed: rejects a non-positive every", () => {
  assert.throws(
    () =>
      checkpointed(fakeStream(0, 1), new MemoryCheckpointStore(), { every: 0 }),
    {
      name: "RangeError",
      message: "Cannot checkpoint every 0 events: expected a positive integer",
    },
  );
});

/** An eventStream() stand-in whose filter drops everything: the cursor moves, nothing is handed out. */
function droppingSource(clock: ManualClock) {
  let offset = 0;
  let closed = false;
  let wake = () => {};
  return {
    get cursor() {
      return offset === 0 ? "" : cursorAt(offset);
    },
    /** The stream consumes (and drops) `count` events. */
    consume(count: number) {
      offset += count;
    },
    close() {
      closed = true;
      wake();
    },
    // deno-lint-ignore require-yield
    async *[Symbol.asyncIterator](): AsyncGenerator<never> {
      while (!closed) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          clock.setTimeout(resolve, 1_000);
        });
      }
    },
  };
}

Deno.test("checkpointed saves a cursor that moved past dropped events, though no event was handed out: at its interval and on close", async () => {
  const clock = new ManualClock(0);
  const source = droppingSource(clock);
  const store = new MemoryCheckpointStore();
  const done = Array.fromAsync(
    checkpointed(source, store, { intervalMs: 5_000, clock }),
  );
  source.consume(200);
  await clock.tick(5_000);
  assert.equal(await store.load(), cursorAt(200), "saved at the interval");
  source.consume(50);
  await clock.tick(4_999);
  assert.equal(await store.load(), cursorAt(200));
  await clock.tick(1);
  assert.equal(await store.load(), cursorAt(250));
  source.consume(1);
  source.close();
  assert.deepEqual(await done, []);
  assert.equal(await store.load(), cursorAt(251), "saved on close");
  assert.equal(clock.pendingTimers, 1, "only the source's own timer is left");
});

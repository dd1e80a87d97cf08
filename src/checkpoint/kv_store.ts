/**
 * A checkpoint kept in Deno KV, advanced with an atomic check-and-set.
 *
 * @module
 */

import { CheckpointConflictError, CheckpointError } from "./errors.ts";
import { assertSavableCursor, type CheckpointStore } from "./store.ts";

/**
 * Options for {@linkcode KvCheckpointStore.open}.
 *
 * @example One key per consumer in an in-memory database
 * ```ts
 * import assert from "node:assert/strict";
 * import { KvCheckpointStore, type KvCheckpointStoreOptions } from "@eventstreams/client/checkpoint";
 *
 * const options: KvCheckpointStoreOptions = { path: ":memory:", key: ["checkpoint", "my-bot"] };
 * const store = await KvCheckpointStore.open(options);
 * assert.deepEqual(store.key, ["checkpoint", "my-bot"]);
 * await store.close();
 * ```
 */
export interface KvCheckpointStoreOptions {
  /**
   * Where the cursor lives in the database.
   *
   * @default ["eventstreams", "checkpoint", "default"]
   */
  key?: Deno.KvKey;
  /**
   * The database to open: a local file path, `":memory:"`, or a remote KV
   * URL. `undefined` opens Deno's default database (on Deno Deploy, the
   * project's KV).
   *
   * @default undefined
   */
  path?: string;
}

/**
 * The key used when none is given: `["eventstreams", "checkpoint", "default"]`.
 * Give each consumer its own key when several share one database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_CHECKPOINT_KEY, KvCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const kv = await Deno.openKv(":memory:");
 * const store = new KvCheckpointStore(kv);
 * assert.deepEqual(store.key, DEFAULT_CHECKPOINT_KEY);
 * assert.deepEqual(DEFAULT_CHECKPOINT_KEY, ["eventstreams", "checkpoint", "default"]);
 * kv.close();
 * ```
 */
export const DEFAULT_CHECKPOINT_KEY: Deno.KvKey = Object.freeze([
  "eventstreams",
  "checkpoint",
  "default",
]) as unknown as Deno.KvKey;

/**
 * A {@linkcode CheckpointStore} on Deno KV (run with `--unstable-kv`; the
 * same code runs on Deno Deploy).
 *
 * Each `save` is an atomic check-and-set against the versionstamp this
 * store last read or wrote: if another consumer sharing the key advanced it
 * in between, the save fails with a {@linkcode CheckpointConflictError} and
 * nothing is written. So two consumers on one key cannot both advance it;
 * the loser learns it at its next save. A store that never called `load`
 * expects the key to be absent.
 *
 * For exactly-once processing, write your results and the cursor in one
 * atomic operation: use {@linkcode KvCheckpointStore.stage} to add the
 * checked cursor update to your own `kv.atomic()` and commit once.
 *
 * @example Two consumers on one key: the second save loses
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointConflictError, KvCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const kv = await Deno.openKv(":memory:");
 * const a = new KvCheckpointStore(kv, ["checkpoint", "bot"]);
 * const b = new KvCheckpointStore(kv, ["checkpoint", "bot"]);
 * await a.load();
 * await b.load();
 * await a.save('[{"topic":"eqiad.test","partition":0,"offset":1}]');
 * await assert.rejects(
 *   b.save('[{"topic":"eqiad.test","partition":0,"offset":1}]'),
 *   CheckpointConflictError,
 * );
 * kv.close();
 * ```
 */
export class KvCheckpointStore implements CheckpointStore {
  #kv: Deno.Kv;
  #key: Deno.KvKey;
  #owned: boolean;
  #versionstamp: string | null = null;
  #closed = false;

  /**
   * Wraps an open database. The caller keeps ownership: `close()` of this
   * store does not close `kv`.
   *
   * @param kv An open Deno KV database.
   * @param key Where the cursor lives; see {@linkcode KvCheckpointStoreOptions.key}.
   * @throws {TypeError} When `key` is empty.
   */
  constructor(kv: Deno.Kv, key: Deno.KvKey = DEFAULT_CHECKPOINT_KEY) {
    if (!Array.isArray(key) || key.length === 0) {
      throw new TypeError(
        "Cannot create KvCheckpointStore: expected a non-empty key such as ['eventstreams', 'checkpoint', 'my-bot'], got []",
      );
    }
    this.#kv = kv;
    this.#key = key;
    this.#owned = false;
  }

  /**
   * Opens a database (`Deno.openKv(options.path)`) and a store on it. The
   * store owns the database: `close()` closes it.
   *
   * @param options See {@linkcode KvCheckpointStoreOptions}.
   * @returns The store.
   * @throws {CheckpointError} When the database cannot be opened (for example
   *   without `--unstable-kv`).
   *
   * @example
   * ```ts no-assert
   * import { KvCheckpointStore } from "@eventstreams/client/checkpoint";
   *
   * const dir = await Deno.makeTempDir();
   * const store = await KvCheckpointStore.open({ path: `${dir}/kv.sqlite3`, key: ["my-bot"] });
   * await store.load();
   * await store.save('[{"topic":"eqiad.test","partition":0,"offset":3}]');
   * await store.close();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  static async open(
    options: KvCheckpointStoreOptions = {},
  ): Promise<KvCheckpointStore> {
    if (typeof Deno.openKv !== "function") {
      throw new CheckpointError(
        "Cannot open Deno KV: Deno.openKv is not available; run with --unstable-kv",
      );
    }
    let kv: Deno.Kv;
    try {
      kv = await Deno.openKv(options.path);
    } catch (error) {
      throw new CheckpointError(
        `Cannot open Deno KV at '${options.path ?? "(default)"}': ${
          (error as Error).message
        }; check the path and its permissions`,
        { cause: error },
      );
    }
    const store = new KvCheckpointStore(
      kv,
      options.key ?? DEFAULT_CHECKPOINT_KEY,
    );
    store.#owned = true;
    return store;
  }

  /** The key the cursor is stored under. */
  get key(): Deno.KvKey {
    return this.#key;
  }

  /** The versionstamp last read or written (`null` before any, or when the key was absent). */
  get versionstamp(): string | null {
    return this.#versionstamp;
  }

  /**
   * Reads the cursor and remembers its versionstamp for the next save's
   * check.
   *
   * @returns The cursor, or `undefined` when the key is absent.
   * @throws {CheckpointError} When the stored value is not a string.
   */
  async load(): Promise<string | undefined> {
    this.#assertOpen();
    const entry = await this.#kv.get<unknown>(this.#key, {
      consistency: "strong",
    });
    this.#versionstamp = entry.versionstamp;
    if (entry.value === null) return undefined;
    if (typeof entry.value !== "string" || entry.value === "") {
      throw new CheckpointError(
        `Cannot load checkpoint from key ${
          formatKey(this.#key)
        }: expected a cursor string, got ${
          describe(entry.value)
        }; delete the key or use another one`,
      );
    }
    return entry.value;
  }

  /**
   * Writes `cursor` if the key still has the versionstamp this store last
   * saw (check-and-set).
   *
   * @param cursor A non-empty cursor, normally `stream.cursor`.
   * @throws {TypeError} When `cursor` is empty.
   * @throws {CheckpointConflictError} When another consumer changed the key
   *   since this store's last `load` or `save`.
   */
  async save(cursor: string): Promise<void> {
    assertSavableCursor(cursor);
    const result = await this.stage(this.#kv.atomic(), cursor).commit();
    this.commitStaged(result);
  }

  /**
   * Adds this store's checked cursor update to `operation`, so that your own
   * writes and the checkpoint commit together (exactly-once processing).
   * After `commit()`, pass its result to {@linkcode commitStaged}.
   *
   * @param operation An atomic operation on the same database.
   * @param cursor A non-empty cursor.
   * @returns `operation`, for chaining.
   * @throws {TypeError} When `cursor` is empty.
   *
   * @example Results and checkpoint in one transaction
   * ```ts
   * import assert from "node:assert/strict";
   * import { KvCheckpointStore } from "@eventstreams/client/checkpoint";
   *
   * const kv = await Deno.openKv(":memory:");
   * const store = new KvCheckpointStore(kv, ["checkpoint"]);
   * await store.load();
   * const op = kv.atomic().set(["edits", "enwiki"], 1);
   * store.commitStaged(await store.stage(op, '[{"topic":"t","partition":0,"offset":5}]').commit());
   * assert.equal((await kv.get(["edits", "enwiki"])).value, 1);
   * kv.close();
   * ```
   */
  stage(operation: Deno.AtomicOperation, cursor: string): Deno.AtomicOperation {
    assertSavableCursor(cursor);
    this.#assertOpen();
    return operation
      .check({ key: this.#key, versionstamp: this.#versionstamp })
      .set(this.#key, cursor);
  }

  /**
   * Records the outcome of a commit that included {@linkcode stage}.
   *
   * @param result What `commit()` returned.
   * @throws {CheckpointConflictError} When the commit failed its checks.
   */
  commitStaged(result: Deno.KvCommitResult | Deno.KvCommitError): void {
    if (result.ok) {
      this.#versionstamp = result.versionstamp;
      return;
    }
    throw new CheckpointConflictError(
      this.#key,
      `Cannot save checkpoint under key ${
        formatKey(this.#key)
      }: another consumer advanced it since this store last read it ` +
        `(expected versionstamp ${
          this.#versionstamp ?? "none (key absent)"
        }); ` +
        "run one consumer per key, or load() again and resume from the stored cursor",
    );
  }

  /** Closes the database if this store opened it (see {@linkcode KvCheckpointStore.open}). */
  close(): Promise<void> {
    if (!this.#closed && this.#owned) this.#kv.close();
    this.#closed = true;
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new CheckpointError(
        `Cannot use the checkpoint store for key ${
          formatKey(this.#key)
        }: it is closed; open a new one`,
      );
    }
  }
}

function formatKey(key: Deno.KvKey): string {
  return "[" +
    key.map((part) =>
      typeof part === "bigint"
        ? `${part}n`
        : JSON.stringify(part) ?? String(part)
    ).join(", ") + "]";
}

function describe(value: unknown): string {
  if (typeof value === "string") return "''";
  const text = JSON.stringify(value);
  return text === undefined
    ? typeof value
    : text.length > 80
    ? text.slice(0, 80) + "…"
    : text;
}

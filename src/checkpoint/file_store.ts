/**
 * A checkpoint kept in a local file, replaced atomically on every save.
 *
 * @module
 */

import { CheckpointError } from "./errors.ts";
import { assertSavableCursor, type CheckpointStore } from "./store.ts";
import { dirname } from "../_dirname.ts";

/**
 * Options for {@linkcode FileCheckpointStore}.
 *
 * @example Skipping fsync (a cache you can rebuild, or a test)
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileCheckpointStore, type FileCheckpointStoreOptions } from "@eventstreams/client/checkpoint";
 *
 * const options: FileCheckpointStoreOptions = { sync: false };
 * const dir = await Deno.makeTempDir();
 * const store = new FileCheckpointStore(`${dir}/cursor`, options);
 * await store.save('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5}]');
 * assert.equal(await store.load(), '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5}]');
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface FileCheckpointStoreOptions {
  /**
   * Whether to `fsync` the temporary file and the directory on each save.
   * Turning it off trades crash safety of the last save (on power loss, not
   * on a process kill) for speed.
   *
   * @default true
   */
  sync?: boolean;
}

const encoder = new TextEncoder();
const MAX_SHOWN = 80;

/**
 * A {@linkcode CheckpointStore} that keeps the cursor in one file.
 *
 * Each save writes the cursor to a temporary file next to the target
 * (`<path>.tmp`), fsyncs it, renames it over the target and fsyncs the
 * directory (where the platform allows opening one). Rename within a
 * directory is atomic, so after a crash or `SIGKILL` at any moment the file
 * holds either the previous complete cursor or the new one, never a mix.
 * A leftover `<path>.tmp` from a killed save is overwritten by the next save.
 *
 * The file holds the cursor text (a KafkaSSE id, a JSON array) and a
 * newline, so `--cursor "$(cat file)"` works. One consumer per file: saves
 * of one store are serialised, but two processes writing the same file race.
 *
 * @example Save and load in a temporary directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileCheckpointStore } from "@eventstreams/client/checkpoint";
 *
 * const dir = await Deno.makeTempDir();
 * const store = new FileCheckpointStore(`${dir}/cursor.json`);
 * assert.equal(await store.load(), undefined);
 * await store.save('[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":7}]');
 * assert.ok((await store.load())?.endsWith('"offset":7}]'));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileCheckpointStore implements CheckpointStore {
  #path: string;
  #tempPath: string;
  #sync: boolean;
  #queue: Promise<void> = Promise.resolve();

  /**
   * Creates a store for the file at `path`. Nothing is touched until the
   * first `load` or `save`; the directory must exist.
   *
   * @param path The checkpoint file.
   * @param options See {@linkcode FileCheckpointStoreOptions}.
   * @throws {TypeError} When `path` is empty.
   */
  constructor(path: string | URL, options: FileCheckpointStoreOptions = {}) {
    const text = path instanceof URL ? decodeFileUrl(path) : path;
    if (typeof text !== "string" || text === "") {
      throw new TypeError(
        "Cannot create FileCheckpointStore: expected a file path, got ''",
      );
    }
    this.#path = text;
    this.#tempPath = `${text}.tmp`;
    this.#sync = options.sync ?? true;
  }

  /** The checkpoint file's path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Reads the cursor from the file.
   *
   * @returns The cursor, or `undefined` when the file does not exist.
   * @throws {CheckpointError} When the file does not hold a cursor (not a
   *   JSON array), or cannot be read.
   */
  async load(): Promise<string | undefined> {
    await this.#queue;
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw new CheckpointError(
        `Cannot load checkpoint from '${this.#path}': ${
          (error as Error).message
        }; check the path and its permissions`,
        { cause: error },
      );
    }
    const cursor = text.trim();
    let parsed: unknown;
    try {
      parsed = JSON.parse(cursor);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
      const shown = cursor.length > MAX_SHOWN
        ? cursor.slice(0, MAX_SHOWN) + "…"
        : cursor;
      throw new CheckpointError(
        `Cannot load checkpoint from '${this.#path}': expected a cursor (a non-empty JSON array), got '${shown}'; ` +
          "delete the file to start from --since or live, or restore a valid cursor",
      );
    }
    return cursor;
  }

  /**
   * Atomically replaces the file's content with `cursor`. Concurrent calls
   * on one store run one after the other, in call order.
   *
   * @param cursor A non-empty cursor, normally `stream.cursor`.
   * @throws {TypeError} When `cursor` is empty.
   * @throws {CheckpointError} When the file cannot be written.
   */
  save(cursor: string): Promise<void> {
    try {
      assertSavableCursor(cursor);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#queue.then(() => this.#write(cursor));
    // Keep the queue alive after a failed save; the caller still sees the error.
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Waits for pending saves. The store holds no open handles otherwise. */
  async close(): Promise<void> {
    await this.#queue;
  }

  async #write(cursor: string): Promise<void> {
    const bytes = encoder.encode(cursor + "\n");
    try {
      const file = await Deno.open(this.#tempPath, {
        write: true,
        create: true,
        truncate: true,
      });
      try {
        let written = 0;
        while (written < bytes.length) {
          written += await file.write(bytes.subarray(written));
        }
        if (this.#sync) await file.sync();
      } finally {
        file.close();
      }
      // Per POSIX rename(2): replacing the target is atomic for other readers and across crashes.
      await Deno.rename(this.#tempPath, this.#path);
    } catch (error) {
      await Deno.remove(this.#tempPath).catch(() => {});
      throw new CheckpointError(
        `Cannot save checkpoint to '${this.#path}': ${
          (error as Error).message
        }; check that the directory exists and is writable`,
        { cause: error },
      );
    }
    if (this.#sync) await syncDirectory(dirname(this.#path));
  }
}

/** Makes the rename durable: fsync of the directory entry. Not possible on every platform (Windows). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Opening or syncing a directory is unsupported here; the rename is still atomic.
  } finally {
    handle?.close();
  }
}

function decodeFileUrl(url: URL): string {
  if (url.protocol !== "file:") {
    throw new TypeError(
      `Cannot create FileCheckpointStore: expected a file: URL, got '${url.href}'`,
    );
  }
  const path = decodeURIComponent(url.pathname);
  // Windows file URLs look like file:///C:/dir/file.
  return /^\/[A-Za-z]:/.test(path) ? path.slice(1) : path;
}

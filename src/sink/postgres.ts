/**
 * A PostgreSQL sink for EventStreams: each batch of events and the stream's
 * cursor are committed in one transaction, events keyed by
 * `(topic, partition, "offset")` so a replayed batch inserts nothing, and a
 * restart resumes from the cursor in the database. Optionally a leader lease
 * (an advisory lock) lets N replicas run while one holds the upstream
 * connection; every batch transaction checks, inside the transaction, that
 * its own session still holds the lock, so a replica that lost it cannot
 * commit.
 *
 * The driver is the npm `postgres` package (porsager/postgres 3.4): pure
 * JavaScript (no native addon, so it runs on Deno, Node and Bun alike),
 * maintained, with transactions, a connection limit of one (what the lease
 * needs: one session) and tagged-template parameters.
 *
 * @example Two replicas against one database (see the README)
 * ```ts ignore
 * import { eventStream } from "@eventstreams/client";
 * import { PostgresSink, runSink } from "@eventstreams/client/postgres";
 * await using sink = await PostgresSink.connect({
 *   url: "postgres://me@localhost/wiki",
 *   table: "recentchange",
 *   lease: true,
 * });
 * await runSink(sink, {
 *   open: (cursor) => eventStream("recentchange", { userAgent: "my-archiver/1.0 (me@example.org)", cursor }),
 * });
 * ```
 *
 * @module
 */
import postgres from "npm:postgres@3.4.9";
import type { EventStreamsEvent } from "../types.ts";
import { stripUrlSecrets } from "../testing/cassette.ts";
import { type Sink, SinkLeaseLostError } from "./contract.ts";

export * from "./contract.ts";

/**
 * Options for {@linkcode PostgresSink.connect}.
 *
 * @example
 * ```ts no-assert
 * import type { PostgresSinkOptions } from "@eventstreams/client/postgres";
 * const options: PostgresSinkOptions = { url: "postgres://localhost/wiki", table: "events", lease: true };
 * ```
 */
export interface PostgresSinkOptions {
  /** `postgres://user:password@host:port/database` (`?host=/dir` for a Unix socket). */
  url: string;
  /** The events table (`name` or `schema.name`); created when missing. */
  table: string;
  /**
   * The table holding the cursor (one row per events table); created when missing.
   *
   * @default {`${table}_cursor`}
   */
  cursorTable?: string;
  /**
   * Take part in the leader lease (advisory lock keyed by the table name).
   *
   * @default {false}
   */
  lease?: boolean;
  /**
   * How long to wait for a connection.
   *
   * @default {10}
   */
  connectTimeoutSeconds?: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** The first key of the advisory lock pair: "evst". */
const LOCK_NAMESPACE = 0x65767374;

/** A 31-bit FNV-1a hash: the second advisory lock key, from the table name. */
function lockKey(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash = Math.imul(hash ^ byte, 0x01000193);
  }
  return hash & 0x7fffffff;
}

/**
 * The database URL without its password, for messages.
 *
 * @param url A `postgres://` URL.
 * @returns The URL with `user:password@` and secret query values removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactDatabaseUrl } from "@eventstreams/client/postgres";
 * assert.equal(redactDatabaseUrl("postgres://me:s3cret@db.example/wiki"), "postgres://db.example/wiki");
 * ```
 */
export function redactDatabaseUrl(url: string): string {
  try {
    return stripUrlSecrets(url);
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * A {@linkcode Sink} into a PostgreSQL table
 * `(topic text, partition int, "offset" bigint, dt timestamptz, stream text,
 * wiki text, data jsonb, primary key (topic, partition, "offset"))`.
 * All statements run on one database session (a pool of one), so the
 * advisory lock taken by {@linkcode PostgresSink.tryAcquireLease} and the
 * batches it fences share it.
 *
 * @example
 * ```ts ignore
 * import { PostgresSink } from "@eventstreams/client/postgres";
 * await using sink = await PostgresSink.connect({ url: "postgres://localhost/wiki", table: "events" });
 * console.log(await sink.readCursor());
 * ```
 */
export class PostgresSink implements Sink<EventStreamsEvent> {
  /** The events table. */
  readonly table: string;
  /** The cursor table. */
  readonly cursorTable: string;
  /** The URL without secrets. */
  readonly redactedUrl: string;
  #sql: ReturnType<typeof postgres>;
  #lease: boolean;
  #key: number;
  #secrets: string[];

  private constructor(
    sql: ReturnType<typeof postgres>,
    options: Required<PostgresSinkOptions>,
  ) {
    this.#sql = sql;
    this.table = options.table;
    this.cursorTable = options.cursorTable;
    this.redactedUrl = redactDatabaseUrl(options.url);
    this.#lease = options.lease;
    this.#key = lockKey(options.table);
    const password = URL.canParse(options.url)
      ? decodeURIComponent(new URL(options.url).password)
      : "";
    this.#secrets = password === "" ? [] : [password];
  }

  /**
   * Connects, creates the tables when missing, and returns the sink.
   *
   * @param options URL, table names, lease.
   * @returns The sink; close it when done.
   * @throws {TypeError} On a URL that is not `postgres://` or `postgresql://`, or a bad table name.
   * @throws {Error} When the database cannot be reached (the message names the URL without its password).
   */
  static async connect(options: PostgresSinkOptions): Promise<PostgresSink> {
    if (
      typeof options.url !== "string" || !URL.canParse(options.url) ||
      !/^postgres(ql)?:$/.test(new URL(options.url).protocol)
    ) {
      throw new TypeError(
        `Cannot use the database URL '${
          redactDatabaseUrl(String(options.url))
        }': expected postgres://user@host:port/database`,
      );
    }
    const cursorTable = options.cursorTable ?? `${options.table}_cursor`;
    for (const name of [options.table, cursorTable]) {
      if (typeof name !== "string" || !IDENTIFIER.test(name)) {
        throw new TypeError(
          `Cannot use the table name '${name}': expected letters, digits and _ (optionally schema.name)`,
        );
      }
    }
    const sql = postgres(options.url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 0,
      // No reconnect delay inside the driver: runSink's own backoff decides
      // (the driver's default grows to 20 s and would hide the outage's end).
      backoff: () => 0,
    });
    const sink = new PostgresSink(sql, {
      url: options.url,
      table: options.table,
      cursorTable,
      lease: options.lease ?? false,
      connectTimeoutSeconds: options.connectTimeoutSeconds ?? 10,
    });
    try {
      await sink.#guard(() => sink.#createTables());
    } catch (error) {
      await sql.end({ timeout: 0 });
      throw error;
    }
    return sink;
  }

  async #createTables(): Promise<void> {
    // Concurrent `create table if not exists` can fail on PostgreSQL's
    // catalog keys (replicas starting together): serialise it.
    await this.#sql.begin(async (sql) => {
      await sql`select pg_advisory_xact_lock(${
        LOCK_NAMESPACE + 1
      }::int, ${this.#key}::int)`;
      await this.#createTablesIn(sql);
    });
  }

  async #createTablesIn(sql: postgres.TransactionSql): Promise<void> {
    await sql`create table if not exists ${sql(this.table)} (
      topic text not null,
      partition int not null,
      "offset" bigint not null,
      dt timestamptz,
      stream text,
      wiki text,
      data jsonb not null,
      primary key (topic, partition, "offset")
    )`;
    await sql`create table if not exists ${sql(this.cursorTable)} (
      name text primary key,
      cursor text not null,
      updated_at timestamptz not null default now()
    )`;
  }

  /** Runs `fn`, rethrowing its error with a message that names the URL without secrets. */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof SinkLeaseLostError) throw error;
      let message = error instanceof Error ? error.message : String(error);
      for (const secret of this.#secrets) {
        message = message.replaceAll(secret, "***");
      }
      throw new Error(`PostgreSQL at ${this.redactedUrl}: ${message}`, {
        cause: error,
      });
    }
  }

  /**
   * Reads the cursor stored with the last committed batch.
   *
   * @returns The cursor, or `undefined` before the first batch.
   */
  readCursor(): Promise<string | undefined> {
    return this.#guard(async () => {
      const sql = this.#sql;
      const rows = await sql<{ cursor: string }[]>`
        select cursor from ${sql(this.cursorTable)} where name = ${this.table}`;
      return rows[0]?.cursor;
    });
  }

  /**
   * Inserts `events` (those already present are skipped) and stores `cursor`,
   * in one transaction. With the lease on, the transaction first checks that
   * this session holds the advisory lock, and commits nothing if not.
   *
   * @param events The batch.
   * @param cursor The stream's cursor after the batch.
   * @throws {SinkLeaseLostError} When the lease is on and this session does not hold it.
   * @throws {Error} When the database fails (nothing is committed).
   */
  writeBatch(
    events: readonly EventStreamsEvent[],
    cursor: string,
  ): Promise<void> {
    return this.#guard(async () => {
      await this.#sql.begin(async (tx) => {
        if (this.#lease) {
          // Fencing: the lock lives in a session; a dropped session (or a
          // reconnect by the driver) no longer holds it, so this fails.
          const held = await this.#held(tx);
          if (!held) {
            throw new SinkLeaseLostError(
              `Cannot commit the batch into ${this.table}: this replica no longer holds the leader lease`,
            );
          }
        }
        if (events.length > 0) {
          // One JSON parameter for the whole batch: no per-row parameter limit.
          await tx`
            insert into ${tx(this.table)}
              (topic, partition, "offset", dt, stream, wiki, data)
            select e->'meta'->>'topic', (e->'meta'->>'partition')::int,
              (e->'meta'->>'offset')::bigint, (e->'meta'->>'dt')::timestamptz,
              e->'meta'->>'stream',
              coalesce(e->>'wiki', e->>'wiki_id', e->>'database'), e
            from jsonb_array_elements(${
            JSON.stringify(events)
          }::text::jsonb) as e
            on conflict do nothing`;
        }
        await tx`
          insert into ${tx(this.cursorTable)} (name, cursor)
          values (${this.table}, ${cursor})
          on conflict (name) do update
            set cursor = excluded.cursor, updated_at = now()`;
      });
    });
  }

  /**
   * Tries once to take the leader lease: `pg_try_advisory_lock` on this
   * sink's session. Without `lease: true` it always succeeds.
   *
   * @returns True when this session holds the lock.
   */
  tryAcquireLease(): Promise<boolean> {
    if (!this.#lease) return Promise.resolve(true);
    return this.#guard(async () => {
      const [{ locked }] = await this.#sql<{ locked: boolean }[]>`
        select pg_try_advisory_lock(${LOCK_NAMESPACE}::int, ${this.#key}::int) as locked`;
      return locked;
    });
  }

  /**
   * Whether this sink's current session holds the leader lease (`pg_locks`).
   * Without `lease: true`, always true.
   *
   * @returns True when held.
   */
  holdsLease(): Promise<boolean> {
    if (!this.#lease) return Promise.resolve(true);
    return this.#guard(() => this.#held(this.#sql));
  }

  /** The fencing predicate, on `sql`'s session: it holds the advisory lock. */
  async #held(
    sql: postgres.Sql | postgres.TransactionSql,
  ): Promise<boolean> {
    const [{ held }] = await sql<{ held: boolean }[]>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and granted
          and pid = pg_backend_pid()
          and classid = ${LOCK_NAMESPACE}::int::oid
          and objid = ${this.#key}::int::oid and objsubid = 2
      ) as held`;
    return held;
  }

  /**
   * The backend process id of this sink's session (for tests and status).
   *
   * @returns The pid.
   */
  backendPid(): Promise<number> {
    return this.#guard(async () => {
      const [{ pid }] = await this.#sql<{ pid: number }[]>`
        select pg_backend_pid() as pid`;
      return pid;
    });
  }

  /**
   * Closes the session (releasing the lease).
   *
   * @returns When closed.
   */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 1 });
  }

  /**
   * Closes the sink (for `await using`).
   *
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

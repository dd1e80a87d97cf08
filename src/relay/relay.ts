/**
 * `eventstreams relay`: one upstream {@linkcode eventStream} for all its
 * streams, a durable local log ({@linkcode RelayLog}), and the EventStreams
 * protocol served to any number of subscribers by the emulator's own
 * protocol code (`resolveStreamRequest`, `Session`), with per-subscriber
 * filters.
 *
 * Subscribers are only ever sent events already on disk: an event reaches
 * the in-memory mirror (what sessions read) after its batch's `fdatasync`.
 * A session reads the mirror at its subscriber's pace, so a slow subscriber
 * never slows the upstream or the others.
 *
 * @module
 */

import { eventStream } from "../client.ts";
import { Cursor, type CursorEntry } from "../cursor.ts";
import type { EventStreamsEvent } from "../types.ts";
import { oneLineJson } from "../raw_event.ts";
import type { StreamName } from "../streams.ts";
import type { FetchFunction } from "../options.ts";
import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import { checkFilterValue, selectEvents } from "../cli/filters.ts";
import {
  COMMON_HEADERS,
  notFoundResponse,
  serviceErrorBody,
} from "../testing/emulator/responses.ts";
import {
  EmulatorStreams,
  PUBLIC_STREAM_CONFIGS,
} from "../testing/emulator/stream_set.ts";
import { resolveStreamRequest } from "../testing/emulator/stream_request.ts";
import {
  EmulatedResetError,
  type MutableConnectionLog,
  Session,
} from "../testing/emulator/session.ts";
import { TopicPartitionLog } from "../testing/emulator/logs.ts";
import { partitionKey, RelayLog, type RelayRecord } from "./log_store.ts";

/** Options for {@linkcode startRelay}. */
export interface RelayOptions {
  /** Canonical stream names to relay (resolved by the caller). */
  streams: readonly string[];
  /** The directory of the durable log. */
  dataDir: string;
  /** The User-Agent sent upstream. */
  userAgent: string;
  /**
   * Where to start on the very first run (ignored once the log has events).
   *
   * @default {undefined} (live)
   */
  since?: number;
  /**
   * The upstream server.
   *
   * @default {"https://stream.wikimedia.org"}
   */
  baseUrl?: string;
  /**
   * The interface subscribers connect to.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * The port; 0 picks a free one.
   *
   * @default {0}
   */
  port?: number;
  /**
   * Log retention.
   *
   * @default {86_400_000}
   */
  retainMs?: number;
  /**
   * A log segment is closed beyond this size (retention drops whole ones).
   *
   * @default {67_108_864}
   */
  segmentBytes?: number;
  /**
   * Subscriber streams end cleanly after this long, like the real server's
   * edge cut (clients resume from their id); it also bounds how long a
   * trimmed copy of the in-memory log stays alive for old streams.
   *
   * @default {900_000}
   */
  maxSubscriberConnectionMs?: number;
  /**
   * A subscriber that has caught up once and then falls this many events
   * behind the live end is sent `event: error` and closed (it resumes from
   * its id); it never slows the upstream or the others meanwhile.
   *
   * @default {10_000}
   */
  maxSubscriberLagEvents?: number;
  /**
   * Concurrent subscriber streams per client IP; 0 for no limit.
   *
   * @default {0}
   */
  maxConnectionsPerIp?: number;
  /** The upstream fetch (tests). */
  fetch?: FetchFunction;
  /**
   * Time, for metrics and sessions.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /** Called on upstream problems (reported, then retried by the client). */
  onUpstreamError?: (error: Error) => void;
}

/** Counters behind `/metrics` and the status line. */
export interface RelayStats {
  /** Events received from upstream and logged. */
  received: number;
  /** Frames sent to subscribers (all sessions, including ended ones). */
  sent: number;
  /** Upstream connections opened. */
  connections: number;
  /** Open subscriber streams. */
  subscribers: number;
  /** Bytes in the retained log. */
  logBytes: number;
  /** `meta.dt` of the newest logged event, epoch ms. */
  lastEventMs: number | undefined;
  /** The upstream cursor of the log's end. */
  cursor: string;
}

const STREAM_ROUTE = /^\/v2\/stream\/([^/]+)\/?$/i;
/** Beyond the spec: `Last-Event-ID` allowed so browsers and our client resume exactly. */
const RELAY_HEADERS: Readonly<Record<string, string>> = {
  ...COMMON_HEADERS,
  "access-control-allow-headers": `${
    COMMON_HEADERS["access-control-allow-headers"]
  }, last-event-id`,
};

/** A running relay. */
export class Relay {
  /** The base URL subscribers use, e.g. `http://127.0.0.1:8093`. */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  #options: RelayOptions;
  #clock: Clock;
  #mirror: EmulatorStreams;
  /** Every mirror some session still reads (the current one included), with its session count. */
  #mirrors = new Map<EmulatorStreams, number>();
  #retainedFrom: ReadonlyMap<string, number>;
  #log: RelayLog;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #abort = new AbortController();
  #sessions = new Set<Session>();
  #openByIp = new Map<string, number>();
  #sentEnded = 0;
  #records = new Set<MutableConnectionLog>();
  #received = 0;
  #connections = 0;
  #lastEventMs: number | undefined;
  #upstream: Promise<void>;
  #closed: Promise<void> | undefined;
  #waiters = new Set<() => void>();

  private constructor(
    options: RelayOptions,
    mirror: EmulatorStreams,
    log: RelayLog,
    cursor: string | undefined,
  ) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#mirror = mirror;
    this.#mirrors.set(mirror, 0);
    this.#retainedFrom = log.retainedFrom;
    this.#log = log;
    this.#server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      signal: this.#abort.signal,
      onListen: () => {},
      onError: (error) => {
        if (!(error instanceof EmulatedResetError)) {
          console.error("eventstreams relay: request failed", error);
        }
        return new Response("Internal Server Error", { status: 500 });
      },
    }, (request, info) => this.#handle(request, info));
    const { hostname, port } = this.#server.addr;
    this.port = port;
    this.url = `http://${
      hostname.includes(":") ? `[${hostname}]` : hostname
    }:${port}`;
    this.#upstream = this.#run(cursor);
  }

  /**
   * Opens the log, starts the upstream stream and the subscriber server.
   *
   * @param options See {@linkcode RelayOptions}.
   * @returns The running relay.
   * @throws {TypeError} On an unknown stream, or a data directory kept for other streams.
   */
  static async start(options: RelayOptions): Promise<Relay> {
    const configs = options.streams.map((name) => {
      const config = PUBLIC_STREAM_CONFIGS.find((c) =>
        c.name === name || c.aliases?.includes(name)
      );
      if (config === undefined) {
        throw new TypeError(
          `Cannot relay stream '${name}': expected one of ${
            PUBLIC_STREAM_CONFIGS.map((c) => c.name).join(", ")
          }`,
        );
      }
      return config;
    });
    const topics = configs.flatMap((c) => c.topics);
    const start = await readState(options, topics);
    const logs = new Map<string, TopicPartitionLog>();
    const logOf = (topic: string, partition: number) => {
      const key = `${topic}\u0000${partition}`;
      let log = logs.get(key);
      if (log === undefined) {
        log = new TopicPartitionLog({ topic, partition });
        logs.set(key, log);
      }
      return log;
    };
    for (const topic of topics) logOf(topic, 0);
    let lastMs: number | undefined;
    const log = await RelayLog.open(options.dataDir, (record) => {
      if (!topics.includes(record.topic)) return;
      const partitionLog = logOf(record.topic, record.partition);
      if (record.offset < partitionLog.nextOffset && partitionLog.length > 0) {
        return; // Never expected: the log is written in offset order.
      }
      partitionLog.appendMessage(record);
      lastMs = record.timestamp;
    }, { retainMs: options.retainMs, segmentBytes: options.segmentBytes });
    const mirror = new EmulatorStreams({ configs, logs: [...logs.values()] });
    // The upstream resume point is the log's end: offset + 1 per logged
    // partition; a partition with nothing logged yet reads from the relay's
    // first start.
    const entries: CursorEntry[] = [...logs.values()].map((l) =>
      l.length > 0
        ? { topic: l.topic, partition: l.partition, offset: l.nextOffset }
        : { topic: l.topic, partition: l.partition, timestamp: start }
    );
    const anyLogged = [...logs.values()].some((l) => l.length > 0);
    const cursor = anyLogged
      ? Cursor.fromEntries(entries).toString()
      : undefined;
    const relay = new Relay(options, mirror, log, cursor);
    relay.#lastEventMs = lastMs;
    return relay;
  }

  /** The counters. */
  get stats(): RelayStats {
    let sent = this.#sentEnded;
    for (const record of this.#records) sent += record.framesSent;
    return {
      received: this.#received,
      sent,
      connections: this.#connections,
      subscribers: this.#sessions.size,
      logBytes: this.#log.bytes,
      lastEventMs: this.#lastEventMs,
      cursor: this.cursor,
    };
  }

  /** The upstream cursor of what is logged (offset + 1 per partition). */
  get cursor(): string {
    const entries: CursorEntry[] = this.#mirror.logs.filter((l) =>
      l.nextOffset > 0
    )
      .map((l) => ({
        topic: l.topic,
        partition: l.partition,
        offset: l.nextOffset,
      }));
    return entries.length === 0 ? "" : Cursor.fromEntries(entries).toString();
  }

  /** Every logged message per topic-partition (tests). */
  get logs(): readonly TopicPartitionLog[] {
    return this.#mirror.logs;
  }

  /**
   * Resolves once `predicate` holds (checked after every logged batch and
   * every new subscriber).
   *
   * @param predicate A condition on the relay.
   * @returns When it holds.
   */
  waitFor(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  /**
   * Stops the upstream, ends subscriber streams, flushes and closes the log.
   *
   * @returns When everything is closed.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /**
   * For `await using`.
   *
   * @returns When closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#abort.abort();
    await this.#upstream;
    for (const session of [...this.#sessions]) session.terminate();
    await this.#server.finished;
    await this.#log.close();
  }

  async #run(cursor: string | undefined): Promise<void> {
    const options = this.#options;
    const stream = eventStream(options.streams as readonly StreamName[], {
      userAgent: options.userAgent,
      baseUrl: options.baseUrl,
      fetch: options.fetch,
      cursor,
      since: cursor === undefined ? options.since : undefined,
      // Relay everything; subscribers' clients drop canaries themselves.
      canary: true,
      signal: this.#abort.signal,
      clock: options.clock,
      onConnect: () => this.#connections++,
      onError: (error) => options.onUpstreamError?.(error),
    });
    let pending: RelayRecord[] = [];
    let flushing: Promise<void> | undefined;
    let failure: unknown;
    // Group commit: while one batch syncs, the next accumulates.
    const flush = async () => {
      while (pending.length > 0) {
        const batch = pending;
        pending = [];
        await this.#log.append(batch);
        for (const mirror of this.#mirrors.keys()) {
          for (const record of batch) {
            mirror.log(record.topic, record.partition)?.appendMessage(record);
          }
        }
        this.#lastEventMs = batch.at(-1)!.timestamp;
        if (this.#log.retainedFrom !== this.#retainedFrom) this.#trim();
        this.#received += batch.length;
        this.#changed();
      }
    };
    const startFlush = (): void => {
      flushing = flush().catch((error) => {
        failure = error;
        stream.close();
      }).finally(() => {
        flushing = undefined;
        // Records that arrived after the loop's last check and before this
        // callback would otherwise wait for the next event.
        if (pending.length > 0 && failure === undefined) startFlush();
      });
    };
    try {
      for await (const event of stream) {
        const record = this.#toRecord(
          event as EventStreamsEvent,
          stream.eventText,
        );
        if (record === undefined) continue;
        pending.push(record);
        if (flushing === undefined) startFlush();
      }
    } catch (error) {
      if (!this.#abort.signal.aborted) failure ??= error;
    }
    await flushing;
    await flush();
    if (failure !== undefined && !this.#abort.signal.aborted) {
      console.error("eventstreams relay: upstream stopped", failure);
    }
  }

  /**
   * Retention for the in-memory log: new sessions get a copy holding only
   * what the disk still retains; old sessions keep reading theirs (it is
   * dropped when the last of them ends, at the latest after
   * `maxSubscriberConnectionMs`).
   */
  #trim(): void {
    this.#retainedFrom = this.#log.retainedFrom;
    const old = this.#mirror;
    const logs = old.logs.map((log) => {
      const from = this.#retainedFrom.get(partitionKey(log));
      const index = from === undefined ? 0 : log.indexOfOffset(from);
      return new TopicPartitionLog({
        topic: log.topic,
        partition: log.partition,
        messages: log.messages.slice(index),
        baseOffset: log.nextOffset,
      });
    });
    this.#mirror = new EmulatorStreams({ configs: old.configs, logs });
    this.#mirrors.set(this.#mirror, 0);
    if (this.#mirrors.get(old) === 0) this.#mirrors.delete(old);
  }

  /** The record of an event; its data is the upstream's JSON text, as sent. */
  #toRecord(event: EventStreamsEvent, text: string): RelayRecord | undefined {
    const { topic, partition, offset, dt } = event.meta;
    if (this.#mirror.log(topic, partition) === undefined) {
      // Known limit: every public stream has one partition per topic; the
      // mirror has no way to add one to running sessions yet.
      this.#options.onUpstreamError?.(
        new Error(
          `Cannot relay ${topic}/${partition}: the relay knows only partition 0 of each topic`,
        ),
      );
      return undefined;
    }
    const timestamp = Date.parse(dt);
    return {
      topic,
      partition,
      offset,
      timestamp: Number.isFinite(timestamp) ? timestamp : this.#clock.now(),
      data: oneLineJson(event, text),
    };
  }

  #handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response {
    const url = new URL(request.url);
    const match = STREAM_ROUTE.exec(url.pathname);
    if (request.method === "OPTIONS") {
      // A CORS preflight (a cross-origin fetch sending Last-Event-ID).
      return new Response(null, {
        status: 204,
        headers: {
          ...RELAY_HEADERS,
          "access-control-allow-methods": "GET, HEAD, OPTIONS",
          "access-control-max-age": "86400",
        },
      });
    }
    if (
      match !== null && (request.method === "GET" || request.method === "HEAD")
    ) {
      return this.#stream(request, info, url, match[1]);
    }
    if (request.method === "GET" && url.pathname === "/metrics") {
      return new Response(this.#metrics(), {
        headers: {
          ...RELAY_HEADERS,
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
        },
      });
    }
    if (request.method === "GET" && url.pathname === "/healthz") {
      const stats = this.stats;
      return new Response(
        JSON.stringify({
          status: "ok",
          upstreamConnections: stats.connections,
          received: stats.received,
          subscribers: stats.subscribers,
          lastEventDt: stats.lastEventMs === undefined
            ? null
            : new Date(stats.lastEventMs).toISOString(),
        }) + "\n",
        {
          headers: {
            ...RELAY_HEADERS,
            "content-type": "application/json; charset=utf-8",
          },
        },
      );
    }
    return notFoundResponse(request.method, url.pathname);
  }

  #stream(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    url: URL,
    rawStreams: string,
  ): Response {
    const line = { method: request.method, uri: url.pathname + url.search };
    const jsonError = (status: number, body: string) =>
      new Response(body, {
        status,
        headers: {
          ...RELAY_HEADERS,
          "content-type": "application/json; charset=utf-8",
        },
      });
    const limit = this.#options.maxConnectionsPerIp ?? 0;
    const clientIp = info.remoteAddr.hostname;
    if (limit > 0 && (this.#openByIp.get(clientIp) ?? 0) >= limit) {
      return jsonError(
        429,
        serviceErrorBody(
          line,
          429,
          "too_many_requests",
          "Too Many Concurrent Connections From Your Client IP",
          "Your HTTP client is likely opening too many concurrent connections.",
        ),
      );
    }
    let skip: ((data: string) => boolean) | undefined;
    try {
      skip = parseFilters(url.searchParams);
    } catch (error) {
      return jsonError(
        400,
        serviceErrorBody(
          line,
          400,
          "invalid_filter",
          "Invalid filter",
          (error as Error).message,
        ),
      );
    }
    const resolved = resolveStreamRequest(
      request,
      rawStreams,
      this.#mirror,
      "latest",
    );
    if (!resolved.ok) {
      const headers = new Headers(resolved.response.headers);
      headers.set(
        "access-control-allow-headers",
        RELAY_HEADERS["access-control-allow-headers"],
      );
      return new Response(resolved.response.body, {
        status: resolved.status,
        headers,
      });
    }
    const headers = {
      ...resolved.headers,
      "access-control-allow-headers":
        RELAY_HEADERS["access-control-allow-headers"],
    };
    if (request.method === "HEAD") {
      return new Response(null, { status: 200, headers });
    }
    const record: MutableConnectionLog = {
      index: 0,
      url: request.url,
      method: request.method,
      headers: {},
      clientIp,
      startedAt: this.#clock.now(),
      status: 200,
      faults: [],
      frames: [],
      framesSent: 0,
      bytesSent: 0,
    };
    this.#openByIp.set(clientIp, (this.#openByIp.get(clientIp) ?? 0) + 1);
    this.#records.add(record);
    const mirror = this.#mirror;
    this.#mirrors.set(mirror, this.#mirrors.get(mirror)! + 1);
    const session: Session = new Session({
      positions: resolved.positions,
      partitions: (topic) => mirror.partitions(topic),
      json: resolved.json,
      faults: [{
        kind: "max-age",
        ms: this.#options.maxSubscriberConnectionMs ?? 900_000,
      }],
      clock: this.#clock,
      coalesceBytes: 65536,
      interleave: "timestamp",
      maxLoggedFrames: 0,
      record,
      skip,
      offsetIds: true,
      maxBehind: this.#options.maxSubscriberLagEvents ?? 10_000,
      onEnd: () => {
        this.#sessions.delete(session);
        const left = this.#mirrors.get(mirror)! - 1;
        if (left > 0 || mirror === this.#mirror) {
          this.#mirrors.set(mirror, left);
        } else this.#mirrors.delete(mirror);
        this.#records.delete(record);
        this.#sentEnded += record.framesSent;
        const open = (this.#openByIp.get(clientIp) ?? 1) - 1;
        if (open > 0) this.#openByIp.set(clientIp, open);
        else this.#openByIp.delete(clientIp);
      },
    });
    this.#sessions.add(session);
    this.#changed();
    return new Response(session.body, { status: 200, headers });
  }

  #metrics(): string {
    const s = this.stats;
    const lag = s.lastEventMs === undefined
      ? Number.NaN
      : (this.#clock.now() - s.lastEventMs) / 1000;
    const lines = [
      [
        "eventstreams_relay_events_received_total",
        "counter",
        "Events received from upstream and logged",
        s.received,
      ],
      [
        "eventstreams_relay_events_sent_total",
        "counter",
        "Event frames sent to subscribers",
        s.sent,
      ],
      [
        "eventstreams_relay_upstream_lag_seconds",
        "gauge",
        "Now minus meta.dt of the newest logged event",
        lag,
      ],
      [
        "eventstreams_relay_upstream_reconnects_total",
        "counter",
        "Upstream connections after the first",
        Math.max(0, s.connections - 1),
      ],
      [
        "eventstreams_relay_subscribers",
        "gauge",
        "Open subscriber streams",
        s.subscribers,
      ],
      [
        "eventstreams_relay_log_bytes",
        "gauge",
        "Bytes in the retained log",
        s.logBytes,
      ],
    ] as const;
    return lines.map(([name, type, help, value]) =>
      `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`
    ).join("");
  }
}

/**
 * Starts a relay; see {@linkcode Relay}.
 *
 * @param options See {@linkcode RelayOptions}.
 * @returns The running relay.
 */
export function startRelay(options: RelayOptions): Promise<Relay> {
  return Relay.start(options);
}

/**
 * Reads `?wiki=&domain=&type=&namespace=&bot=` (comma-separated values, or
 * repeated parameters) with the CLI's checks.
 *
 * @param params The query.
 * @returns Which data to skip, or `undefined` to send everything.
 * @throws {TypeError} On a bad value, naming it.
 */
export function parseFilters(
  params: URLSearchParams,
): ((data: string) => boolean) | undefined {
  const values = (name: string) =>
    params.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim())
      .filter((v) => v !== "");
  const wiki = values("wiki");
  const domain = values("domain");
  const type = values("type");
  for (const value of wiki) checkFilterValue("wiki", value);
  for (const value of domain) checkFilterValue("domain", value);
  for (const value of type) checkFilterValue("type", value);
  const namespace = values("namespace").map((v) => {
    if (!/^-?\d+$/.test(v)) {
      throw new TypeError(
        `Invalid namespace '${v}': expected an integer namespace id like 0 or 14`,
      );
    }
    return Number(v);
  });
  const botValues = values("bot");
  let bot: boolean | undefined;
  if (botValues.length > 0) {
    const last = botValues.at(-1)!;
    if (last !== "true" && last !== "false") {
      throw new TypeError(`Invalid bot '${last}': expected true or false`);
    }
    bot = last === "true";
  }
  const keep = selectEvents({ wiki, domain, type, namespace, bot });
  if (keep === undefined) return undefined;
  return (data) => !keep(JSON.parse(data));
}

/** The data directory's `relay.json`: the streams it holds and the first start. */
async function readState(
  options: RelayOptions,
  topics: readonly string[],
): Promise<number> {
  const path = `${options.dataDir}/relay.json`;
  await Deno.mkdir(options.dataDir, { recursive: true });
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== undefined) {
    const state = JSON.parse(text) as { topics: string[]; start: number };
    if (
      state.topics.length !== topics.length ||
      state.topics.some((t, i) => t !== topics[i])
    ) {
      throw new TypeError(
        `Cannot use --data ${options.dataDir}: it holds the log of ${
          state.topics.join(", ")
        }, not ${topics.join(", ")}; give another directory`,
      );
    }
    return state.start;
  }
  const start = options.since ?? (options.clock ?? systemClock).now();
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify({ topics, start }) + "\n");
  const file = await Deno.open(temp, { write: true });
  await file.sync();
  file.close();
  await Deno.rename(temp, path);
  return start;
}

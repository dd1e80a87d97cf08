/**
 * A local emulator of the Wikimedia EventStreams server: a real HTTP server
 * on loopback that streams topic-partition logs the way
 * stream.wikimedia.org does, with scripted faults.
 *
 * @module
 */

import { type Clock, systemClock } from "../../clock.ts";
import { stripSecretHeaders } from "../cassette.ts";
import {
  type EmulatorFault,
  type EmulatorFaultScript,
  type InterleaveOrder,
  validateFaults,
} from "./faults.ts";
import {
  generateStreams,
  type GenerateStreamsOptions,
} from "./generate_streams.ts";
import type { OffsetReset } from "./last_event_id.ts";
import type { PositionedMessage } from "./logs.ts";
import {
  COMMON_HEADERS,
  jsonResponse,
  notFoundResponse,
  type RequestLine,
  statusFaultBody,
} from "./responses.ts";
import {
  EmulatedResetError,
  type EmulatorConnectionLog,
  type MutableConnectionLog,
  Session,
} from "./session.ts";
import type { EmulatorStreams, ProduceOptions } from "./stream_set.ts";
import { resolveStreamRequest } from "./stream_request.ts";

/**
 * Continuous production of generated events while the emulator runs.
 *
 * @example
 * ```ts no-assert
 * import type { EmulatorLiveOptions } from "@eventstreams/client/testing";
 * const live: EmulatorLiveOptions = { eventsPerSecond: 30, streams: ["recentchange"], tickMs: 500 };
 * ```
 */
export interface EmulatorLiveOptions {
  /** Average events per second (spread over `streams`). */
  eventsPerSecond: number;
  /**
   * The streams that receive live events.
   *
   * @default {["mediawiki.recentchange"]}
   */
  streams?: readonly string[];
  /**
   * How often events are produced, on the emulator's clock.
   *
   * @default {1000}
   */
  tickMs?: number;
}

/**
 * Options for {@linkcode serveEmulator}.
 *
 * @example
 * ```ts no-assert
 * import type { EmulatorOptions } from "@eventstreams/client/testing";
 * const options: EmulatorOptions = { port: 0, maxConnectionsPerIp: 2, faults: [[{ kind: "stall" }]] };
 * ```
 */
export interface EmulatorOptions {
  /**
   * The data to serve.
   *
   * @default {generateStreams(generate)}
   */
  streams?: EmulatorStreams;
  /**
   * Options for the generated data when `streams` is not given.
   *
   * @default {{}}
   */
  generate?: GenerateStreamsOptions;
  /**
   * The interface to listen on. Only loopback unless given explicitly.
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
   * Time for connection ages, trickle delays and live production.
   *
   * @default {systemClock}
   */
  clock?: Clock;
  /**
   * Faults per connection.
   *
   * @default {[]}
   */
  faults?: EmulatorFaultScript;
  /**
   * Concurrent streams per client IP before 429 (the server's limit is 2);
   * 0 for no limit. The IP is `X-Client-IP` if sent, else the peer address.
   *
   * @default {2}
   */
  maxConnectionsPerIp?: number;
  /**
   * How connections interleave their topic-partitions. The default is the
   * real server's: KafkaSSE hands on librdkafka's fetches, so a historical
   * read delivers batches of one topic-partition in turn (50 messages here),
   * which is where out-of-order `meta.dt` across topics comes from;
   * `"timestamp"` merges by Kafka timestamp instead.
   *
   * @default {"partition-batches"}
   */
  interleave?: InterleaveOrder;
  /**
   * Where an offset outside the log starts (librdkafka `auto.offset.reset`).
   *
   * @default {"latest"}
   */
  offsetReset?: OffsetReset;
  /**
   * While a backlog is being sent, lines coalesce into writes of about this
   * many bytes (like a busy socket); a frame sent at the live end is written
   * line by line. 0 writes every line separately, always.
   *
   * @default {65536}
   */
  coalesceBytes?: number;
  /**
   * Frames logged per connection in {@linkcode EmulatorConnectionLog.frames}
   * (`framesSent` counts them all).
   *
   * @default {10_000}
   */
  maxLoggedFrames?: number;
  /**
   * Keep producing generated events.
   *
   * @default {undefined}
   */
  live?: EmulatorLiveOptions;
  /**
   * On `close()`, how long (real time) to let clients read the rest of their
   * streams before connections are dropped.
   *
   * @default {250}
   */
  closeGraceMs?: number;
}

const STREAM_ROUTE = /^\/v2\/stream\/([^/]+)\/?$/i;

/**
 * A running emulator. Close it when done (`await using` works too).
 *
 * Not emulated: Wikimedia's User-Agent policy (production rate-limits, then
 * blocks, missing or generic agents) and the edge's 15-minute cut (script it
 * with a `max-age` fault). Assert on `connections[i].headers["user-agent"]`
 * where it matters.
 *
 * @example Streaming generated recent changes
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEmulator } from "@eventstreams/client/testing";
 * await using emulator = serveEmulator({ generate: { counts: { "mediawiki.recentchange": 20 } } });
 * const response = await fetch(`${emulator.url}/v2/stream/recentchange?since=2026-09-27T16:15:00Z`, {
 *   headers: { "user-agent": "doc-example/1.0 (https://example.org)" },
 * });
 * const reader = response.body!.getReader();
 * const { value } = await reader.read();
 * assert.ok(new TextDecoder().decode(value).startsWith(":ok\n\n"));
 * await reader.cancel();
 * ```
 */
export class Emulator {
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  /** The hostname listened on. */
  readonly hostname: string;
  /** The served data: stream configs and logs. */
  readonly streams: EmulatorStreams;
  /** The clock the emulator uses. */
  readonly clock: Clock;

  #server: Deno.HttpServer<Deno.NetAddr>;
  #abort = new AbortController();
  #options: Required<
    Pick<
      EmulatorOptions,
      | "maxConnectionsPerIp"
      | "interleave"
      | "offsetReset"
      | "coalesceBytes"
      | "maxLoggedFrames"
    >
  >;
  #closeGraceMs: number;
  #script: EmulatorFaultScript | undefined;
  #scriptStart = 0;
  #connections: MutableConnectionLog[] = [];
  #sessions = new Set<Session>();
  #openByIp = new Map<string, number>();
  #inflight = new Set<Promise<void>>();
  #waiters = new Set<() => void>();
  #cancelLive: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  /**
   * Starts an emulator; prefer {@linkcode serveEmulator}.
   *
   * @param options See {@linkcode EmulatorOptions}.
   * @throws {RangeError} On a negative limit, size or rate, or a bad fault.
   * @throws {TypeError} On an unknown live stream or fault kind.
   */
  constructor(options: EmulatorOptions = {}) {
    this.streams = options.streams ?? generateStreams(options.generate);
    this.clock = options.clock ?? systemClock;
    this.#options = {
      maxConnectionsPerIp: options.maxConnectionsPerIp ?? 2,
      interleave: options.interleave ?? "partition-batches",
      offsetReset: options.offsetReset ?? "latest",
      coalesceBytes: options.coalesceBytes ?? 65536,
      maxLoggedFrames: options.maxLoggedFrames ?? 10_000,
    };
    this.#closeGraceMs = options.closeGraceMs ?? 250;
    for (const [name, value] of Object.entries(this.#options)) {
      if (typeof value === "number" && !(value >= 0)) {
        throw new RangeError(
          `Cannot start the emulator: ${name} must be >= 0, got ${value}`,
        );
      }
    }
    this.#script = checkScript(options.faults);
    const live = options.live === undefined
      ? undefined
      : this.#checkLive(options.live);
    this.#server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      signal: this.#abort.signal,
      onListen: () => {},
      onError: (error) => {
        if (!(error instanceof EmulatedResetError)) {
          console.error("EventStreams emulator: request failed", error);
        }
        return new Response("Internal Server Error", { status: 500 });
      },
    }, (request, info) => this.#handle(request, info));
    this.hostname = this.#server.addr.hostname;
    this.port = this.#server.addr.port;
    const host = this.hostname.includes(":")
      ? `[${this.hostname}]`
      : this.hostname;
    this.url = `http://${host}:${this.port}`;
    if (live !== undefined) this.#startLive(live);
  }

  /** Every stream request so far, in arrival order. */
  get connections(): readonly EmulatorConnectionLog[] {
    return this.#connections;
  }

  /** How many streams are open right now. */
  get openConnections(): number {
    return this.#sessions.size;
  }

  /**
   * Replaces the fault script. A list applies from the next stream request
   * on (its first inner list goes to that request); a function gets the
   * absolute connection index.
   *
   * @param faults The new script, or `undefined` for none.
   * @throws {TypeError} On an unknown fault kind in a list script.
   * @throws {RangeError} On a bad count in a list script.
   */
  setFaults(faults: EmulatorFaultScript | undefined): void {
    this.#script = checkScript(faults);
    this.#scriptStart = this.#connections.length;
  }

  /**
   * Produces generated events into a stream now (timestamp: the emulator's
   * clock); open connections at the live end receive them at once.
   *
   * @param stream A stream name or alias.
   * @param count How many events.
   * @param options Topic, partition, timestamp, canary.
   * @returns The appended messages.
   * @throws {TypeError} When the stream or topic is unknown.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { serveEmulator } from "@eventstreams/client/testing";
   * await using emulator = serveEmulator({ generate: { counts: {} } });
   * const [message] = emulator.produce("recentchange", 1);
   * assert.ok(message.topic === "eqiad.mediawiki.recentchange");
   * ```
   */
  produce(
    stream: string,
    count: number,
    options: ProduceOptions = {},
  ): PositionedMessage[] {
    return this.streams.produce(stream, count, {
      ...options,
      timestamp: options.timestamp ?? this.clock.now(),
    });
  }

  /**
   * Resolves once stream request number `index` (0-based) has been answered.
   *
   * @param index The connection index.
   * @returns Its log entry.
   */
  waitForConnection(index: number): Promise<EmulatorConnectionLog> {
    return this.#waitFor(() => this.#connections[index]);
  }

  /**
   * Resolves once stream request number `index` has ended (for a stream:
   * the client went away, a fault ended it, or the emulator closed).
   *
   * @param index The connection index.
   * @returns Its log entry, with `end` set.
   */
  waitForEnd(index: number): Promise<EmulatorConnectionLog> {
    return this.#waitFor(() => {
      const log = this.#connections[index];
      return log?.end === undefined ? undefined : log;
    });
  }

  /**
   * Stops live production, ends every open stream (clean end of stream),
   * gives clients `closeGraceMs` to read what is left, then drops all
   * connections and stops listening. Leaves no timers or pending ops.
   *
   * @returns A promise that resolves when the server is down.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /**
   * Closes the emulator (for `await using`).
   *
   * @returns A promise that resolves when the server is down.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#cancelLive?.();
    this.#cancelLive = undefined;
    for (const session of [...this.#sessions]) session.terminate();
    if (this.#inflight.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight]),
        new Promise((resolve) =>
          timer = setTimeout(resolve, this.#closeGraceMs)
        ),
      ]);
      clearTimeout(timer);
    }
    this.#abort.abort();
    await this.#server.finished;
  }

  #waitFor<T>(get: () => T | undefined): Promise<T> {
    const now = get();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const check = () => {
        const value = get();
        if (value === undefined) return;
        this.#waiters.delete(check);
        resolve(value);
      };
      this.#waiters.add(check);
    });
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  #checkLive(live: EmulatorLiveOptions): Required<EmulatorLiveOptions> {
    const tickMs = live.tickMs ?? 1000;
    const streams = live.streams ?? ["mediawiki.recentchange"];
    if (!(live.eventsPerSecond >= 0) || !(tickMs > 0) || streams.length === 0) {
      throw new RangeError(
        `Cannot start live production: need eventsPerSecond >= 0, tickMs > 0 and a stream, got ${
          JSON.stringify(live)
        }`,
      );
    }
    for (const stream of streams) {
      if (this.streams.resolve(stream) === undefined) {
        throw new TypeError(
          `Cannot start live production: unknown stream '${stream}'; expected one of ${
            this.streams.names.join(", ")
          }`,
        );
      }
    }
    return { eventsPerSecond: live.eventsPerSecond, tickMs, streams };
  }

  #startLive(live: Required<EmulatorLiveOptions>): void {
    const { tickMs, streams } = live;
    let carry = 0;
    let next = 0;
    const tick = () => {
      carry += live.eventsPerSecond * tickMs / 1000;
      const count = Math.floor(carry);
      carry -= count;
      for (let i = 0; i < count; i++) {
        this.produce(streams[next], 1);
        next = (next + 1) % streams.length;
      }
      this.#cancelLive = this.clock.setTimeout(tick, tickMs);
    };
    this.#cancelLive = this.clock.setTimeout(tick, tickMs);
  }

  #handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Response {
    const completed = info.completed.catch(() => {});
    this.#inflight.add(completed);
    completed.then(() => this.#inflight.delete(completed));

    const url = new URL(request.url);
    const line: RequestLine = {
      method: request.method,
      uri: url.pathname + url.search,
    };
    const match = STREAM_ROUTE.exec(url.pathname);
    if (
      match !== null && (request.method === "GET" || request.method === "HEAD")
    ) {
      return this.#stream(request, info, line, match[1]);
    }
    if (request.method === "OPTIONS" && match !== null) {
      return new Response("GET,HEAD", {
        status: 200,
        headers: {
          ...COMMON_HEADERS,
          allow: "GET,HEAD",
          "content-type": "text/html; charset=utf-8",
        },
      });
    }
    if (request.method === "GET" && url.pathname === "/") {
      if (url.searchParams.has("spec")) return jsonResponse(200, this.#spec());
      if (url.searchParams.has("doc")) {
        return new Response(
          '<!DOCTYPE html>\n<title>EventStreams emulator</title>\n<p>See <a href="/?spec">/?spec</a>.</p>\n',
          {
            headers: {
              ...COMMON_HEADERS,
              "content-type": "text/html; charset=utf-8",
            },
          },
        );
      }
      return new Response(null, {
        status: 303,
        headers: { ...COMMON_HEADERS, location: "/?doc" },
      });
    }
    if (request.method === "GET" && url.pathname === "/robots.txt") {
      return new Response("User-agent: *\nDisallow: /\n", {
        headers: {
          ...COMMON_HEADERS,
          "content-type": "text/plain; charset=utf-8",
        },
      });
    }
    return notFoundResponse(request.method, url.pathname);
  }

  #stream(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    line: RequestLine,
    rawStreams: string,
  ): Response {
    const index = this.#connections.length;
    const headers = stripSecretHeaders(request.headers);
    const clientIp = request.headers.get("x-client-ip") ??
      info.remoteAddr.hostname;
    const faults = validateFaults(this.#faultsFor(index, request));
    const record: MutableConnectionLog = {
      index,
      url: request.url,
      method: request.method,
      headers,
      clientIp,
      startedAt: this.clock.now(),
      status: 0,
      faults,
      frames: [],
      framesSent: 0,
      bytesSent: 0,
    };
    this.#connections.push(record);
    const reject = (
      status: number,
      body: string,
      response: Response,
    ): Response => {
      record.status = status;
      record.responseBody = body;
      record.end = { reason: "rejected", abrupt: false, at: this.clock.now() };
      this.#changed();
      return response;
    };

    const statusFault = faults.find((f) => f.kind === "status");
    if (statusFault !== undefined) {
      const body = statusFault.body ??
        statusFaultBody(line, statusFault.status);
      return reject(
        statusFault.status,
        body,
        jsonResponse(statusFault.status, body, { ...statusFault.headers }),
      );
    }
    // Per routes/stream.js: connection limit, then stream names, then since.
    const limit = this.#options.maxConnectionsPerIp;
    if (limit > 0 && (this.#openByIp.get(clientIp) ?? 0) >= limit) {
      const body = statusFaultBody(line, 429);
      return reject(429, body, jsonResponse(429, body));
    }
    const resolved = resolveStreamRequest(
      request,
      rawStreams,
      this.streams,
      this.#options.offsetReset,
    );
    if (!resolved.ok) {
      return reject(resolved.status, resolved.body, resolved.response);
    }
    const { positions, json, headers: responseHeaders } = resolved;
    record.status = 200;
    if (request.method === "HEAD") {
      record.end = { reason: "rejected", abrupt: false, at: this.clock.now() };
      this.#changed();
      return new Response(null, { status: 200, headers: responseHeaders });
    }
    this.#openByIp.set(clientIp, (this.#openByIp.get(clientIp) ?? 0) + 1);
    const session: Session = new Session({
      positions,
      partitions: (topic) => this.streams.partitions(topic),
      json,
      faults,
      clock: this.clock,
      coalesceBytes: this.#options.coalesceBytes,
      interleave: this.#options.interleave,
      maxLoggedFrames: this.#options.maxLoggedFrames,
      record,
      onEnd: () => {
        this.#sessions.delete(session);
        const open = (this.#openByIp.get(clientIp) ?? 1) - 1;
        if (open > 0) this.#openByIp.set(clientIp, open);
        else this.#openByIp.delete(clientIp);
        this.#changed();
      },
    });
    this.#sessions.add(session);
    this.#changed();
    return new Response(session.body, {
      status: 200,
      headers: responseHeaders,
    });
  }

  #faultsFor(index: number, request: Request): readonly EmulatorFault[] {
    const script = this.#script;
    if (script === undefined) return [];
    if (typeof script === "function") return script(index, request) ?? [];
    return script[index - this.#scriptStart] ?? [];
  }

  #spec(): string {
    if (this.streams.spec !== undefined) return this.streams.spec;
    return JSON.stringify({
      openapi: "3.0.0",
      info: { version: "emulator", title: "Wikimedia EventStreams (emulator)" },
      paths: {
        "/v2/stream/{streams}": {
          get: {
            parameters: [{
              name: "streams",
              in: "path",
              schema: {
                type: "array",
                items: { type: "string", enum: this.streams.names },
              },
              required: true,
            }],
          },
        },
      },
    });
  }
}

/** Validates a list script up front (a function script is checked per call). */
function checkScript(
  script: EmulatorFaultScript | undefined,
): EmulatorFaultScript | undefined {
  if (Array.isArray(script)) {
    for (const faults of script) validateFaults(faults);
  }
  return script;
}

/**
 * Starts an EventStreams emulator on loopback (port 0: a free port) and
 * returns at once; see {@linkcode Emulator}. Any SSE client can be pointed
 * at `emulator.url`.
 *
 * @param options Data, faults, limits, clock, listening address.
 * @returns The running emulator.
 * @throws {RangeError} On a negative limit, size or rate, or a bad fault.
 * @throws {TypeError} On an unknown live stream or fault kind.
 *
 * @example A scripted 503, then a stream cut after two frames
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEmulator } from "@eventstreams/client/testing";
 * const emulator = serveEmulator({
 *   generate: { counts: { "mediawiki.recentchange": 10 } },
 *   faults: [[{ kind: "status", status: 503 }], [{ kind: "cut", afterFrames: 2 }]],
 * });
 * const url = `${emulator.url}/v2/stream/recentchange?since=2026-09-27T16:00:00Z`;
 * const first = await fetch(url);
 * await first.body?.cancel();
 * assert.ok(first.status === 503);
 * const text = await (await fetch(url)).text();
 * assert.ok(text.split("\n\n").filter((f) => f.startsWith("event: message")).length === 2);
 * await emulator.close();
 * ```
 */
export function serveEmulator(options: EmulatorOptions = {}): Emulator {
  return new Emulator(options);
}

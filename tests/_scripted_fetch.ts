/**
 * Test helper: an in-process fake EventStreams server behind a `fetch`, and a
 * writer of KafkaSSE frames with ids exactly as the server writes them.
 *
 * `ScriptedFetch` serves a queue of scripted responses in order. Each body is
 * a pull-based `ReadableStream` the test feeds chunk by chunk (`push`, `end`,
 * `fail`), so the test decides where chunk boundaries fall and when the
 * server goes silent. It records every request, and it enforces the server's
 * rule that matters most here: a client must close its connection before it
 * opens the next one (a `fetch` while an earlier body is neither cancelled,
 * aborted nor read to its end is a violation: it throws and is recorded).
 *
 * Not part of the published package (tests/ is excluded).
 *
 * @module
 */

/** One request as the fake server saw it. */
export interface RecordedRequest {
  url: string;
  method: string;
  headers: Headers;
  /** The `Last-Event-ID` header, or `null`. */
  lastEventId: string | null;
}

/** How a scripted connection ended, from the server's side. */
export type ConnectionEnd = "eof" | "cancelled" | "aborted" | "reset";

const encoder = new TextEncoder();

/** One scripted response: status, headers and a body the test feeds. */
export class ScriptedConnection {
  readonly status: number;
  readonly headers: Headers;
  /** The request this response answered (set once fetched). */
  request: RecordedRequest | undefined;
  /** How the connection ended, once it has. */
  ended: ConnectionEnd | undefined;
  #queue: Uint8Array[] = [];
  #eof = false;
  #failure: unknown = undefined;
  #wake: (() => void) | undefined;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #endWaiters: (() => void)[] = [];

  constructor(status: number, headers: HeadersInit) {
    this.status = status;
    this.headers = new Headers(headers);
  }

  /** Set to make the request itself fail (DNS, refused connection) instead of answering. */
  rejection: unknown = undefined;

  /** How many pushed chunks the client has not read yet (backpressure). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Whether the client fetched this response and the body has not ended. */
  get open(): boolean {
    return this.request !== undefined && this.ended === undefined;
  }

  /** Queues a body chunk (text is UTF-8 encoded). */
  push(chunk: string | Uint8Array): this {
    this.#queue.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
    this.#wakeUp();
    return this;
  }

  /** Ends the body cleanly after the queued chunks (the server's 15-minute cut). */
  end(): this {
    this.#eof = true;
    this.#wakeUp();
    return this;
  }

  /** Breaks the connection after the queued chunks (a network reset). */
  fail(
    error: unknown = new TypeError(
      "error reading a body from connection: connection reset",
    ),
  ): this {
    this.#failure = error;
    this.#wakeUp();
    return this;
  }

  /** Resolves once the connection has ended (however). */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => this.#endWaiters.push(resolve));
  }

  /** @internal Builds the body stream for `fetch`. */
  body(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: async (controller) => {
        while (
          this.#queue.length === 0 && !this.#eof && this.#failure === undefined
        ) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          if (this.ended) return;
        }
        if (this.#queue.length > 0) {
          return controller.enqueue(this.#queue.shift()!);
        }
        if (this.#failure !== undefined) {
          controller.error(this.#failure);
          return this.#finish("reset");
        }
        controller.close();
        this.#finish("eof");
      },
      cancel: () => this.#finish("cancelled"),
    }, { highWaterMark: 0 });
  }

  /** @internal Like real fetch: aborting errors the body with the signal's reason. */
  abort(reason: unknown): void {
    if (this.ended) return;
    try {
      this.#controller?.error(reason);
    } catch {
      // Already closed or errored.
    }
    this.#finish("aborted");
  }

  #finish(how: ConnectionEnd): void {
    if (this.ended) return;
    this.ended = how;
    this.#wakeUp();
    for (const resolve of this.#endWaiters.splice(0)) resolve();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * A fake EventStreams server as a `fetch`. Responses are served in the order
 * they were scripted; a fetch made before its response is scripted waits for
 * it (or for its signal).
 */
export class ScriptedFetch {
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Every broken rule (two connections open at once), in order. */
  readonly violations: string[] = [];
  /** Every response, scripted order. */
  readonly connections: ScriptedConnection[] = [];
  #served = 0;
  #scriptWaiters: (() => void)[] = [];
  #requestWaiters: { count: number; resolve: () => void }[] = [];

  /** The fetch to hand to the client. */
  readonly fetch: typeof fetch = (input, init) => this.#fetch(input, init);

  /** Scripts a 200 `text/event-stream` response whose body starts with `:ok`, like the server's. */
  stream(headers: HeadersInit = {}): ScriptedConnection {
    const conn = this.respond(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      ...Object.fromEntries(new Headers(headers)),
    });
    return conn.push(":ok\n\n");
  }

  /** Scripts a response with a complete body (an error answer, an HTML page). */
  reply(
    status: number,
    body: string,
    headers: HeadersInit = { "content-type": "application/json" },
  ): ScriptedConnection {
    return this.respond(status, headers).push(body).end();
  }

  /** Scripts a request that fails before any response (`fetch` rejects with `error`). */
  refuse(
    error: unknown = new TypeError("error sending request: connection refused"),
  ): ScriptedConnection {
    const conn = this.respond(0, {});
    conn.rejection = error;
    return conn;
  }

  /** Scripts a response; feed its body through the returned connection. */
  respond(status: number, headers: HeadersInit): ScriptedConnection {
    const conn = new ScriptedConnection(status, headers);
    this.connections.push(conn);
    for (const wake of this.#scriptWaiters.splice(0)) wake();
    return conn;
  }

  /** How many connections are open now (0 or 1 for a well-behaved client). */
  get openConnections(): number {
    return this.connections.filter((c) => c.open).length;
  }

  /** Resolves once at least `count` requests were made. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) =>
      this.#requestWaiters.push({ count, resolve })
    );
  }

  /** Throws when a rule was broken or a connection is still open. */
  assertClean(): void {
    if (this.violations.length > 0) throw new Error(this.violations.join("\n"));
    const open = this.connections.filter((c) => c.open);
    if (open.length > 0) {
      throw new Error(
        `${open.length} connection(s) left open: ${
          open.map((c) => c.request?.url)
        }`,
      );
    }
  }

  async #fetch(
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> {
    const request = new Request(input, init);
    const recorded: RecordedRequest = {
      url: request.url,
      method: request.method,
      headers: request.headers,
      lastEventId: request.headers.get("last-event-id"),
    };
    const signal = init?.signal ?? undefined;
    const stillOpen = this.connections.filter((c) => c.open);
    this.requests.push(recorded);
    for (
      const w of this.#requestWaiters.filter((w) =>
        this.requests.length >= w.count
      )
    ) w.resolve();
    this.#requestWaiters = this.#requestWaiters.filter((w) =>
      this.requests.length < w.count
    );
    if (stillOpen.length > 0) {
      const message =
        `Request ${this.requests.length} (${recorded.url}) was made while ` +
        `${stillOpen.length} earlier connection(s) were still open`;
      this.violations.push(message);
      throw new Error(message);
    }
    signal?.throwIfAborted();
    while (this.#served >= this.connections.length) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#scriptWaiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
    const conn = this.connections[this.#served++];
    conn.request = recorded;
    if (conn.rejection !== undefined) {
      conn.ended = "reset";
      throw conn.rejection;
    }
    if (signal) {
      signal.throwIfAborted();
      signal.addEventListener("abort", () => conn.abort(signal.reason), {
        once: true,
      });
    }
    return new Response(conn.body(), {
      status: conn.status,
      headers: conn.headers,
    });
  }
}

// ---------------------------------------------------------------------------
// KafkaSSE frames
// ---------------------------------------------------------------------------

/** One Kafka message of a fake topic-partition log. */
export interface LogMessage {
  topic: string;
  partition?: number;
  offset: number;
  /** ISO-8601 UTC; the Kafka timestamp equals it. */
  dt: string;
  /** `meta.id`; defaults to a deterministic UUID-like id from topic and offset. */
  id?: string;
  /** `meta.domain`; @default "en.wikipedia.org" */
  domain?: string;
  /** Extra top-level fields of the event. */
  fields?: Record<string, unknown>;
}

/** A start entry of a KafkaSSE id, as the server lists partitions it has not delivered from. */
export type IdEntry =
  | { topic: string; partition: number; offset: number }
  | { topic: string; partition: number; timestamp: number };

/**
 * Writes frames the way KafkaSSE does: the id lists every topic-partition of
 * the connection in a fixed order; after a message from (T,P) is sent, T,P's
 * entry becomes `{topic, partition, timestamp: kafkaTs + 1}`; the others keep
 * their start entry (`offset: -1` unless given).
 */
export class KafkaSseWriter {
  #entries: IdEntry[];
  #exact: boolean;
  readonly stream: string;

  /**
   * @param stream The stream name put in `meta.stream`.
   * @param start The connection's topic-partitions and their start entries;
   * strings mean `{topic, partition: 0, offset: -1}`.
   * @param ids `"offset"` for a server that resumes exactly (a relay): after
   * a message, its entry becomes `{offset: meta.offset + 1}`.
   */
  constructor(
    stream: string,
    start: (string | IdEntry)[],
    ids: "timestamp" | "offset" = "timestamp",
  ) {
    this.stream = stream;
    this.#exact = ids === "offset";
    this.#entries = start.map((e) =>
      typeof e === "string" ? { topic: e, partition: 0, offset: -1 } : { ...e }
    );
  }

  /** The id the server would send now. */
  get id(): string {
    return JSON.stringify(this.#entries);
  }

  /** The event object the server would send for `message`. */
  event(message: LogMessage): Record<string, unknown> {
    const partition = message.partition ?? 0;
    return {
      $schema: "/mediawiki/recentchange/1.0.0",
      meta: {
        uri: `https://en.wikipedia.org/wiki/Page_${message.offset}`,
        request_id: `req-${message.offset}`,
        id: message.id ?? fakeUuid(message.topic, partition, message.offset),
        dt: message.dt,
        domain: message.domain ?? "en.wikipedia.org",
        stream: this.stream,
        topic: message.topic,
        partition,
        offset: message.offset,
      },
      title: `Page ${message.offset}`,
      wiki: "enwiki",
      ...message.fields,
    };
  }

  /** The frame for `message`, after which the id records its delivery. */
  frame(message: LogMessage): string {
    const partition = message.partition ?? 0;
    const data = JSON.stringify(this.event(message));
    const at = this.#entries.findIndex((e) =>
      e.topic === message.topic && e.partition === partition
    );
    const delivered: IdEntry = this.#exact
      ? { topic: message.topic, partition, offset: message.offset + 1 }
      : {
        topic: message.topic,
        partition,
        timestamp: Date.parse(message.dt) + 1,
      };
    if (at === -1) this.#entries.push(delivered);
    else this.#entries[at] = delivered;
    return `event: message\nid: ${this.id}\ndata: ${data}\n\n`;
  }

  /** The frames of several messages, concatenated. */
  frames(messages: LogMessage[]): string {
    return messages.map((m) => this.frame(m)).join("");
  }

  /** The `event: error` frame KafkaSSE sends on an internal failure, before closing. */
  errorFrame(message = "Kafka consumer failed"): string {
    const data = JSON.stringify({
      message,
      name: "KafkaSSEError",
      origin: "KafkaSSE",
    });
    return `event: error\nid: ${this.id}\ndata: ${data}\n\n`;
  }
}

/** A deterministic id shaped like a UUID. */
export function fakeUuid(
  topic: string,
  partition: number,
  offset: number,
): string {
  let h = 2166136261;
  for (const ch of `${topic}/${partition}/${offset}`) {
    h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  }
  const hex = h.toString(16).padStart(8, "0");
  const tail = offset.toString(16).padStart(12, "0").slice(-12);
  return `${hex}-0000-4000-8000-${tail}`;
}

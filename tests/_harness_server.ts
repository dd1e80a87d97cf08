/**
 * Test helper for the record/replay harness tests: a loopback server that
 * writes known chunks one at a time, in lockstep with the test, so the chunk
 * boundaries the client sees are the ones the server wrote.
 */

/** How the body ends after the last chunk. */
export type ChunkServerEnd = "close" | "hang" | "error";

/** One request the server received. */
export interface ReceivedRequest {
  url: string;
  headers: Headers;
}

/** A running chunk server. */
export interface ChunkServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Requests received, in order. */
  readonly requests: ReceivedRequest[];
  /** Lets the server write its next chunk (or its end). */
  send(count?: number): void;
  /** Resolves when the client has gone away from a hanging response. */
  readonly cancelled: Promise<void>;
  close(): Promise<void>;
}

function onError(): Response {
  return new Response("test server error", { status: 500 });
}

/**
 * Serves every request with `chunks`, one per `send()`, then ends as `end` says.
 *
 * @param chunks The body chunks of each response.
 * @param end What follows the last chunk.
 */
export function serveChunks(
  chunks: readonly Uint8Array[],
  end: ChunkServerEnd = "close",
): ChunkServer {
  const requests: ReceivedRequest[] = [];
  let permits = 0;
  let wake: (() => void) | undefined;
  const { promise: cancelled, resolve: onCancelled } = Promise.withResolvers<
    void
  >();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError,
  }, (request) => {
    requests.push({ url: request.url, headers: request.headers });
    let index = 0;
    let stopped = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (permits === 0 && !stopped) {
          await new Promise<void>((resolve) => wake = resolve);
        }
        if (stopped) return;
        permits--;
        if (index < chunks.length) {
          controller.enqueue(chunks[index++]);
        } else if (end === "close") {
          controller.close();
        } else if (end === "error") {
          controller.error(new Error("The test server failed mid-body"));
        } else {
          permits++; // Hang: keep the permit, write nothing more.
          await new Promise<void>((resolve) => wake = resolve);
        }
      },
      cancel() {
        stopped = true;
        wake?.();
        onCancelled();
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "set-cookie": "id=SERVER-SECRET",
      },
    });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    cancelled,
    send(count = 1) {
      permits += count;
      const w = wake;
      wake = undefined;
      w?.();
    },
    close: () => server.shutdown(),
  };
}

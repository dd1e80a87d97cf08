/**
 * A TCP chaos proxy for loopback tests: it forwards each accepted connection
 * to a target and, on the way back (server to client), applies one fault of
 * its plan at a chosen byte, independent of the HTTP layer. Byte positions
 * fall anywhere: inside the status line and headers, a chunk-size line, a
 * frame. What each fault is:
 *
 * - `fin`: forward `atByte` bytes, then close both sides (the client reads a
 *   clean TCP end in the middle of whatever it was reading);
 * - `stall`: forward `atByte` bytes, then forward nothing more and keep the
 *   connection open until the client gives up (a zombie below HTTP);
 * - `fragment`: forward everything in pieces of 1 to `pieceBytes` bytes.
 *
 * Deno has no `SO_LINGER`, so a true RST cannot be forced; the emulator's
 * `abrupt` faults cover a reset body.
 *
 * @module
 */

/** One connection's fault. */
export type ChaosFault =
  | { kind: "none" }
  | { kind: "fin"; atByte: number }
  | { kind: "stall"; atByte: number }
  | { kind: "fragment"; pieceBytes: number };

/** A running proxy. */
export interface ChaosProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Faults applied so far (connections accepted with a fault other than `none`), by kind. */
  readonly applied: Readonly<Record<string, number>>;
  /** Stops accepting, closes every connection. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free loopback port.
 *
 * @param target The port to forward to, on 127.0.0.1.
 * @param plan The fault for the connection with this index (0-based).
 * @returns The proxy.
 */
export function startChaosProxy(
  target: number,
  plan: (index: number) => ChaosFault,
): ChaosProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const applied: Record<string, number> = {};
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<void>>();
  let index = 0;
  const accepting = (async () => {
    for await (const client of listener) {
      const fault = plan(index++);
      if (fault.kind !== "none") {
        applied[fault.kind] = (applied[fault.kind] ?? 0) + 1;
      }
      const pipe = serve(client, target, fault, open).finally(() =>
        pipes.delete(pipe)
      );
      pipes.add(pipe);
    }
  })().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      listener.close();
      await accepting;
      for (const conn of open) closeQuietly(conn);
      await Promise.allSettled([...pipes]);
    })();
  return {
    url: `http://127.0.0.1:${port}`,
    applied,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function serve(
  client: Deno.Conn,
  target: number,
  fault: ChaosFault,
  open: Set<Deno.Conn>,
): Promise<void> {
  open.add(client);
  let server: Deno.Conn;
  try {
    server = await Deno.connect({ hostname: "127.0.0.1", port: target });
  } catch {
    closeQuietly(client);
    open.delete(client);
    return;
  }
  open.add(server);
  const end = () => {
    closeQuietly(client);
    closeQuietly(server);
  };
  // Client to server: untouched. When the client goes, so does the server side.
  const up = copy(client, server).finally(end);
  const down = forward(server, client, fault).finally(() => {
    // A stall holds the client until it gives up: the up pipe ends it then.
    if (fault.kind !== "stall") end();
  });
  await Promise.allSettled([up, down]);
  open.delete(client);
  open.delete(server);
}

async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    const n = await from.read(buffer);
    if (n === null) return;
    await writeAll(to, buffer.subarray(0, n));
  }
}

async function forward(
  from: Deno.Conn,
  to: Deno.Conn,
  fault: ChaosFault,
): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  let sent = 0;
  while (true) {
    const n = await from.read(buffer);
    if (n === null) return;
    let bytes = buffer.subarray(0, n);
    if (fault.kind === "fin" || fault.kind === "stall") {
      const left = fault.atByte - sent;
      if (left < bytes.length) {
        await writeAll(to, bytes.subarray(0, left));
        if (fault.kind === "stall") {
          // Keep reading (and dropping) so the server is not held by backpressure.
          while ((await from.read(buffer)) !== null) { /* dropped */ }
        }
        return;
      }
    }
    if (fault.kind === "fragment") {
      for (let i = 0; i < bytes.length;) {
        const size = 1 + ((sent + i) * 7919 % fault.pieceBytes);
        await writeAll(to, bytes.subarray(i, i + size));
        i += size;
      }
      sent += bytes.length;
      continue;
    }
    sent += bytes.length;
    await writeAll(to, bytes);
    bytes = buffer;
  }
}

async function writeAll(to: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await to.write(bytes.subarray(written));
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

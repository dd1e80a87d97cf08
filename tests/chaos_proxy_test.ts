import assert from "node:assert/strict";
import { startChaosProxy } from "../src/testing/emulator/chaos_proxy.ts";

function serveFixed(body: string): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body, { headers: { "content-type": "text/plain" } }),
  );
}

Deno.test("chaos proxy: fragmentation keeps every byte; a FIN inside the status line fails the request", async () => {
  const body = "x".repeat(5_000) + "\n";
  await using server = serveFixed(body);
  const faults = [
    { kind: "fragment", pieceBytes: 3 } as const,
    { kind: "fin", atByte: 7 } as const,
  ];
  await using proxy = startChaosProxy(server.addr.port, (i) => faults[i]);
  const whole = await fetch(proxy.url, { headers: { connection: "close" } });
  assert.equal(await whole.text(), body);
  await assert.rejects(
    fetch(proxy.url, { headers: { connection: "close" } }),
    TypeError,
  );
  assert.deepEqual({ ...proxy.applied }, { fragment: 1, fin: 1 });
});

/**
 * The bundled core in real headless browsers (Debian's Chromium, and
 * Firefox ESR over WebDriver BiDi), driven by puppeteer-core, no browser
 * download. The page comes from one loopback origin and the emulator from
 * another, so every request is cross-origin and meets the server's CORS
 * rules (only `accept, x-requested-with, content-type` allowed as request
 * headers): the client must send only CORS-safelisted headers, resume
 * without `Last-Event-ID`, and still hand over every event exactly once,
 * through cuts and a zombie connection, and on the quiet-partition case.
 */
import assert from "node:assert/strict";
import puppeteer, { type Browser } from "npm:puppeteer-core@25.16.0";
import { serveEmulator } from "../src/testing/emulator/mod.ts";
import {
  assertExactlyOnce,
  bundleCore,
  type ConsumerReport,
  cutAndStallCase,
  quietPartitionCase,
  type RuntimeCase,
  tool,
} from "./_runtimes.ts";

/** What the page runs: `consume(options)` resolves with a report, never rejects. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>eventstreams in a browser</title>
<script type="module">
import { eventStream } from "./eventstreams.js";
globalThis.consume = async ({ baseUrl, request, since, want }) => {
  const errors = [];
  const stream = eventStream(request, {
    userAgent: "eventstreams-browser-test/1.0 (https://example.org/test; test@example.org)",
    baseUrl,
    since,
    idleTimeoutMs: 1000,
    backoff: { initialMs: 10, maxMs: 100 },
    onError: (error) => errors.push(error.message),
  });
  const keys = [];
  let failure;
  const hang = setTimeout(() => stream.close(), 30000);
  try {
    for await (const event of stream) {
      const { topic, partition, offset } = event.meta;
      keys.push(topic + "/" + partition + "/" + offset);
      if (keys.length === want) break;
    }
  } catch (error) {
    failure = String(error && error.message || error);
  } finally {
    clearTimeout(hang);
  }
  const { events, duplicates, connections } = stream.stats;
  return {
    runtime: navigator.userAgent, keys, stats: { events, duplicates, connections },
    cursor: stream.cursor, errors: errors.slice(0, 5), failure,
  };
};
globalThis.refusals = async (baseUrl) => {
  const userAgent = "eventstreams-browser-test/1.0 (https://example.org/test; test@example.org)";
  let unsafe;
  try {
    eventStream("recentchange", { userAgent, baseUrl, headers: { "Api-User-Agent": userAgent } });
  } catch (error) {
    unsafe = error.name + ": " + error.message;
  }
  const stream = eventStream("recentchange", { userAgent, baseUrl, backoff: { initialMs: 10, maxMs: 50 } });
  let refused;
  try {
    for await (const _ of stream) break;
  } catch (error) {
    refused = { name: error.name, message: error.message, attempts: error.attempts };
  }
  return { unsafe, refused, stats: stream.stats };
};
</script>
`;

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface BrowserReport extends ConsumerReport {
  errors: string[];
  failure?: string;
}

Deno.test("the bundled core in headless Chromium and Firefox, cross-origin, hands over every event exactly once", async (t) => {
  const script = await bundleCore();
  // The page's origin: 127.0.0.1 on its own port; the emulator has another.
  await using site = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/") {
      return new Response(PAGE, { headers: { "content-type": "text/html" } });
    }
    if (path === "/eventstreams.js") {
      return new Response(script, {
        headers: { "content-type": "text/javascript" },
      });
    }
    return new Response("not found", { status: 404 });
  });
  const pageUrl = `http://127.0.0.1:${site.addr.port}/`;
  const profiles = await Deno.makeTempDir({ prefix: "eventstreams_browsers_" });
  const cases = [await cutAndStallCase(), quietPartitionCase()];
  const browsers = [
    {
      name: "Chromium",
      launch: () =>
        puppeteer.launch({
          browser: "chrome",
          executablePath: tool("/usr/bin/chromium", "Chromium"),
          headless: true,
          args: CHROMIUM_ARGS,
          userDataDir: Deno.makeTempDirSync({ dir: profiles }),
        }),
    },
    {
      name: "Firefox",
      launch: () =>
        puppeteer.launch({
          browser: "firefox",
          executablePath: tool("/usr/bin/firefox-esr", "Firefox ESR"),
          headless: true,
          userDataDir: Deno.makeTempDirSync({ dir: profiles }),
        }),
    },
  ];
  try {
    for (const { name, launch } of browsers) {
      let browser: Browser | undefined;
      try {
        browser = await launch();
        const page = await browser.newPage();
        await page.goto(pageUrl);
        await t.step(
          `${name}: a server without CORS headers ends the stream with an error; Api-User-Agent is refused`,
          async () => {
            await refusals(page);
          },
        );
        for (const testCase of cases) {
          await t.step(
            `${name}: ${testCase.name}, ${testCase.expected.length} events`,
            async () => {
              const report = await runCase(page, testCase);
              console.log(assertExactlyOnce(testCase, report));
            },
          );
        }
      } finally {
        await browser?.close();
      }
    }
  } finally {
    await Deno.remove(profiles, { recursive: true });
  }
});

/** A server that answers like EventStreams but sends no CORS headers: the browser refuses every answer. */
async function refusals(
  page: import("npm:puppeteer-core@25.16.0").Page,
): Promise<void> {
  let requests = 0;
  await using closed = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, () => {
    requests++;
    return new Response(":ok\n\n", {
      headers: { "content-type": "text/event-stream" },
    });
  });
  const baseUrl = `http://127.0.0.1:${closed.addr.port}`;
  const result = await page.evaluate(
    // deno-lint-ignore no-explicit-any
    (url) => (globalThis as any).refusals(url),
    baseUrl,
  ) as {
    unsafe?: string;
    refused?: { name: string; message: string; attempts: number };
    stats: { connections: number };
  };
  assert.match(
    result.unsafe ?? "",
    /^TypeError: Cannot send header 'api-user-agent' from a browser: EventStreams allows only accept, x-requested-with and content-type/,
  );
  assert.equal(result.refused?.name, "EventStreamsRefusedError");
  assert.equal(result.refused?.attempts, 4);
  assert.match(
    result.refused.message,
    new RegExp(
      `^Cannot connect to ${baseUrl}/v2/stream/mediawiki.recentchange\\?since=\\S+ from this page: the browser refused all 4 requests before any event`,
    ),
  );
  assert.equal(result.stats.connections, 0);
  assert.equal(requests, 4); // A simple request reaches the server; the browser hides the answer.
}

async function runCase(
  page: import("npm:puppeteer-core@25.16.0").Page,
  testCase: RuntimeCase,
): Promise<BrowserReport> {
  await using emulator = serveEmulator({
    streams: testCase.streams,
    faults: testCase.faults,
  });
  const report = await page.evaluate(
    // deno-lint-ignore no-explicit-any
    (options) => (globalThis as any).consume(options),
    {
      baseUrl: emulator.url,
      request: testCase.request,
      since: testCase.since,
      want: testCase.expected.length,
    },
  ) as BrowserReport;
  const context = `${report.runtime}: ${report.failure ?? "no failure"}; ` +
    `errors: ${report.errors.join(" | ")}`;
  assert.equal(report.failure, undefined, context);
  // Only CORS-safelisted headers left the page: nothing needed a preflight.
  for (const connection of emulator.connections) {
    assert.equal(connection.headers["last-event-id"], undefined, context);
    assert.equal(connection.headers["api-user-agent"], undefined, context);
    assert.doesNotMatch(
      connection.headers["user-agent"] ?? "",
      /eventstreams/,
      context,
    );
  }
  assert.equal(report.stats.connections, emulator.connections.length);
  return report;
}

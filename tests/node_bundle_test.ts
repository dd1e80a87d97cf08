/**
 * The streaming core runs beyond Deno: `deno bundle` turns mod.ts into one ESM
 * file, and the system's real Node (never Deno's emulation of it: the script
 * fails when `process.versions.deno` is set) consumes a scripted stream
 * through it (including a reconnect). A second test keeps `Deno.*` and
 * `node:` out of the core.
 */
import assert from "node:assert/strict";
import { bundleCore, systemNode } from "./_runtimes.ts";

const root = new URL("../", import.meta.url);

const NODE_SCRIPT = `
import { eventStream } from "./eventstreams.mjs";

if (process.versions.deno !== undefined) {
  console.error("This is Deno's Node emulation (process.versions.deno is set), not Node");
  process.exit(2);
}

const encoder = new TextEncoder();
const EQIAD = "eqiad.mediawiki.recentchange";
const CODFW = "codfw.mediawiki.recentchange";
function frame(offset, second, domain = "en.wikipedia.org") {
  const dt = new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
  const id = JSON.stringify([
    { topic: EQIAD, partition: 0, timestamp: Date.parse(dt) + 1 },
    { topic: CODFW, partition: 0, offset: -1 },
  ]);
  const meta = { topic: EQIAD, partition: 0, offset, dt, id: "id-" + offset, stream: "mediawiki.recentchange", domain };
  return "event: message\\nid: " + id + "\\ndata: " + JSON.stringify({ meta, title: "Page " + offset }) + "\\n\\n";
}
// Two connections: the first ends (EOF) after a frame cut in two and a canary; the second resumes.
const bodies = [
  [":ok\\n\\n", frame(1, 0).slice(0, 25), frame(1, 0).slice(25) + frame(2, 1, "canary"), frame(3, 2).slice(0, 30)],
  [":ok\\n\\n", frame(3, 2) + frame(4, 3)],
];
const requests = [];
async function fetch(url, init) {
  requests.push({ url, userAgent: init.headers.get("user-agent"), lastEventId: init.headers.get("last-event-id") });
  const chunks = bodies.shift() ?? [];
  const body = new ReadableStream({
    pull(controller) {
      const chunk = chunks.shift();
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

const stream = eventStream("recentchange", {
  userAgent: "NodeBundleTest/1.0 (https://example.org/test; test@example.org)",
  fetch,
  backoff: { initialMs: 1 },
});
const events = [];
for await (const event of stream) {
  events.push(event.meta.offset + " " + event.title);
  if (events.length === 3) break;
}
console.log(JSON.stringify({ events, cursor: stream.cursor, requests, stats: stream.stats }));
// The stream left nothing behind: Node exits now. If a timer or socket kept it alive, fail.
setTimeout(() => {
  console.error("Node is still running 5 s after close(): the stream left a handle behind");
  process.exit(3);
}, 5000).unref();
`;

Deno.test("a deno bundle of mod.ts runs on Node and consumes a scripted stream", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eventstreams_bundle_" });
  try {
    await Deno.writeTextFile(`${dir}/eventstreams.mjs`, await bundleCore());
    await Deno.writeTextFile(`${dir}/main.mjs`, NODE_SCRIPT);
    const run = await new Deno.Command(await systemNode(), {
      args: ["main.mjs"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `node failed: ${stderr}`);
    const result = JSON.parse(new TextDecoder().decode(run.stdout));
    assert.deepEqual(result.events, ["1 Page 1", "3 Page 3", "4 Page 4"]);
    const pinnedCodfw =
      `{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":${
        Date.UTC(2026, 0, 1)
      }}`;
    assert.equal(
      result.cursor,
      `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5},${pinnedCodfw}]`,
    );
    assert.equal(result.requests.length, 2);
    assert.equal(
      result.requests[0].userAgent,
      "NodeBundleTest/1.0 (https://example.org/test; test@example.org) eventstreams/0.1.0",
    );
    assert.equal(result.requests[0].lastEventId, null);
    assert.equal(
      result.requests[1].lastEventId,
      `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":3},${pinnedCodfw}]`,
    );
    assert.equal(result.stats.canaryDropped, 1);
    assert.equal(result.stats.connections, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The files that must run unchanged on any JavaScript runtime (directories are read whole). */
const CORE = [
  "src/sse",
  "src/cursor.ts",
  "src/client.ts",
  "src/browser_resume.ts",
  "src/_browser.ts",
  "src/options.ts",
  "src/resume_point.ts",
  "src/watchdog.ts",
  "src/date_time.ts",
  "src/raw_event.ts",
  "src/backoff.ts",
  "src/deadline.ts",
  "src/dedupe.ts",
  "src/filter.ts",
  "src/_path.ts",
  "src/_show.ts",
  "src/streams.ts",
  "src/types.ts",
  "src/clock.ts",
  "src/errors.ts",
  "src/events.generated.ts",
  "src/sink/contract.ts",
];

Deno.test("the streaming core uses no Deno.* API and imports no node:, npm: or jsr: module", async () => {
  const offenders: string[] = [];
  const files: URL[] = [];
  for (const path of CORE) files.push(...await tsFiles(new URL(path, root)));
  const core = new Set(files.map((file) => file.href));
  let relativeImports = 0;
  for (const file of files) {
    const code = stripComments(await Deno.readTextFile(file));
    code.split("\n").forEach((line, i) => {
      if (/\bDeno\s*\.\s*[A-Za-z_]/.test(line) || /\bDeno\s*\[/.test(line)) {
        offenders.push(`${file.pathname}:${i + 1}: ${line.trim()}`);
      }
      if (
        /(?:from|import\s*\(|require\s*\()\s*["'](?:node|npm|jsr):/.test(line)
      ) {
        offenders.push(`${file.pathname}:${i + 1}: ${line.trim()}`);
      }
      // A relative import leaves the checked set unless it is in CORE too.
      for (
        const [, specifier] of line.matchAll(/from\s*["'](\.\.?\/[^"']+)["']/g)
      ) {
        relativeImports++;
        if (!core.has(new URL(specifier, file).href)) {
          offenders.push(
            `${file.pathname}:${
              i + 1
            }: imports ${specifier}, which CORE does not list`,
          );
        }
      }
    });
  }
  assert.ok(
    files.length >= CORE.length,
    `expected every core file to exist, read ${files.length}`,
  );
  assert.ok(relativeImports > 10, `saw ${relativeImports} relative imports`);
  assert.deepEqual(offenders, []);
});

Deno.test("the core check catches a Deno.* call and a node: import", () => {
  const code = stripComments([
    "// Deno.exit() in a comment is fine",
    'const url = "https://example.org"; // Deno.env',
    "/* Deno.readFile */ const x = 1;",
    "const file = Deno.readTextFileSync(p);",
    'import { readFile } from "node:fs";',
  ].join("\n"));
  const lines = code.split("\n");
  assert.deepEqual(lines.map((l) => /\bDeno\s*\.\s*[A-Za-z_]/.test(l)), [
    false,
    false,
    false,
    true,
    false,
  ]);
  assert.equal(
    /(?:from|import\s*\(|require\s*\()\s*["'](?:node|npm|jsr):/.test(lines[4]),
    true,
  );
});

async function tsFiles(url: URL): Promise<URL[]> {
  const info = await Deno.stat(url);
  if (!info.isDirectory) return [url];
  const found: URL[] = [];
  for await (const entry of Deno.readDir(url)) {
    const child = new URL(
      entry.name + (entry.isDirectory ? "/" : ""),
      url.href.endsWith("/") ? url : url.href + "/",
    );
    if (entry.isDirectory) found.push(...await tsFiles(child));
    else if (entry.name.endsWith(".ts")) found.push(child);
  }
  return found;
}

/** Removes block and line comments (keeping line numbers); `//` after `:` (URLs) is kept. */
function stripComments(code: string): string {
  return code
    .replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, " "))
    .replace(/(^|[^:\\])\/\/.*$/gm, "$1");
}

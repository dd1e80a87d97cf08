/**
 * The npm package on real runtimes: `npm pack`ed, installed into a fresh
 * TypeScript project (strict, `module: nodenext`, no DOM lib,
 * `skipLibCheck: false`) where `tsc` must pass, then the same consumer run
 * on the system's Node (not Deno's emulation of it) and on Bun, each reading
 * every event of the emulator exactly once through mid-frame cuts and a
 * zombie connection.
 */
import assert from "node:assert/strict";
import { serveEmulator } from "../src/testing/emulator/mod.ts";
import { runProcess } from "./_helpers.ts";
import {
  assertExactlyOnce,
  type ConsumerReport,
  cutAndStallCase,
  packedPackage,
  systemNode,
  tool,
} from "./_runtimes.ts";

const CONSUMER = `
import { eventStream } from "@eventstreams/client";
import { ManualClock } from "@eventstreams/client/testing";

// Fail loudly when this is not the runtime it claims to be.
const versions: Record<string, string | undefined> = process.versions;
if (versions.deno !== undefined) {
  console.error("This is Deno's Node emulation (process.versions.deno is set), not Node");
  process.exit(2);
}
const [baseUrl, since, want] = process.argv.slice(2);
const stream = eventStream(["mediawiki.page_change.v1", "recentchange"], {
  userAgent: "eventstreams-runtime-test/1.0 (https://example.org/test; test@example.org)",
  baseUrl,
  since,
  idleTimeoutMs: 1_000, // the zombie connection is found after a second
  backoff: { initialMs: 10, maxMs: 100 },
});
// The ./testing export loads here too.
if (new ManualClock(5).now() !== 5) throw new Error("ManualClock from ./testing is broken");
const hang = setTimeout(() => report(3), 60_000); // a hang fails, never blocks the suite
const keys: string[] = [];
for await (const event of stream) {
  // Typed: a PageChangeEvent or a RecentChangeEvent.
  const { topic, partition, offset } = event.meta;
  keys.push(topic + "/" + partition + "/" + offset);
  if (keys.length === Number(want)) break;
}
report(0);

function report(code: number): void {
  clearTimeout(hang);
  const { events, duplicates, connections } = stream.stats;
  const runtime = versions.bun !== undefined ? "Bun " + versions.bun : "Node " + process.version;
  console.log(JSON.stringify({ runtime, keys, stats: { events, duplicates, connections }, cursor: stream.cursor }));
  process.exit(code);
}
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    lib: ["es2022"], // no DOM
    types: ["node"],
    skipLibCheck: false,
    outDir: "out",
  },
  files: ["consumer.ts"],
};

Deno.test("the packed npm package type-checks without the DOM lib and reads every event once on Node and Bun", async (t) => {
  const tarball = await packedPackage();
  const project = await Deno.makeTempDir({ prefix: "eventstreams_consumer_" });
  const testCase = await cutAndStallCase();
  await using emulator = serveEmulator({
    streams: testCase.streams,
    faults: testCase.faults,
  });
  try {
    await Deno.writeTextFile(
      `${project}/package.json`,
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    await Deno.writeTextFile(
      `${project}/tsconfig.json`,
      JSON.stringify(TSCONFIG),
    );
    await Deno.writeTextFile(`${project}/consumer.ts`, CONSUMER);
    // The package has no dependencies: installing the tarball is offline.
    const install = await runProcess("npm", [
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      tarball,
    ], { cwd: project });
    assert.equal(install.code, 0, `npm install failed: ${install.stderr}`);
    // @types/node comes from the runtimes directory, like any Node project's devDependency.
    await Deno.symlink(
      tool("node_modules/@types", "@types/node"),
      `${project}/node_modules/@types`,
    );
    const tsc = tool("node_modules/typescript/bin/tsc", "TypeScript");
    const node = await systemNode();

    await t.step(
      "tsc --noEmit passes (strict, nodenext, no DOM lib, skipLibCheck false)",
      async () => {
        const check = await runProcess(node, [tsc, "--noEmit", "-p", "."], {
          cwd: project,
        });
        assert.equal(
          check.code,
          0,
          `tsc failed:\n${check.stdout}${check.stderr}`,
        );
      },
    );

    const runs: [string, string, string[]][] = [
      ["Node", node, ["out/consumer.js"]],
      ["Bun", tool("node_modules/bun/bin/bun.exe", "Bun"), ["consumer.ts"]],
    ];
    const emit = await runProcess(node, [tsc, "-p", "."], { cwd: project });
    assert.equal(emit.code, 0, `tsc failed:\n${emit.stdout}${emit.stderr}`);
    for (const [name, binary, args] of runs) {
      await t.step(
        `${name} reads all ${testCase.expected.length} events once through two cuts and a zombie`,
        async () => {
          const before = emulator.connections.length;
          emulator.setFaults(testCase.faults); // a list starts over at the next request
          const run = await runProcess(binary, [
            ...args,
            emulator.url,
            testCase.since,
            String(testCase.expected.length),
          ], { cwd: project });
          assert.equal(
            run.code,
            0,
            `${name} failed:\n${run.stderr}${run.stdout}`,
          );
          const report: ConsumerReport = JSON.parse(run.stdout);
          assert.match(report.runtime, new RegExp(`^${name} `));
          console.log(assertExactlyOnce(testCase, report));
          assert.equal(report.stats.connections, 4);
          assert.equal(emulator.connections.length - before, 4);
        },
      );
    }
  } finally {
    await Deno.remove(project, { recursive: true });
  }
});

/**
 * The CLI refuses what cannot work, before it connects, with a message that
 * names the value and says what to do: filters that can never match, paths
 * that cannot be written, negative numbers, a user agent without a version;
 * and it warns about a `--since` older than the server's history.
 */
import assert from "node:assert/strict";
import { parseServeArgs, parseTailArgs, UsageError } from "../src/cli/args.ts";
import { main } from "../src/cli/main.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { captureIo } from "./_helpers.ts";

const UA = "eventstreams-test/0.1 (https://example.org/eventstreams-test)";
const NOW = Date.parse("2026-09-27T12:00:00Z");
const noEnv = { get: (_: string): string | undefined => undefined };

/** Asserts that `fn` throws a UsageError whose message matches `message`. */
function assertUsage(fn: () => unknown, message: RegExp, label: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `${label}: ${error}`);
    assert.match(error.message, message, label);
    return true;
  });
}

const tail = (args: string[]) => () =>
  parseTailArgs(["recentchange", ...args, "--user-agent", UA], noEnv, NOW);

Deno.test("tail refuses a filter that can never match, naming the value and the right flag or the valid values", () => {
  const table: [string[], RegExp][] = [
    [
      ["--wiki", "en.wikipedia.org"],
      /^Invalid --wiki 'en\.wikipedia\.org': that is a domain, and --wiki takes database names like enwiki; use --domain en\.wikipedia\.org$/,
    ],
    [
      ["--wiki", "enwiki,https://de.wikipedia.org/wiki/X"],
      /^Invalid --wiki 'https:\/\/de\.wikipedia\.org\/wiki\/X': that is a domain.*; use --domain de\.wikipedia\.org$/,
    ],
    [
      ["--domain", "enwiki"],
      /^Invalid --domain 'enwiki': that is a wiki database name, and --domain takes host names like en\.wikipedia\.org or \*\.wikipedia\.org; use --wiki enwiki$/,
    ],
    [
      ["--domain", "https://en.wikipedia.org"],
      /^Invalid --domain 'https:\/\/en\.wikipedia\.org': expected a host name like en\.wikipedia\.org.*\(no scheme, no path\)$/,
    ],
    [
      ["--type", "edits"],
      /^Invalid --type 'edits': expected one of edit, new, log, categorize, external, create, move, delete, undelete, visibility_change$/,
    ],
    [["--type", "Edit"], /\(types are lower case: --type edit\)$/],
  ];
  for (const [args, message] of table) {
    assertUsage(tail(args), message, args.join(" "));
  }
  // What can match is accepted.
  const parsed = tail([
    "--wiki",
    "enwiki,zh_min_nanwiki",
    "--domain",
    "*.wikipedia.org,www.wikidata.org,canary",
    "--type",
    "edit,create,142",
  ])();
  assert.ok(!parsed.help);
  assert.deepEqual(parsed.options.wiki, ["enwiki", "zh_min_nanwiki"]);
  assert.deepEqual(parsed.options.type, ["edit", "create", "142"]);
});

Deno.test("negative numbers and durations are told what is wrong with them, not that the flag needs a value", () => {
  assertUsage(
    tail(["--max", "-1"]),
    /^Invalid --max '-1': expected a positive whole number, like --max 100$/,
    "--max -1",
  );
  assertUsage(
    tail(["--since", "-1h"]),
    /^Invalid --since '-1h': a duration already means that long before now, so it takes no minus; write --since 1h$/,
    "--since -1h",
  );
  assertUsage(
    () => parseServeArgs(["--port", "-1"]),
    /^Invalid --port '-1': expected a TCP port from 0 to 65535/,
    "--port -1",
  );
  assertUsage(
    () => parseServeArgs(["-p", "-1"]),
    /^Invalid --port '-1': /,
    "-p -1",
  );
  assertUsage(
    () => parseServeArgs(["--rate", "-1"]),
    /^Invalid --rate '-1': expected events per second and stream/,
    "--rate -1",
  );
  // A negative namespace needs no '=' any more.
  const parsed = tail(["--namespace", "-1"])();
  assert.ok(!parsed.help);
  assert.deepEqual(parsed.options.namespace, [-1]);
  // A missing value is still told as one.
  assertUsage(
    () => parseTailArgs(["recentchange", "--max"], noEnv, NOW),
    /^Option '--max' needs a value/,
    "--max",
  );
});

Deno.test("--since takes epoch milliseconds like the library, and refuses seconds saying so", () => {
  const parsed = tail(["--since", "1790525700000"])();
  assert.ok(!parsed.help);
  assert.equal(parsed.options.since?.toISOString(), "2026-09-27T16:15:00.000Z");
  assertUsage(
    tail(["--since", "1790525700"]),
    /^Invalid --since '1790525700': it looks like seconds since the epoch, but --since takes epoch milliseconds; pass 1790525700000$/,
    "seconds",
  );
  assertUsage(
    tail(["--since", "yesterday"]),
    /^Invalid --since 'yesterday': .*, or epoch milliseconds$/,
    "yesterday",
  );
});

Deno.test("a user agent without /version is told so, and the CLI's messages name its flags, not the library's options", async () => {
  for (
    const args of [["tail", "recentchange"], [
      "record",
      "recentchange",
      "--out",
      "x.jsonl",
    ]]
  ) {
    const io = captureIo(new ManualClock(NOW));
    const code = await main([
      ...args,
      "--user-agent",
      "MyBot (me@example.org)",
    ], io);
    assert.equal(code, 2, io.err.text);
    assert.match(
      io.err.text,
      /^eventstreams: Cannot use --user-agent 'MyBot \(me@example\.org\)': it lacks a \/version after the tool name; /,
    );
    assert.doesNotMatch(io.err.text, /userAgent/);
  }
  const io = captureIo(new ManualClock(NOW));
  // Accepted by the CLI's URL check, refused by the library's: the flag is named either way.
  assert.equal(
    await main([
      "tail",
      "recentchange",
      "--base-url",
      "http:/127.0.0.1",
      "--user-agent",
      UA,
    ], io),
    2,
  );
  assert.match(io.err.text, /^eventstreams: Cannot use --base-url 'http:/);
});

/** An emulator with a little history, and a temp dir; both gone after `fn`. */
async function withEmulator(
  fn: (url: string, dir: string, requests: () => number) => Promise<void>,
): Promise<void> {
  const streams = generateStreams({
    seed: 5,
    counts: { "mediawiki.recentchange": 20 },
    codfwShare: 0,
  });
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  try {
    await fn(emulator.url, dir, () => emulator.connections.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("paths are checked before connecting: a checkpoint in a missing directory, a FIFO checkpoint, record --out in a missing directory or on a directory", async () => {
  await withEmulator(async (url, dir, requests) => {
    const fifo = `${dir}/cursor.fifo`;
    const mkfifo = await new Deno.Command("mkfifo", { args: [fifo] }).output()
      .catch(() => undefined);
    const table: [string[], RegExp][] = [
      [
        ["tail", "recentchange", "--checkpoint", `${dir}/nope/rc.cursor`],
        /^eventstreams: Invalid --checkpoint '.*\/nope\/rc\.cursor': its directory '.*\/nope' does not exist; create it \(mkdir -p '.*\/nope'\) or pick another path\n$/,
      ],
      [
        ["tail", "recentchange", "--checkpoint", dir],
        /^eventstreams: Invalid --checkpoint '.*': it is a directory; give the path of a regular file\n$/,
      ],
      [
        ["record", "recentchange", "--out", `${dir}/nope/rc.jsonl`],
        /^eventstreams: Invalid --out '.*\/nope\/rc\.jsonl': its directory '.*\/nope' does not exist/,
      ],
      [
        ["record", "recentchange", "--out", dir],
        /^eventstreams: Invalid --out '.*': it is a directory/,
      ],
    ];
    if (mkfifo?.success) {
      table.push([
        ["tail", "recentchange", "--checkpoint", fifo],
        /^eventstreams: Invalid --checkpoint '.*cursor\.fifo': it is a FIFO \(named pipe\); give the path of a regular file\n$/,
      ]);
    } else {
      console.log("mkfifo not available: the FIFO case is not checked");
    }
    for (const [args, message] of table) {
      const io = captureIo(new ManualClock(NOW));
      const code = await main([
        ...args,
        "--base-url",
        url,
        "--user-agent",
        UA,
      ], io);
      assert.equal(code, 2, `${args.join(" ")}: ${io.err.text}`);
      assert.match(io.err.text, message, args.join(" "));
      assert.equal(io.out.text, "");
      assert.equal(requests(), 0, `${args.join(" ")} connected`);
    }
    // The probe leaves nothing behind.
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(),
      mkfifo?.success ? ["cursor.fifo"] : [],
    );
  });
});

/** Whether the test runs without permission to reach the real server (as `deno task test` does). */
const OFFLINE = Deno.permissions.querySync({
  name: "net",
  host: "stream.wikimedia.org",
}).state !== "granted";

/**
 * Runs `main(args)` in-process against the real server, whose requests
 * Deno's permissions refuse: until it ends, or at the first retry note on
 * stderr, Ctrl-C.
 */
async function untilEndOrRetry(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const io = captureIo(new ManualClock(NOW));
  let stop = () => {};
  io.onInterrupt = (handler) => {
    stop = handler;
    return () => {};
  };
  const err = io.err;
  io.stderr = {
    write: (bytes) => err.write(bytes),
    writeSync(bytes) {
      const n = err.writeSync(bytes);
      if (err.text.includes("reconnecting in")) setTimeout(stop, 0);
      return n;
    },
    isTerminal: () => false,
  };
  const code = await main(args, io);
  return { code, stderr: err.text };
}

Deno.test({
  name:
    "--since further back than Wikimedia's ~7 days of history is warned about on stderr before connecting",
  ignore: !OFFLINE, // The test must not reach the network.
  fn: async () => {
    const { code, stderr } = await untilEndOrRetry([
      "tail",
      "recentchange",
      "--since",
      "8d",
      "--user-agent",
      UA,
    ]);
    // Deno's permissions refuse the fetch: the run ends there, warned first.
    assert.equal(code, 1, stderr);
    assert.ok(
      stderr.startsWith(
        "eventstreams tail: Warning: --since 2026-09-19T12:00:00.000Z is 8d0h ago, beyond the server's history " +
          "(about 7 days): the stream starts at the oldest event it still has, later than asked\n",
      ),
      stderr,
    );
  },
});

Deno.test("--since within the history, or on another server (--base-url), gets no warning", async () => {
  await withEmulator(async (url) => {
    for (const since of ["6d", "8d"]) {
      const io = captureIo(new ManualClock(NOW));
      const args = [
        "tail",
        "recentchange",
        "--since",
        since,
        "--max",
        "1",
        "--base-url",
        url,
        "--user-agent",
        UA,
      ];
      assert.equal(await main(args, io), 0, io.err.text);
      assert.equal(io.err.text, "");
      assert.equal(io.out.text.trimEnd().split("\n").length, 1);
    }
  });
});

Deno.test({
  name:
    "demo --live labels its errors 'eventstreams demo', not 'eventstreams tail'",
  ignore: !OFFLINE, // The test must not reach the network.
  fn: async () => {
    const { code, stderr } = await untilEndOrRetry([
      "demo",
      "--live",
      "--max",
      "1",
      "--user-agent",
      UA,
    ]);
    // The fetch is refused by Deno's permissions (not a network error, so
    // not retried): the run ends with the refusal, labelled demo.
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /\neventstreams demo: Requires net access to "stream\.wikimedia\.org:443".*\n$/,
    );
    assert.doesNotMatch(stderr, /eventstreams tail/);
  },
});

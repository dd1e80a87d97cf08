import assert from "node:assert/strict";
import {
  parseServeArgs,
  parseTailArgs,
  type TailArgs,
  UsageError,
} from "../src/cli/args.ts";
import {
  formatDuration,
  parseDuration,
  parseSince,
} from "../src/cli/duration.ts";
import { parseMatch, selectEvents } from "../src/cli/filters.ts";
import {
  byteDelta,
  formatNdjson,
  formatPretty,
  useColor,
} from "../src/cli/format.ts";
import { main } from "../src/cli/main.ts";
import {
  StatusMeter,
  StatusReporter,
  summarizeCursor,
} from "../src/cli/status.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { generateStreams } from "../src/testing/emulator/generate_streams.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import { type Clock, systemClock } from "../src/clock.ts";
import { Cursor } from "../src/cursor.ts";
import {
  eventMeta,
  pageChange,
  recentChange,
  revisionCreate,
  sampleEvents,
} from "./_sample_events.ts";
import {
  captureIo,
  cliRunArgs,
  type ProcessRun,
  runProcess,
  spawnCli,
} from "./_helpers.ts";

const UA = "eventstreams-test/0.1 (https://example.org/eventstreams-test)";
const NOW = Date.parse("2026-09-27T12:00:00Z");
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const noEnv = { get: (_: string): string | undefined => undefined };

// ---------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------

Deno.test("durations: units ms, s, m, h, d and combinations parse to milliseconds", () => {
  const table: [string, number][] = [
    ["500ms", 500],
    ["30s", 30_000],
    ["1.5s", 1_500],
    ["15m", 900_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["0s", 0],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
});

Deno.test("durations: anything without a unit is rejected with the value and the expected shape", () => {
  for (const text of ["", "5", "5x", "m", "-5s", "1 h", "1h 30m", "2H"]) {
    assert.throws(() => parseDuration(text, "--idle-timeout"), {
      name: "TypeError",
      message:
        `Invalid --idle-timeout '${text}': expected a number with a unit, like 30s, 15m, 2h or 1d (units: ms, s, m, h, d)`,
    });
  }
});

Deno.test("durations: --since takes ISO 8601 (UTC without offset) or a duration before now", () => {
  const table: [string, string][] = [
    ["2h", "2026-09-27T10:00:00.000Z"],
    ["15m", "2026-09-27T11:45:00.000Z"],
    ["30s", "2026-09-27T11:59:30.000Z"],
    ["1d", "2026-09-26T12:00:00.000Z"],
    ["2026-09-27T08:30:00Z", "2026-09-27T08:30:00.000Z"],
    ["2026-09-27T08:30:00+02:00", "2026-09-27T06:30:00.000Z"],
    ["2026-09-27T08:30", "2026-09-27T08:30:00.000Z"],
    ["2026-09-27 08:30:15.250", "2026-09-27T08:30:15.250Z"],
    ["2026-09-27", "2026-09-27T00:00:00.000Z"],
  ];
  for (const [text, iso] of table) {
    assert.equal(parseSince(text, NOW).toISOString(), iso, text);
  }
  for (
    const text of [
      "yesterday",
      "2026-13-45",
      "1695800000000",
      "2026-09-27T25:00Z",
    ]
  ) {
    assert.throws(() => parseSince(text, NOW), {
      name: "TypeError",
      message:
        `Invalid --since '${text}': expected an ISO 8601 date-time like 2026-09-27T16:00:00Z, ` +
        "or a duration before now like 30s, 15m, 2h or 1d",
    });
  }
});

Deno.test("durations: formatDuration is short and readable", () => {
  const table: [number, string][] = [
    [-5, "0ms"],
    [850, "850ms"],
    [4_200, "4.2s"],
    [185_000, "3m05s"],
    [7_800_000, "2h10m"],
    [273_600_000, "3d4h"],
  ];
  for (const [ms, text] of table) assert.equal(formatDuration(ms), text);
});

// ---------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------

function cursorMessage(text: string): string {
  try {
    Cursor.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`expected Cursor.parse to reject '${text}'`);
}

function tail(args: string[], env = noEnv): TailArgs {
  const parsed = parseTailArgs(args, env, NOW);
  assert.ok(!parsed.help);
  return parsed.options;
}

Deno.test("tail arguments: streams, start, stop, filters and output parse into options", () => {
  const options = tail([
    "recentchange,page-create",
    "test",
    "--since",
    "2h",
    "--max",
    "50",
    "--idle-timeout",
    "15m",
    "--user-agent",
    UA,
    "--base-url",
    "http://127.0.0.1:8092/",
    "--wiki",
    "enwiki,dewiki",
    "--wiki",
    "frwiki",
    "--domain",
    "*.wikipedia.org",
    "--type",
    "edit",
    "--namespace",
    "0,14",
    "--namespace=-1",
    "--no-bot",
    "--match",
    "performer.user_text=A=B",
    "--canary",
    "--format",
    "ndjson",
    "--status",
    "--no-color",
  ]);
  assert.deepEqual(options, {
    streams: ["recentchange", "page-create", "test"],
    since: new Date("2026-09-27T10:00:00Z"),
    cursor: undefined,
    checkpoint: undefined,
    checkpointEvery: undefined,
    checkpointIntervalMs: 1_000,
    max: 50,
    idleTimeoutMs: 900_000,
    userAgent: UA,
    baseUrl: "http://127.0.0.1:8092",
    wiki: ["enwiki", "dewiki", "frwiki"],
    domain: ["*.wikipedia.org"],
    type: ["edit"],
    namespace: [0, 14, -1],
    bot: false,
    match: [{ path: "performer.user_text", value: "A=B" }],
    canary: true,
    format: "ndjson",
    status: true,
    color: false,
    allowUnknownStreams: false,
  });
});

Deno.test("tail arguments: defaults, the user agent from the environment, a normalised cursor", () => {
  const env = {
    get: (name: string) => name === "EVENTSTREAMS_USER_AGENT" ? UA : undefined,
  };
  const options = tail([
    "recentchange",
    "--cursor",
    '[ {"topic":"eqiad.mediawiki.recentchange", "partition":0, "offset":5} ]',
    "--checkpoint",
    "rc.cursor",
    "--checkpoint-every",
    "100",
    "--checkpoint-interval",
    "5s",
    "--bot",
  ], env);
  assert.equal(options.userAgent, UA);
  assert.equal(
    options.cursor,
    '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":5}]',
  );
  assert.equal(options.checkpoint, "rc.cursor");
  assert.equal(options.checkpointEvery, 100);
  assert.equal(options.checkpointIntervalMs, 5_000);
  assert.equal(options.bot, true);
  assert.equal(options.format, undefined);
  assert.equal(options.status, undefined);
  assert.equal(options.max, undefined);
  assert.deepEqual(parseTailArgs(["--help"], noEnv, NOW), { help: true });
  assert.deepEqual(parseTailArgs(["recentchange", "-h"], noEnv, NOW), {
    help: true,
  });
});

Deno.test("tail arguments: each mistake is a UsageError naming the value and what to do", () => {
  const help = "run 'eventstreams tail --help' to see the options";
  const table: [string[], string][] = [
    [
      ["--user-agent", UA],
      "Missing stream name: say which streams to follow, like 'eventstreams tail recentchange' or 'eventstreams tail page-create,page-delete'",
    ],
    [
      ["recentchange"],
      "Missing user agent: Wikimedia requires one naming your tool and how to reach you; pass --user-agent 'my-tool/1.0 (https://example.org/my-tool; me@example.org)' or set EVENTSTREAMS_USER_AGENT",
    ],
    [
      ["recentchange", "--frobnicate"],
      `Unknown option '--frobnicate' for 'eventstreams tail'; ${help}`,
    ],
    [
      ["recentchange", "-x"],
      `Unknown option '-x' for 'eventstreams tail'; ${help}`,
    ],
    [
      ["recentchange", "--max"],
      `Option '--max' needs a value (write --max=VALUE when the value starts with '-'); ${help}`,
    ],
    [
      ["recentchange", "--canary=yes"],
      `Option '--canary' takes no value; ${help}`,
    ],
    [
      ["recentchange", "--max", "0"],
      "Invalid --max '0': expected a positive whole number, like --max 100",
    ],
    [
      ["recentchange", "--max", "1e3"],
      "Invalid --max '1e3': expected a positive whole number, like --max 100",
    ],
    [
      ["recentchange", "--max=-5"],
      "Invalid --max '-5': expected a positive whole number, like --max 100",
    ],
    [
      ["recentchange", "--since", "yesterday"],
      "Invalid --since 'yesterday': expected an ISO 8601 date-time like 2026-09-27T16:00:00Z, or a duration before now like 30s, 15m, 2h or 1d, or epoch milliseconds",
    ],
    [
      ["recentchange", "--since", "1h", "--cursor", "[]"],
      "Use either --since or --cursor, not both: a cursor already says where each partition resumes",
    ],
    [
      ["recentchange", "--idle-timeout", "10"],
      "Invalid --idle-timeout '10': expected a number with a unit, like 30s, 15m, 2h or 1d (units: ms, s, m, h, d)",
    ],
    [
      ["recentchange", "--idle-timeout", "0s"],
      "Invalid --idle-timeout '0s': expected a duration above zero, like 30s or 15m",
    ],
    [
      ["recentchange", "--format", "json"],
      "Invalid --format 'json': expected ndjson or pretty",
    ],
    [
      ["recentchange", "--namespace", "main"],
      "Invalid --namespace 'main': expected an integer namespace id, like 0 (articles), 14 (categories) or --namespace=-1",
    ],
    [
      ["recentchange", "--match", "user"],
      "Invalid --match 'user': expected path=value with a dotted path, like meta.domain=en.wikipedia.org or performer.user_text=Example",
    ],
    [
      ["recentchange", "--match", "a..b=1"],
      "Invalid --match 'a..b=1': expected path=value with a dotted path, like meta.domain=en.wikipedia.org or performer.user_text=Example",
    ],
    [
      ["recentchange", "--base-url", "stream.wikimedia.org"],
      "Invalid --base-url 'stream.wikimedia.org': expected an http(s) URL like https://stream.wikimedia.org or http://127.0.0.1:8092",
    ],
    [
      ["recentchange", "--checkpoint-every", "10"],
      "Option '--checkpoint-every' needs --checkpoint FILE",
    ],
  ];
  // The middle of this one is the cursor module's own message.
  table.push([
    ["recentchange", "--cursor", "abc"],
    "Invalid --cursor: " + cursorMessage("abc") +
    "; pass a saved stream.cursor or a checkpoint file's content",
  ]);
  for (const [args, message] of table) {
    const withAgent = args.includes("--user-agent") || args.length === 1
      ? args
      : [...args, "--user-agent", UA];
    assert.throws(
      () => parseTailArgs(withAgent, noEnv, NOW),
      (error: unknown) => {
        assert.ok(error instanceof UsageError, `${args.join(" ")}: ${error}`);
        assert.equal(error.message, message, args.join(" "));
        return true;
      },
    );
  }
});

Deno.test("serve arguments: loopback by default, port checked", () => {
  assert.deepEqual(parseServeArgs([]), {
    help: false,
    options: {
      port: 8092,
      hostname: "127.0.0.1",
      fixtures: undefined,
      rate: 2,
    },
  });
  assert.deepEqual(
    parseServeArgs([
      "-p",
      "0",
      "--hostname",
      "0.0.0.0",
      "--fixtures",
      "dir",
      "--rate",
      "0.5",
    ]),
    {
      help: false,
      options: { port: 0, hostname: "0.0.0.0", fixtures: "dir", rate: 0.5 },
    },
  );
  assert.equal(
    (parseServeArgs(["--rate", "0"]) as { options: { rate: number } }).options
      .rate,
    0,
  );
  assert.throws(() => parseServeArgs(["--rate=-1"]), {
    name: "UsageError",
    message:
      "Invalid --rate '-1': expected events per second and stream, like --rate 10 (0 for none)",
  });
  assert.throws(() => parseServeArgs(["--port", "70000"]), {
    name: "UsageError",
    message:
      "Invalid --port '70000': expected a TCP port from 0 to 65535 (0 picks a free one)",
  });
  assert.throws(() => parseServeArgs(["extra"]), {
    name: "UsageError",
    message:
      "Unexpected argument 'extra' for 'eventstreams serve'; run 'eventstreams serve --help' to see the options",
  });
});

// ---------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------

Deno.test("filters: each flag adds its library predicate, and flags combine with AND", () => {
  const kept = (selection: Parameters<typeof selectEvents>[0]) => {
    const keep = selectEvents(selection);
    assert.ok(keep);
    return sampleEvents.filter(keep).map((e) => e.meta.stream);
  };
  const rc = "mediawiki.recentchange",
    pc = "mediawiki.page_change.v1",
    rv = "mediawiki.revision-create";
  assert.deepEqual(kept({ wiki: ["ENWIKI", "dewiki"] }), [rc, rv]);
  assert.deepEqual(kept({ domain: ["*.wikipedia.org"] }), [rc, rv]);
  assert.deepEqual(kept({ type: ["edit"] }), [rc, pc]);
  assert.deepEqual(kept({ namespace: [14] }), [rv]);
  assert.deepEqual(kept({ bot: false }), [rc, pc]);
  assert.deepEqual(
    kept({ match: [parseMatch("length.new=1000"), parseMatch("bot=false")] }),
    [rc],
  );
  assert.deepEqual(
    kept({
      match: [parseMatch('page={"page_title":"Q60988248","namespace_id":0}')],
    }),
    [pc],
  );
  assert.deepEqual(kept({ wiki: ["enwiki"], bot: true }), []);
  assert.deepEqual(
    kept({ wiki: ["enwiki", "wikidatawiki"], namespace: [0], bot: false }),
    [rc, pc],
  );
  assert.equal(selectEvents({ wiki: [], match: [] }), undefined);
});

// ---------------------------------------------------------------------------
// Output formats
// ---------------------------------------------------------------------------

Deno.test("format: an NDJSON line is the event's JSON, on one line", () => {
  assert.equal(formatNdjson(recentChange), JSON.stringify(recentChange));
  assert.equal(
    formatNdjson({ meta: eventMeta(), title: "line\nbreak" }),
    '{"meta":{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":1,"dt":"2026-09-27T16:17:12Z",' +
      '"id":"00000000-0000-4000-8000-000000000001","stream":"mediawiki.recentchange","domain":"en.wikipedia.org"},' +
      '"title":"line\\nbreak"}',
  );
});

Deno.test("format: pretty lines without colour show time, wiki, kind, title, user and size change", () => {
  assert.equal(
    formatPretty(recentChange),
    "16:17:12 enwiki edit Earth (Example) -200",
  );
  assert.equal(
    formatPretty(pageChange),
    "16:17:12 wikidatawiki edit Q60988248 (Immanuelle) +735",
  );
  assert.equal(
    formatPretty(revisionCreate),
    "16:17:12 dewiki revision-create Kategorie:Erde (ExampleBot) [bot]",
  );
  assert.equal(
    formatPretty({
      meta: eventMeta({
        stream: "eventgate-main.test.event",
        domain: undefined,
      }),
    }),
    "16:17:12 eventgate-main.test.event",
  );
  assert.equal(byteDelta({ meta: eventMeta(), length: { new: 40 } }), 40);
});

Deno.test("format: event data cannot write control characters (no terminal escapes) into pretty lines", () => {
  const line = formatPretty({
    meta: eventMeta(),
    wiki: "enwiki",
    title: "Evil\x1b[2J\x07title",
    user: "u\r\n",
  });
  assert.equal(line, "16:17:12 enwiki recentchange Evil?[2J?title (u??)");
});

Deno.test("format: colour only on a terminal without NO_COLOR, unless forced", () => {
  assert.equal(useColor(true, undefined), true);
  assert.equal(useColor(true, ""), true);
  assert.equal(useColor(true, "1"), false);
  assert.equal(useColor(false, undefined), false);
  assert.equal(useColor(false, undefined, true), true);
  assert.equal(useColor(true, undefined, false), false);
  const coloured = formatPretty(recentChange, { color: true });
  assert.ok(coloured.includes("\x1b["));
  assert.equal(coloured.replaceAll(ANSI, ""), formatPretty(recentChange));
});

// ---------------------------------------------------------------------------
// Status line
// ---------------------------------------------------------------------------

Deno.test("status: rate per window, lag behind meta.dt, reconnects and a short cursor", () => {
  const meter = new StatusMeter(NOW);
  const cursor =
    '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42},' +
    '{"topic":"codfw.mediawiki.recentchange","partition":0,"timestamp":1790510400000}]';
  assert.equal(
    meter.render({
      events: 10,
      reconnects: 2,
      cursor,
      lastEventDt: "2026-09-27T11:59:59Z",
    }, NOW + 1_000),
    "10 events | 10.0/s | lag 2.0s | 2 reconnects | cursor eqiad.mediawiki.recentchange/0@42 " +
      "codfw.mediawiki.recentchange/0@t=2026-09-27T12:00:00.000Z",
  );
  assert.equal(
    meter.render({
      events: 40,
      reconnects: 1,
      cursor: "",
      lastEventDt: undefined,
    }, NOW + 3_000),
    "40 events | 15.0/s | lag - | 1 reconnect | cursor -",
  );
  assert.equal(summarizeCursor("x".repeat(200), 10), "xxxxxxxxx…");
});

Deno.test("status: on a terminal the line is redrawn in place and cleared around stdout output", async () => {
  const clock = new ManualClock(NOW);
  const written: string[] = [];
  let events = 0;
  const reporter = new StatusReporter({
    write: (text) => written.push(text),
    sample: () => ({ events, reconnects: 0, cursor: "" }),
    terminal: true,
    stdoutIsTerminal: true,
    clock,
  });
  reporter.start();
  events = 5;
  await clock.tick(1_000);
  reporter.beforeOutput();
  reporter.afterOutput();
  reporter.stop();
  assert.equal(clock.pendingTimers, 0);
  const line = "5 events | 5.0/s | lag - | 0 reconnects | cursor -";
  assert.deepEqual(written, [
    "\r\x1b[2K" + line,
    "\r\x1b[2K",
    line,
    "\r\x1b[2K",
  ]);
});

Deno.test("status: on a terminal the line is cut to the terminal's width, since a wrapped line cannot be cleared in place", async () => {
  const clock = new ManualClock(NOW);
  const written: string[] = [];
  const cursor =
    '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":42}]';
  const reporter = new StatusReporter({
    write: (text) => written.push(text),
    sample: () => ({ events: 7, reconnects: 0, cursor }),
    terminal: true,
    stdoutIsTerminal: false,
    clock,
    columns: () => 40,
  });
  reporter.start();
  await clock.tick(1_000);
  reporter.stop();
  assert.deepEqual(written, [
    "\r\x1b[2K7 events | 7.0/s | lag - | 0 reconnect…",
    "\r\x1b[2K",
  ]);
  assert.equal(written[0].length - "\r\x1b[2K".length, 39);
});

Deno.test("status: a message on stderr clears the line, and the line comes back below it", async () => {
  const clock = new ManualClock(NOW);
  const written: string[] = [];
  const reporter = new StatusReporter({
    write: (text) => written.push(text),
    sample: () => ({ events: 1, reconnects: 1, cursor: "" }),
    terminal: true,
    stdoutIsTerminal: false,
    clock,
  });
  reporter.note("before the first line");
  reporter.start();
  await clock.tick(1_000);
  reporter.note("fetch failed (reconnecting in 1.0s)");
  reporter.stop();
  reporter.note("after stop");
  const line = "1 events | 1.0/s | lag - | 1 reconnect | cursor -";
  assert.deepEqual(written, [
    "before the first line\n",
    "\r\x1b[2K" + line,
    "\r\x1b[2K",
    "fetch failed (reconnecting in 1.0s)\n",
    line,
    "\r\x1b[2K",
    "after stop\n",
  ]);
});

// ---------------------------------------------------------------------------
// main(): help, usage errors, exit codes (in-process)
// ---------------------------------------------------------------------------

/** In-process I/O on a manual clock at NOW, unless given another clock. */
const fakeIo = (clock: Clock = new ManualClock(NOW)) => captureIo(clock);

Deno.test("main: --help of the program and of each subcommand exits 0 with examples and exit codes", async () => {
  for (
    const args of [["--help"], [], ["help", "tail"], ["tail", "--help"], [
      "serve",
      "--help",
    ], ["record", "--help"]]
  ) {
    const io = fakeIo();
    assert.equal(await main(args, io), 0, args.join(" "));
    assert.match(io.out.text, /Examples:\n/, args.join(" "));
    assert.match(io.out.text, /Exit codes: 0 /, args.join(" "));
    assert.equal(io.err.text, "");
  }
  const io = fakeIo();
  await main(["--help"], io);
  assert.ok(io.out.text.includes(
    "deno install -g -n eventstreams --unstable-kv --allow-net --allow-read --allow-write --allow-env jsr:@eventstreams/client/cli",
  ));
});

Deno.test("main: an unknown command or flag exits 2 with a message saying what to do", async () => {
  const table: [string[], string][] = [
    [
      ["frobnicate"],
      "eventstreams: Unknown command 'frobnicate': expected tail, sink, relay, serve, record or demo; run 'eventstreams --help'\n",
    ],
    [
      ["tail", "recentchange", "--bogus", "--user-agent", UA],
      "eventstreams: Unknown option '--bogus' for 'eventstreams tail'; run 'eventstreams tail --help' to see the options\n",
    ],
    [["tail", "nosuchstream", "--user-agent", UA], ""],
    [
      ["serve", "--port", "http"],
      "eventstreams: Invalid --port 'http': expected a TCP port from 0 to 65535 (0 picks a free one)\n",
    ],
  ];
  for (const [args, message] of table) {
    const io = fakeIo();
    assert.equal(await main(args, io), 2, args.join(" "));
    assert.equal(io.out.text, "");
    if (message) assert.equal(io.err.text, message);
    else {
      assert.match(
        io.err.text,
        /^eventstreams: Unknown stream 'nosuchstream': expected one of .*mediawiki\.recentchange/,
      );
      assert.match(
        io.err.text,
        /; pass --allow-unknown-streams to use a stream this client does not know\n$/,
      );
    }
  }
});

Deno.test("main: a checkpoint file that is not a cursor is a runtime error (exit 1) naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bad.cursor`;
    await Deno.writeTextFile(path, "not a cursor");
    const io = fakeIo();
    assert.equal(
      await main([
        "tail",
        "recentchange",
        "--checkpoint",
        path,
        "--user-agent",
        UA,
      ], io),
      1,
    );
    assert.equal(
      io.err.text,
      `eventstreams tail: Cannot load checkpoint from '${path}': expected a cursor (a non-empty JSON array), got 'not a cursor'; ` +
        "delete the file to start from --since or live, or restore a valid cursor\n",
    );
    assert.equal(io.out.text, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// tail end to end against the emulator on 127.0.0.1
// ---------------------------------------------------------------------------

const RC_EVENTS = 300;

/** A data set whose recent changes all sit in the eqiad topic, so offsets give a total order. */
function recentChangeData() {
  const streams = generateStreams({
    seed: 42,
    counts: { "mediawiki.recentchange": RC_EVENTS },
    codfwShare: 0,
  });
  const log = streams.log("eqiad.mediawiki.recentchange")!;
  const offsets = log.messages.map((m) => m.offset);
  const since = new Date(log.messages[0].timestamp).toISOString();
  return { streams, offsets, since };
}

/** Runs the CLI in a subprocess against the emulator on loopback, without colours. */
function runCli(args: string[]): Promise<ProcessRun> {
  return runProcess(Deno.execPath(), cliRunArgs(args), {
    env: { NO_COLOR: "1" },
  });
}

const offsetsOfLines = (stdout: string): number[] =>
  stdout.trimEnd().split("\n").map((line) => JSON.parse(line).meta.offset);

Deno.test("tail (subprocess): --max 50 prints exactly 50 NDJSON events on stdout and no event data on stderr", async () => {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({ streams });
  const common = [
    "tail",
    "recentchange",
    "--since",
    since,
    "--base-url",
    emulator.url,
    "--user-agent",
    UA,
    "--max",
    "50",
  ];

  const run = await runCli([...common, "--format", "ndjson"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  const lines = run.stdout.split("\n");
  assert.equal(lines.pop(), "");
  assert.equal(lines.length, 50);
  for (const line of lines) {
    assert.equal(JSON.parse(line).meta.stream, "mediawiki.recentchange");
  }
  assert.deepEqual(offsetsOfLines(run.stdout), offsets.slice(0, 50));

  // A forced status line goes to stderr only, and carries counters, never events.
  const withStatus = await runCli([...common, "--status"]);
  assert.equal(withStatus.code, 0, withStatus.stderr);
  assert.equal(withStatus.stdout, run.stdout); // NDJSON by default when stdout is not a terminal.
  const statusLines = withStatus.stderr.split("\n").filter((l) => l !== "");
  assert.ok(statusLines.length >= 1, "a final status line sums up the run");
  assert.match(statusLines.at(-1)!, /^50 events \| /);
  for (const line of statusLines) {
    assert.match(
      line,
      /^\d+ events \| \d+\.\d\/s \| lag \S+ \| \d+ reconnects? \| cursor \S/,
    );
    assert.ok(!line.includes('"meta"'));
  }
});

Deno.test("tail (subprocess): resuming from --checkpoint gives the next events, none repeated or skipped", async () => {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  try {
    const checkpoint = `${dir}/rc.cursor`;
    const args = [
      "tail",
      "recentchange",
      "--since",
      since,
      "--checkpoint",
      checkpoint,
      "--max",
      "50",
      "--format",
      "ndjson",
      "--base-url",
      emulator.url,
      "--user-agent",
      UA,
    ];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(offsetsOfLines(first.stdout), offsets.slice(0, 50));
    // --since only applies when there is no checkpoint yet.
    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(offsetsOfLines(second.stdout), offsets.slice(50, 100));
    const saved = JSON.parse(await Deno.readTextFile(checkpoint));
    assert.deepEqual(saved[0], {
      topic: "eqiad.mediawiki.recentchange",
      partition: 0,
      offset: offsets[100],
    });
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name),
      ["rc.cursor"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tail (subprocess): Ctrl-C closes the stream, saves the checkpoint and exits 0", async () => {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  try {
    const checkpoint = `${dir}/rc.cursor`;
    const { child, stderr } = spawnCli([
      "tail",
      "recentchange",
      "--since",
      since,
      "--checkpoint",
      checkpoint,
      "--checkpoint-interval",
      "1h",
      "--format",
      "ndjson",
      "--base-url",
      emulator.url,
      "--user-agent",
      UA,
    ]);
    // Everything is delivered, then the stream idles at the live end until Ctrl-C.
    let stdout = "";
    const decoder = new TextDecoder();
    let interrupted = false;
    for await (const chunk of child.stdout) {
      stdout += decoder.decode(chunk, { stream: true });
      if (!interrupted && stdout.split("\n").length > RC_EVENTS) {
        interrupted = true;
        child.kill("SIGINT");
      }
    }
    const status = await child.status;
    assert.equal(status.code, 0, await stderr);
    assert.equal(await stderr, "");
    assert.deepEqual(offsetsOfLines(stdout), offsets);
    // An hour's interval never passed: the save came from Ctrl-C.
    const saved = JSON.parse(await Deno.readTextFile(checkpoint));
    assert.deepEqual(saved[0], {
      topic: "eqiad.mediawiki.recentchange",
      partition: 0,
      offset: offsets.at(-1)! + 1,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tail (subprocess): --help exits 0 and a bad flag exits 2 with a helpful message", async () => {
  for (const command of ["tail", "serve", "record", "demo"]) {
    const help = await runCli([command, "--help"]);
    assert.equal(help.code, 0, `${command}: ${help.stderr}`);
    assert.match(help.stdout, /^Usage:$/m);
    assert.equal(help.stderr, "");
  }
  const bad = await runCli([
    "tail",
    "recentchange",
    "--max",
    "lots",
    "--user-agent",
    UA,
  ]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.equal(
    bad.stderr,
    "eventstreams: Invalid --max 'lots': expected a positive whole number, like --max 100\n",
  );
});

/**
 * Runs `tail --checkpoint-every <every> --max <max>` in-process against the
 * emulator, recording each write to stdout: its lines' offsets and the
 * offset the checkpoint file held at that moment. From write `closeAtWrite`
 * on, stdout is closed (writes fail with BrokenPipe).
 */
async function tailCheckpointWrites(
  every: number | undefined,
  max: number,
  { closeAtWrite = Infinity } = {},
) {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  try {
    const checkpoint = `${dir}/rc.cursor`;
    const savedOffset = (): number | undefined => {
      try {
        return JSON.parse(Deno.readTextFileSync(checkpoint))[0].offset;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
    };
    const io = fakeIo(systemClock);
    const writes: { savedBefore: number | undefined; lines: number[] }[] = [];
    io.stdout = {
      write(bytes: Uint8Array): Promise<number> {
        if (writes.length + 1 >= closeAtWrite) {
          // The reader went away (`| head`).
          return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe"));
        }
        const lines = offsetsOfLines(new TextDecoder().decode(bytes));
        writes.push({ savedBefore: savedOffset(), lines });
        return Promise.resolve(bytes.length);
      },
      writeSync: () => {
        throw new Error("stdout is written asynchronously");
      },
      isTerminal: () => false,
    };
    const code = await main([
      "tail",
      "recentchange",
      "--since",
      since,
      "--checkpoint",
      checkpoint,
      ...(every === undefined ? [] : ["--checkpoint-every", String(every)]),
      "--max",
      String(max),
      "--base-url",
      emulator.url,
      "--user-agent",
      UA,
    ], io);
    assert.equal(code, 0, io.err.text);
    assert.equal(io.err.text, "");
    return { writes, offsets, saved: savedOffset() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("tail --checkpoint-every 1: each event is printed before the checkpoint covers it, and saved before the next one", async () => {
  const { writes, offsets, saved } = await tailCheckpointWrites(1, 20);
  // At the moment an event reaches stdout, the checkpoint holds exactly the previous event's cursor.
  assert.deepEqual(
    writes,
    offsets.slice(0, 20).map((offset, i) => ({
      savedBefore: i === 0 ? undefined : offsets[i - 1] + 1,
      lines: [offset],
    })),
  );
  assert.equal(saved, offsets[20]);
});

Deno.test("tail --checkpoint-every 7: lines go out in batches, and a checkpoint never covers a line not yet written", async () => {
  const { writes, offsets, saved } = await tailCheckpointWrites(7, 100);
  assert.deepEqual(writes.flatMap((w) => w.lines), offsets.slice(0, 100));
  assert.ok(writes.some((w) => w.lines.length > 1), "lines were batched");
  for (const { savedBefore, lines } of writes) {
    // Everything saved so far was written before this batch.
    assert.ok(
      savedBefore === undefined || savedBefore <= lines[0],
      `saved ${savedBefore} before writing ${lines[0]}`,
    );
  }
  assert.equal(saved, offsets[100]);
});

Deno.test("tail --checkpoint: when stdout closes (| head), it ends quietly and saves the cursor of the last batch written", async () => {
  // The default (a save a second at most: none yet when stdout closes), and one per event.
  for (const every of [undefined, 1]) {
    const { writes, offsets, saved } = await tailCheckpointWrites(every, 300, {
      closeAtWrite: 2,
    });
    assert.equal(writes.length, 1, `${every}`);
    const lastWritten = writes[0].lines.at(-1)!;
    assert.ok(lastWritten < offsets.at(-1)!, "stdout closed before the end");
    // Offsets are consecutive in this data: the next one is the resume point.
    assert.equal(saved, lastWritten + 1, `${every}`);
  }
});

Deno.test("tail: events that the filter drops still advance the checkpoint (the saved cursor is the stream's, not the printed events')", async () => {
  // Both datacenter topics carry events; the filter keeps eqiad's only.
  const streams = generateStreams({
    seed: 42,
    counts: { "mediawiki.recentchange": RC_EVENTS },
    codfwShare: 0.5,
  });
  const since = new Date(
    Math.min(
      ...streams.logs.flatMap((l) => l.messages.map((m) => m.timestamp)),
    ),
  ).toISOString();
  await using emulator = serveEmulator({ interleave: "timestamp", streams });
  const dir = await Deno.makeTempDir();
  try {
    const checkpoint = `${dir}/rc.cursor`;
    const io = fakeIo(systemClock);
    const code = await main([
      "tail",
      "recentchange",
      "--since",
      since,
      "--checkpoint",
      checkpoint,
      "--match",
      "meta.topic=eqiad.mediawiki.recentchange",
      "--max",
      "3",
      "--format",
      "ndjson",
      "--base-url",
      emulator.url,
      "--user-agent",
      UA,
    ], io);
    assert.equal(code, 0, io.err.text);
    const printed = io.out.text.trimEnd().split("\n").map((line) =>
      JSON.parse(line).meta
    );
    assert.deepEqual(printed.map((meta) => meta.topic), [
      "eqiad.mediawiki.recentchange",
      "eqiad.mediawiki.recentchange",
      "eqiad.mediawiki.recentchange",
    ]);
    // What the server sent up to the third printed event: the codfw events among them were
    // dropped by the filter, and the checkpoint is past them too.
    const frames = emulator.connections[0].frames;
    const third = frames.findIndex((f) =>
      f.topic === printed[2].topic && f.offset === printed[2].offset
    );
    const dropped = frames.slice(0, third).filter((f) =>
      f.topic === "codfw.mediawiki.recentchange"
    );
    assert.ok(
      dropped.length > 0,
      "the test needs codfw events before the third eqiad one",
    );
    const saved = Cursor.parse(await Deno.readTextFile(checkpoint)).entries;
    assert.deepEqual(saved, [
      {
        topic: "eqiad.mediawiki.recentchange",
        partition: 0,
        offset: printed[2].offset + 1,
      },
      {
        topic: "codfw.mediawiki.recentchange",
        partition: 0,
        offset: dropped.at(-1)!.offset! + 1,
      },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tail: an error it survives is told on stderr with the retry delay, never on stdout", async () => {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({
    streams,
    faults: [[{ kind: "status", status: 503 }]],
  });
  const clock = new ManualClock(NOW);
  const io = fakeIo(clock);
  const messages: string[] = [];
  const decoder = new TextDecoder();
  io.stderr = {
    write: (bytes) => Promise.resolve(io.stderr.writeSync(bytes)),
    writeSync(bytes) {
      const text = decoder.decode(bytes);
      messages.push(text);
      // The backoff waits on the manual clock: run out the announced delay
      // (and no more: the next request's headersTimeoutMs runs on it too).
      const delay = /reconnecting in (\d+(?:\.\d)?)s/.exec(text);
      if (delay) {
        setTimeout(() => clock.tick(Number(delay[1]) * 1000 + 100), 0);
      }
      return bytes.length;
    },
    isTerminal: () => false,
  };
  const code = await main([
    "tail",
    "recentchange",
    "--since",
    since,
    "--max",
    "3",
    "--idle-timeout",
    "1d", // Longer than the tick: only the backoff waits on the clock.
    "--base-url",
    emulator.url,
    "--user-agent",
    UA,
  ], io);
  assert.equal(code, 0, messages.join(""));
  assert.equal(messages.length, 1, messages.join(""));
  assert.match(
    messages[0],
    /^eventstreams tail: EventStreams answered 503 for http:\/\/127\.0\.0\.1:\d+\/v2\/stream\/mediawiki\.recentchange\?since=.* \(reconnecting in \d+(\.\d)?s\)\n$/,
  );
  assert.deepEqual(offsetsOfLines(io.out.text), offsets.slice(0, 3));
});

Deno.test("tail: a checkpoint that cannot be saved ends the run with exit 1 and says so once, also when the stream has gone quiet", async () => {
  const { streams, offsets, since } = recentChangeData();
  await using emulator = serveEmulator({ streams });
  const dir = await Deno.makeTempDir();
  const checkpoint = `${dir}/gone/rc.cursor`;
  await Deno.mkdir(`${dir}/gone`);
  try {
    const io = fakeIo(systemClock);
    const out = io.out;
    let vanished = false;
    io.stdout = {
      write(bytes) {
        if (!vanished) Deno.removeSync(`${dir}/gone`, { recursive: true });
        vanished = true; // The checkpoint's directory vanishes as the first event is printed.
        return out.write(bytes);
      },
      writeSync: (bytes) => out.writeSync(bytes),
      isTerminal: () => false,
    };
    const code = await main([
      "tail",
      "recentchange",
      "--since",
      since,
      "--checkpoint",
      checkpoint,
      "--base-url",
      emulator.url,
      "--user-agent",
      UA,
    ], io);
    assert.equal(code, 1);
    // The first save comes within the interval (1 s): all 300 events may be printed by then,
    // and the stream is quiet; the failed save still ends the run.
    const printed = offsetsOfLines(out.text);
    assert.ok(printed.length >= 1);
    assert.deepEqual(printed, offsets.slice(0, printed.length));
    const lines = io.err.text.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 1, io.err.text);
    assert.match(
      lines[0],
      new RegExp(
        `^eventstreams tail: Cannot save checkpoint to '${checkpoint}': .+; check that the directory exists and is writable$`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve (subprocess): live events keep coming, so tail without --since prints them; Ctrl-C stops it with exit 0", async () => {
  const started = Date.now();
  const { child, stderr } = spawnCli(["serve", "--port", "0", "--rate", "20"]);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  while (!banner.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += value;
  }
  try {
    const url =
      /^EventStreams emulator listening on (http:\/\/127\.0\.0\.1:\d+)\n$/
        .exec(banner)?.[1];
    assert.ok(url, `unexpected first line: '${banner}'`);
    // The README's command, with the emulator's URL: live from now on.
    const run = await runCli([
      "tail",
      "recentchange",
      "--base-url",
      url,
      "--max",
      "5",
      "--user-agent",
      UA,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    const events = run.stdout.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.equal(events.length, 5);
    for (const event of events) {
      assert.equal(event.meta.stream, "mediawiki.recentchange");
      assert.ok(Date.parse(event.meta.dt) >= Math.floor(started / 1000) * 1000);
    }
  } finally {
    child.kill("SIGINT");
    while (!(await reader.read()).done) { /* drain */ }
  }
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
  assert.equal(await stderr, "");
});

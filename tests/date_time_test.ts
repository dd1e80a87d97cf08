import assert from "node:assert/strict";
import { parseUtcDateTime } from "../src/date_time.ts";

const CASES: [string, string][] = [
  ["2026-01-01 00:00", "2026-01-01T00:00:00.000Z"],
  ["2026-01-01T00:00", "2026-01-01T00:00:00.000Z"],
  ["2026-01-01 05:30:15.250", "2026-01-01T05:30:15.250Z"],
  ["2026-07-01T12:00:00", "2026-07-01T12:00:00.000Z"],
  ["2026-01-01", "2026-01-01T00:00:00.000Z"],
  ["2026-01-01T00:00:00+02:00", "2025-12-31T22:00:00.000Z"],
  ["2026-01-01 00:00:00Z", "2026-01-01T00:00:00.000Z"],
];

Deno.test("a date-time without an offset is UTC, with T or a space", () => {
  for (const [text, iso] of CASES) {
    assert.equal(new Date(parseUtcDateTime(text)).toISOString(), iso, text);
  }
  assert.ok(Number.isNaN(parseUtcDateTime("not a date")));
});

Deno.test("the client, the CLI and the emulator read since alike in every time zone", async () => {
  // Date.parse would read these as local time: run where local time is not UTC.
  const url = (path: string) =>
    JSON.stringify(new URL(path, import.meta.url).href);
  const script = `
    import { eventStream } from ${url("../mod.ts")};
    import { parseSince } from ${url("../src/cli/duration.ts")};
    import { EmulatorStreams, TopicPartitionLog } from ${
    url("../src/testing/emulator/mod.ts")
  };
    const cases = ${JSON.stringify(CASES.map(([text]) => text))};
    const out = [];
    for (const since of cases) {
      let sent = "";
      const stream = eventStream("recentchange", {
        userAgent: "TzTest/1.0 (tz@example.org)",
        since,
        fetch: (u) => { sent = new URL(u).searchParams.get("since"); return Promise.reject(new TypeError("offline")); },
      });
      const next = stream[Symbol.asyncIterator]().next();
      while (sent === "") await new Promise((r) => setTimeout(r, 0));
      await stream.close();
      await next;
      const log = new TopicPartitionLog({ topic: "eqiad.mediawiki.recentchange" });
      for (const dt of ["2025-12-31T21:59:59.999Z", "2025-12-31T22:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T05:30:15.250Z", "2026-07-01T12:00:00Z"]) log.append({ meta: { dt } });
      const [eqiad] = new EmulatorStreams({ logs: [log] }).select("recentchange", { since });
      out.push([sent, parseSince(since, 0).toISOString(), eqiad.messages[0].timestamp]);
    }
    console.log(JSON.stringify(out));`;
  for (
    const tz of ["America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"]
  ) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", "--no-check", script],
      env: { TZ: tz },
    }).output();
    const decode = (bytes: Uint8Array) =>
      new TextDecoder().decode(bytes).trim();
    assert.equal(code, 0, decode(stderr));
    const rows = JSON.parse(decode(stdout)) as string[][];
    rows.forEach(([client, cli, emulator], i) => {
      const [text, iso] = CASES[i];
      assert.equal(client, iso, `client, ${text}, TZ=${tz}`);
      assert.equal(cli, iso, `CLI, ${text}, TZ=${tz}`);
      // The emulator's first event at or after since.
      assert.equal(
        new Date(emulator).toISOString(),
        [
          "2025-12-31T22:00:00.000Z",
          "2026-01-01T00:00:00.000Z",
          "2026-01-01T05:30:15.250Z",
          "2026-07-01T12:00:00.000Z",
        ].find((dt) => dt >= iso),
        `emulator, ${text}, TZ=${tz}`,
      );
    });
  }
});

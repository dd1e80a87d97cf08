/**
 * `eventstreams sink postgres` as a subprocess against the emulator and a
 * real PostgreSQL cluster: usage errors (exit 2, no password shown), and a
 * run that stores every non-canary event, shows its status line, and exits
 * 0 on SIGTERM after writing the batch in hand.
 */
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { serveEmulator } from "../src/testing/emulator/server.ts";
import { captureIo, cliRunArgs } from "./_helpers.ts";
import { POSTGRES_SKIP, TestPostgres } from "./_postgres.ts";

const UA = "eventstreams-sink-cli-test/0.1 (https://example.org/sink-test)";

async function usage(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const io = captureIo();
  const code = await main(["sink", ...args], io);
  return { code, stderr: io.err.text };
}

Deno.test("sink CLI: usage errors exit 2 and name what to fix, never the password", async () => {
  let run = await usage([
    "postgres",
    "recentchange",
    "--user-agent",
    UA,
    "--table",
    "rc",
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Missing database: pass --database-url/);
  run = await usage([
    "postgres",
    "recentchange",
    "--user-agent",
    UA,
    "--database-url",
    "postgres://a:pw1234@h/db",
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Missing --table/);
  run = await usage([
    "postgres",
    "recentchange",
    "--user-agent",
    UA,
    "--table",
    "rc",
    "--database-url",
    "mysql://a:pw1234@h/db",
  ]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot use the database URL 'mysql:\/\/h\/db'/);
  assert.doesNotMatch(run.stderr, /pw1234/);
  run = await usage([
    "postgres",
    "recentchange",
    "--table",
    "rc",
    "--checkpoint",
    "f",
  ]);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /'--checkpoint' is for 'eventstreams tail', not 'sink'/,
  );
  run = await usage([
    "postgres",
    "recentchange",
    "--table",
    "rc",
    "--batch-size",
    "0",
  ]);
  assert.match(run.stderr, /Invalid --batch-size '0'/);
  run = await usage(["kafka"]);
  assert.match(run.stderr, /Unknown sink 'kafka'/);
  const help = captureIo();
  assert.equal(await main(["sink", "--help"], help), 0);
  assert.match(
    help.out.text,
    /eventstreams sink postgres <stream>\.\.\. --database-url/,
  );
});

Deno.test({
  name:
    "sink CLI: stores the emulator's non-canary events once, shows events/s, batch and leader, exits 0 on SIGTERM",
  ignore: POSTGRES_SKIP !== undefined,
  async fn() {
    await using pg = await TestPostgres.start();
    await using emulator = serveEmulator({
      generate: { counts: { "mediawiki.recentchange": 0 } },
    });
    emulator.produce("recentchange", 60);
    emulator.produce("recentchange", 2, { canary: true });
    const child = new Deno.Command(Deno.execPath(), {
      args: cliRunArgs([
        "sink",
        "postgres",
        "recentchange",
        "--database-url",
        pg.url,
        "--table",
        "rc",
        "--batch-size",
        "25",
        "--since",
        "2020-01-01T00:00:00Z",
        "--base-url",
        emulator.url,
        "--user-agent",
        UA,
        "--status",
      ]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(child.stdout).text();
    let stderr = "";
    let statusLine: string | undefined;
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      stderr += chunk;
      // The status line is drawn about once a second: wait for the one that counts all 60.
      statusLine ??= stderr.split("\n").find((line) =>
        /^60 events \|/.test(line)
      );
      if (statusLine !== undefined && !stderr.includes("SIGTERM sent")) {
        child.kill("SIGTERM");
        stderr += "SIGTERM sent";
      }
    }
    const status = await child.status;
    assert.equal(status.code, 0, stderr);
    assert.equal(await stdout, "");
    assert.match(
      statusLine!,
      /^60 events \| [\d.]+\/s \| lag .* \| 0 reconnects \| batch \d+\/25 \| leader \| cursor eqiad\.mediawiki\.recentchange\/0@/,
    );
    assert.match(
      stderr,
      /eventstreams sink: leader \(holding the upstream connection\)/,
    );
    assert.equal(
      await pg.psql(
        "select count(*), count(distinct \"offset\") from rc where data->'meta'->>'domain' <> 'canary'",
      ),
      "60|60",
    );
    assert.equal(await pg.psql("select count(*) from rc"), "60");
  },
});

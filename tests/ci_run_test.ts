/**
 * `.ci/run` on a fresh machine: it installs curl with apt-get when it is
 * missing, and prints its `tests: N passed, M failed` line whether the suite
 * passed or failed, exiting with `deno task ci`'s code. Run with stand-ins
 * on PATH for `deno` (prints a canned `deno task ci` output) and `apt-get`
 * (records its arguments), and only the shell tools the script uses.
 */
import assert from "node:assert/strict";
import { runProcess } from "./_helpers.ts";

const SCRIPT = new URL("../.ci/run", import.meta.url).pathname;
/** What the script runs besides deno, curl and apt-get. */
const TOOLS = [
  "bash",
  "sed",
  "grep",
  "tail",
  "tee",
  "mktemp",
  "rm",
  "id",
  "dirname",
  "cat",
  "chmod",
  "mkdir",
  "head",
];

/** Where a tool lives on this machine, or `undefined`. */
async function which(tool: string): Promise<string | undefined> {
  const { code, stdout } = await runProcess("bash", [
    "-c",
    `command -v ${tool}`,
  ]);
  return code === 0 ? stdout.trim() : undefined;
}

interface Machine {
  /** The last lines of `deno task ci`'s output, and its exit code. */
  ci: { output: string; code: number };
  /** Whether curl is on PATH. */
  curl: boolean;
}

async function runCi(
  machine: Machine,
): Promise<{ code: number; stdout: string; aptCalls: string[] }> {
  const bin = await Deno.makeTempDir({ prefix: "ci_run_test_" });
  try {
    for (const tool of TOOLS) {
      const path = await which(tool);
      assert.ok(path, `this test needs ${tool}`);
      await Deno.symlink(path, `${bin}/${tool}`);
    }
    const fake = async (name: string, body: string) => {
      await Deno.writeTextFile(`${bin}/${name}`, `#!${bin}/bash\n${body}\n`);
      await Deno.chmod(`${bin}/${name}`, 0o755);
    };
    await Deno.writeTextFile(`${bin}/ci-output`, machine.ci.output);
    await fake(
      "deno",
      `if [ "$1" = "--version" ]; then echo "deno 2.9.6 (stable)"; exit 0; fi\n` +
        `cat "${bin}/ci-output"; exit ${machine.ci.code}`,
    );
    await fake(
      "apt-get",
      `echo "$*" >> "${bin}/apt-calls"\n` +
        `if [ "$1" = "install" ]; then printf '#!${bin}/bash\\n' > "${bin}/curl"; chmod +x "${bin}/curl"; fi`,
    );
    if (machine.curl) await fake("curl", "exit 0");
    // scripts/install_test_deps.sh finds the browsers and npm's tools there.
    for (const present of ["chromium", "firefox-esr"]) {
      await fake(present, "echo present");
    }
    await fake("node", "echo v20.0.0");
    await fake("npm", `echo "$*" >> "${bin}/npm-calls"`);
    const { code, stdout } = await runProcess(`${bin}/bash`, [SCRIPT], {
      env: { PATH: bin, EVENTSTREAMS_RUNTIMES_DIR: `${bin}/runtimes` },
    });
    let aptCalls: string[] = [];
    try {
      aptCalls = (await Deno.readTextFile(`${bin}/apt-calls`)).trimEnd()
        .split("\n");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return { code, stdout, aptCalls };
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

const PASSED = "ok | 612 passed | 0 failed (50s)\n";
const FAILED =
  "\x1b[0m\x1b[31mFAILED\x1b[0m | 609 passed | 3 failed \x1b[0m\x1b[38;5;245m(52s)\x1b[0m\n\nerror: Test failed\n";

Deno.test(".ci/run prints the test summary line when the suite passes, and exits 0", async () => {
  const run = await runCi({ ci: { output: PASSED, code: 0 }, curl: true });
  assert.equal(run.code, 0, run.stdout);
  assert.equal(
    run.stdout.trimEnd().split("\n").at(-1),
    "tests: 612 passed, 0 failed",
  );
  assert.deepEqual(run.aptCalls, []);
});

Deno.test(".ci/run prints the test summary line when the suite fails too, and exits with deno task ci's code", async () => {
  const run = await runCi({ ci: { output: FAILED, code: 1 }, curl: true });
  assert.equal(run.code, 1, run.stdout);
  assert.equal(
    run.stdout.trimEnd().split("\n").at(-1),
    "tests: 609 passed, 3 failed",
  );
});

Deno.test(".ci/run says the tests did not run when deno task ci fails before them", async () => {
  const run = await runCi({
    ci: { output: "error: Found 1 not formatted file\n", code: 1 },
    curl: true,
  });
  assert.equal(run.code, 1, run.stdout);
  assert.equal(
    run.stdout.trimEnd().split("\n").at(-1),
    "tests: not run (deno task ci failed before the tests, exit 1)",
  );
});

Deno.test({
  name: ".ci/run installs curl with apt-get when it is missing",
  // As root (CI machines, containers) the script calls apt-get itself; else through sudo.
  ignore: (await runProcess("id", ["-u"])).stdout.trim() !== "0",
  fn: async () => {
    const run = await runCi({ ci: { output: PASSED, code: 0 }, curl: false });
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual(run.aptCalls, ["update -qq", "install -y -qq curl"]);
  },
});

Deno.test("on a machine without curl, the curl interop tests are skipped with a printed reason, and the rest pass", async () => {
  const bin = await Deno.makeTempDir({ prefix: "no_curl_" });
  try {
    await Deno.symlink(Deno.execPath(), `${bin}/deno`);
    const run = await runProcess(`${bin}/deno`, [
      "test",
      "--no-check", // Type-checked by deno task check; here only the run matters.
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "--allow-net=127.0.0.1",
      "tests/interop_test.ts",
    ], {
      env: { PATH: bin, NO_COLOR: "1" },
      cwd: new URL("..", import.meta.url),
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout + run.stderr,
      /skipping the 2 curl tests: curl is not installed \(not found on PATH\); install it \(apt-get install curl\) to run them/,
    );
    assert.match(run.stdout, /\| 1 passed \| 0 failed \| 2 ignored/);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

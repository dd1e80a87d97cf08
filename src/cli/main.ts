/**
 * The `eventstreams` command line: follow Wikimedia EventStreams from a
 * terminal or a script, with filters, NDJSON output and crash-safe
 * checkpoints; run the local emulator; record sessions.
 *
 * Install:
 *
 * ```sh
 * deno install -g -n eventstreams --unstable-kv --allow-net --allow-read --allow-write --allow-env jsr:@eventstreams/client/cli
 * eventstreams tail recentchange --wiki enwiki --user-agent 'my-tool/1.0 (me@example.org)'
 * ```
 *
 * From a checkout: `deno task cli tail recentchange ...`.
 *
 * @example Running a subcommand in-process
 * ```ts
 * import { main } from "@eventstreams/client/cli";
 *
 * const code = await main(["tail", "--help"]);
 * if (code !== 0) throw new Error(`expected exit code 0, got ${code}`);
 * ```
 *
 * @module
 */

import { UsageError } from "./args.ts";
import { type CliIo, denoIo, writeText } from "./io.ts";
import denoJson from "../../deno.json" with { type: "json" };

export type { CliIo, CliOutput } from "./io.ts";

/**
 * The package version, from deno.json (what `eventstreams --version` prints).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "@eventstreams/client/cli";
 * assert.ok(/^\d+\.\d+\.\d+/.test(VERSION));
 * ```
 */
export const VERSION: string = denoJson.version;

/**
 * The text of `eventstreams --help`: commands, examples, install line and
 * exit codes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAIN_HELP, VERSION } from "@eventstreams/client/cli";
 * assert.ok(MAIN_HELP.startsWith(`eventstreams ${VERSION}:`));
 * assert.ok(["tail", "serve", "record", "demo"].every((command) => MAIN_HELP.includes(`  ${command} `)));
 * ```
 */
export const MAIN_HELP =
  `eventstreams ${VERSION}: a loss-free client for Wikimedia EventStreams

Usage:
  eventstreams <command> [options]

Commands:
  tail <stream>...   Follow streams and print events (pretty on a terminal, NDJSON otherwise),
                     with filters and a crash-safe --checkpoint file
  sink postgres <stream>...
                     Consume streams into a PostgreSQL table exactly once (batch and cursor in
                     one transaction), with a leader lease among replicas
  relay <stream>...  Share one upstream connection with local subscribers (durable log,
                     exact resume, server-side filters)
  serve              Run the local EventStreams emulator (loopback) with the repository fixtures
  record             Record a live session as a cassette for replay tests
  demo               Show the client surviving cuts, stalls and 429s against the emulator

Run 'eventstreams <command> --help' for a command's options and examples.

Examples:
  eventstreams tail recentchange --wiki enwiki --no-bot --user-agent 'my-tool/1.0 (me@example.org)'
  EVENTSTREAMS_USER_AGENT='my-tool/1.0 (me@example.org)' eventstreams tail page-create --format ndjson
  eventstreams serve --port 8092

Install:
  deno install -g -n eventstreams --unstable-kv --allow-net --allow-read --allow-write --allow-env jsr:@eventstreams/client/cli
From a checkout:
  deno task cli <command> ...

Exit codes: 0 success (also after Ctrl-C, which saves the checkpoint first), 1 runtime error,
2 usage error (unknown command, flag or bad value; the message says what to fix).
`;

/**
 * Runs the `eventstreams` command line.
 *
 * @param args The arguments after the program name (`Deno.args`).
 * @param io The process's I/O; tests inject their own.
 * @returns The exit code: 0 success, 1 runtime error, 2 usage error.
 *
 * @example
 * ```ts
 * import { main } from "@eventstreams/client/cli";
 *
 * const code = await main(["--help"]);
 * if (code !== 0) throw new Error(`expected exit code 0, got ${code}`);
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = denoIo(),
): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        if (command === "help" && rest.length > 0) {
          return await main([rest[0], "--help"], io);
        }
        await writeText(io.stdout, MAIN_HELP);
        return 0;
      case "--version":
      case "-V":
        await writeText(io.stdout, `eventstreams ${VERSION}\n`);
        return 0;
      case "tail":
        return await (await import("./tail.ts")).runTail(rest, io);
      case "serve":
        return await (await import("./serve.ts")).runServe(rest, io);
      case "sink":
        return await (await import("./sink.ts")).runSinkCommand(rest, io);
      case "record":
        return await (await import("./record.ts")).runRecord(rest, io);
      case "demo":
        return await (await import("./demo.ts")).runDemo({ args: rest, io });
      case "relay":
        return await (await import("./relay.ts")).runRelay(rest, io);
      default:
        throw new UsageError(
          `Unknown command '${command}': expected tail, sink, relay, serve, record or demo; run 'eventstreams --help'`,
        );
    }
  } catch (error) {
    if (error instanceof UsageError) {
      await writeText(io.stderr, `eventstreams: ${error.message}\n`);
      return 2;
    }
    const name = command === undefined
      ? "eventstreams"
      : `eventstreams ${command}`;
    await writeText(
      io.stderr,
      `${name}: ${(error as Error)?.message ?? String(error)}\n`,
    );
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

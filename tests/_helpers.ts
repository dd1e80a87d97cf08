/**
 * Test helpers shared by the CLI, demo, crash and interop tests: in-process
 * CLI I/O that captures what is written, and subprocess runs (the CLI's
 * `deno run` command line, and any command run to completion).
 */

import type { CliIo, CliOutput } from "../src/cli/io.ts";
import { type Clock, systemClock } from "../src/clock.ts";

/** The CLI's entry point (`src/cli/main.ts`), as a path for `deno run`. */
export const CLI_MAIN: string =
  new URL("../src/cli/main.ts", import.meta.url).pathname;

/**
 * The `deno` arguments that run the CLI against the emulator on loopback:
 * `run`, the permissions `eventstreams tail` needs there, the entry point,
 * then `args`.
 */
export function cliRunArgs(args: readonly string[]): string[] {
  return [
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    CLI_MAIN,
    ...args,
  ];
}

/**
 * Starts the CLI in a subprocess against the emulator on loopback (see
 * {@linkcode cliRunArgs}), stdin closed, for tests that read its stdout as
 * it comes and signal it.
 *
 * @returns The process (read `child.stdout`, send `child.kill()`, await
 *   `child.status`) and everything it writes to stderr, once it exits.
 */
export function spawnCli(
  args: readonly string[],
): { child: Deno.ChildProcess; stderr: Promise<string> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliRunArgs(args),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, stderr: new Response(child.stderr).text() };
}

/** What a finished subprocess left: its exit code or signal, and its output as text. */
export interface ProcessRun {
  /** The exit code. */
  code: number;
  /** The signal that ended it, or `null`. */
  signal: Deno.Signal | null;
  /** Everything it wrote to stdout. */
  stdout: string;
  /** Everything it wrote to stderr. */
  stderr: string;
}

/** Options for {@linkcode runProcess}. */
export interface RunProcessOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** The working directory. */
  cwd?: string | URL;
}

/** Runs `command args` to completion with stdin closed, collecting stdout and stderr as text. */
export async function runProcess(
  command: string | URL,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<ProcessRun> {
  const output = await new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    signal: output.signal,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** A stdout or stderr for in-process CLI runs that keeps every byte written. */
export class CaptureOutput implements CliOutput {
  #chunks: Uint8Array[] = [];
  write(bytes: Uint8Array): Promise<number> {
    return Promise.resolve(this.writeSync(bytes));
  }
  writeSync(bytes: Uint8Array): number {
    this.#chunks.push(bytes.slice());
    return bytes.length;
  }
  isTerminal(): boolean {
    return false;
  }
  /** Everything written so far, decoded as UTF-8. */
  get text(): string {
    const all = new Uint8Array(
      this.#chunks.reduce((n, c) => n + c.length, 0),
    );
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    return new TextDecoder().decode(all);
  }
}

/**
 * In-process CLI I/O on `clock`: stdout and stderr captured (not terminals),
 * an empty environment, and no Ctrl-C.
 */
export function captureIo(
  clock: Clock = systemClock,
): CliIo & { out: CaptureOutput; err: CaptureOutput } {
  const out = new CaptureOutput();
  const err = new CaptureOutput();
  return {
    out,
    err,
    stdout: out,
    stderr: err,
    env: { get: (_: string): string | undefined => undefined },
    clock,
    onInterrupt: () => () => {},
  };
}

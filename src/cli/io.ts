/**
 * What the CLI touches of the outside world, injectable for tests:
 * stdout, stderr, the environment, time, and Ctrl-C.
 *
 * @module
 */

import { fstatSync } from "node:fs";
import { type Clock, systemClock } from "../clock.ts";

/**
 * An output the CLI writes to (`Deno.stdout` and `Deno.stderr` fit).
 *
 * @example An output that keeps what is written, for a test
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CliOutput } from "@eventstreams/client/cli";
 *
 * class Captured implements CliOutput {
 *   text = "";
 *   #decoder = new TextDecoder();
 *   write(bytes: Uint8Array): Promise<number> {
 *     return Promise.resolve(this.writeSync(bytes));
 *   }
 *   writeSync(bytes: Uint8Array): number {
 *     this.text += this.#decoder.decode(bytes, { stream: true });
 *     return bytes.length;
 *   }
 *   isTerminal(): boolean {
 *     return false; // the CLI prints NDJSON, not the pretty terminal format
 *   }
 * }
 * const out = new Captured();
 * out.writeSync(new TextEncoder().encode("{}\n"));
 * assert.equal(out.text, "{}\n");
 * ```
 */
export interface CliOutput {
  /** Writes some bytes, returning how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Writes some bytes synchronously, returning how many were written. */
  writeSync(bytes: Uint8Array): number;
  /** Whether the output is a terminal. */
  isTerminal(): boolean;
  /**
   * Whether a write never waits on a reader that may stall (a regular file,
   * `/dev/null`, a terminal): then batches are written synchronously, which
   * is faster and keeps a status line in step; a pipe or a socket is written
   * asynchronously, so that signals are still handled while its reader
   * lags. Absent: `false`.
   */
  writesWithoutWaiting?(): boolean;
}

/**
 * The CLI's view of its process.
 *
 * @example Running the CLI in-process with captured output
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CliIo, type CliOutput, main, VERSION } from "@eventstreams/client/cli";
 * import { systemClock } from "@eventstreams/client";
 *
 * let stdout = "";
 * const decoder = new TextDecoder();
 * const capture: CliOutput = {
 *   write: (bytes) => Promise.resolve(capture.writeSync(bytes)),
 *   writeSync(bytes) {
 *     stdout += decoder.decode(bytes);
 *     return bytes.length;
 *   },
 *   isTerminal: () => false,
 * };
 * const io: CliIo = {
 *   stdout: capture,
 *   stderr: capture,
 *   env: { get: (name) => name === "NO_COLOR" ? "1" : undefined },
 *   clock: systemClock,
 *   onInterrupt: () => () => {},
 * };
 * assert.equal(await main(["--version"], io), 0);
 * assert.equal(stdout, `eventstreams ${VERSION}\n`);
 * ```
 */
export interface CliIo {
  /** Event output. */
  stdout: CliOutput;
  /** Messages and the status line. */
  stderr: CliOutput;
  /** Environment lookups (`EVENTSTREAMS_USER_AGENT`, `NO_COLOR`). */
  env: { get(name: string): string | undefined };
  /** Time source. */
  clock: Clock;
  /**
   * Calls `handler` on Ctrl-C (SIGINT, and SIGTERM where supported).
   *
   * @returns A function that stops listening.
   */
  onInterrupt(handler: () => void): () => void;
}

const encoder = new TextEncoder();

/**
 * Writes all of `text` (a UTF-8 string) to `output`.
 *
 * @param output Where to write.
 * @param text What to write.
 */
export async function writeText(
  output: CliOutput,
  text: string,
): Promise<void> {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += await output.write(bytes.subarray(written));
  }
}

/**
 * Writes all of `text` to `output` synchronously (for short messages).
 *
 * @param output Where to write.
 * @param text What to write.
 */
export function writeTextSync(output: CliOutput, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += output.writeSync(bytes.subarray(written));
  }
}

/**
 * The width of the terminal the process runs in, for the status line.
 *
 * @returns The number of columns, or 80 when it is unknown.
 */
export function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80; // Not a terminal.
  }
}

/**
 * How long after the first Ctrl-C (or SIGTERM) another one still counts as
 * the same: a terminal sends SIGINT to every process of the foreground
 * group, so the CLI gets it from the terminal and again from each wrapper
 * that forwards it (`deno task`, `npx`), at once.
 */
export const INTERRUPT_REPEAT_MS = 2_000;

/**
 * What a Ctrl-C or SIGTERM does: the first one stops the command, which
 * saves its checkpoint and exits 0 (`"stop"`); copies of it that arrive
 * within {@linkcode INTERRUPT_REPEAT_MS} are ignored (`"ignore"`), so a
 * forwarded signal never cuts the save short; one that comes later means
 * the user insists, and the process exits at once with code 130 (`"exit"`).
 *
 * @param firstAtMs When the first signal came, or `undefined` for the first.
 * @param nowMs When this one came.
 * @returns The action to take.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { interruptAction } from "./io.ts";
 *
 * assert.equal(interruptAction(undefined, 5_000), "stop");
 * assert.equal(interruptAction(5_000, 5_003), "ignore"); // deno task's forwarded copy
 * assert.equal(interruptAction(5_000, 9_000), "exit"); // pressed again: quit now
 * ```
 */
export function interruptAction(
  firstAtMs: number | undefined,
  nowMs: number,
): "stop" | "ignore" | "exit" {
  if (firstAtMs === undefined) return "stop";
  return nowMs - firstAtMs < INTERRUPT_REPEAT_MS ? "ignore" : "exit";
}

/**
 * The real process: `Deno.stdout`, `Deno.stderr`, `Deno.env`, the system
 * clock and signal listeners (SIGINT and SIGTERM, see
 * {@linkcode interruptAction}: repeats within 2 s are ignored, a later one
 * exits at once with code 130).
 *
 * @returns The process's I/O.
 */
export function denoIo(): CliIo {
  return {
    stdout: {
      write: (bytes) => Deno.stdout.write(bytes),
      writeSync: (bytes) => Deno.stdout.writeSync(bytes),
      isTerminal: () => Deno.stdout.isTerminal(),
      writesWithoutWaiting: stdoutWritesWithoutWaiting,
    },
    stderr: Deno.stderr,
    env: {
      get(name: string): string | undefined {
        try {
          return Deno.env.get(name);
        } catch {
          return undefined; // No --allow-env: behave as if unset.
        }
      },
    },
    clock: systemClock,
    onInterrupt(handler: () => void): () => void {
      let firstAt: number | undefined;
      const listener = () => {
        const now = systemClock.now();
        switch (interruptAction(firstAt, now)) {
          case "stop":
            firstAt = now;
            handler();
            return;
          case "ignore":
            return;
          case "exit":
            Deno.exit(130);
        }
      };
      const signals: Deno.Signal[] = Deno.build.os === "windows"
        ? ["SIGINT"]
        : ["SIGINT", "SIGTERM"];
      for (const signal of signals) Deno.addSignalListener(signal, listener);
      return () => {
        for (const signal of signals) {
          Deno.removeSignalListener(signal, listener);
        }
      };
    },
  };
}

/**
 * Whether this process's stdout is a regular file or a device (`/dev/null`,
 * a terminal), not a pipe or a socket; `false` when unknown. (`node:fs`'s
 * `fstat` needs no permission; Deno's `stat` of `/dev/stdout` needs
 * `--allow-all`.)
 */
function stdoutWritesWithoutWaiting(): boolean {
  try {
    const info = fstatSync(1);
    return info.isFile() || info.isCharacterDevice();
  } catch {
    return false;
  }
}

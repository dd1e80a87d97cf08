/**
 * `eventstreams demo` (PLACEHOLDER: the lead writes the real demo; this file
 * only fixes the hook `main.ts` calls, `runDemo(options)`).
 *
 * @module
 */

import type { CliIo } from "./io.ts";
import { writeText } from "./io.ts";

/** What `eventstreams demo` receives from `main`. */
export interface DemoOptions {
  /** The arguments after `demo`. */
  args: string[];
  /** The process's I/O (stdout, stderr, env, clock, Ctrl-C). */
  io: CliIo;
}

/** `eventstreams demo --help`. */
export const DEMO_HELP =
  `Show the client surviving cuts, stalls and 429s against the local emulator.

Usage:
  eventstreams demo

Examples:
  eventstreams demo

Exit codes: 0 done, 1 runtime error, 2 usage error.
`;

/**
 * Runs `eventstreams demo`.
 *
 * @param options Arguments and I/O.
 * @returns The exit code.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  if (options.args.includes("--help") || options.args.includes("-h")) {
    await writeText(options.io.stdout, DEMO_HELP);
    return 0;
  }
  // TODO(lead): the real demo (emulator + scripted faults + a live status view).
  await writeText(
    options.io.stderr,
    "eventstreams demo: not available in this build yet\n",
  );
  return 1;
}

/**
 * Processes for the loopback benchmarks: the server of scripts/bench_server.ts
 * in a second process, and the pinning that keeps it off the consumer's core
 * when `taskset` exists (this process, all its threads, on core 0; the
 * server on core 1).
 *
 * @module
 */

const SERVER = new URL("./bench_server.ts", import.meta.url);

/** A running bench server. */
export interface BenchServer<Info> {
  /** The JSON line it printed once listening. */
  info: Info;
  /** Whether it and this process run on separate cores. */
  pinned: boolean;
  /** Stops it. */
  stop(): Promise<void>;
}

/** Whether `taskset` can run here. */
export async function hasTaskset(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * A command line pinned to `core` when `pinned`.
 *
 * @param pinned Whether to pin.
 * @param core The core.
 * @param args The command line.
 * @returns The program and its arguments.
 */
export function onCore(
  pinned: boolean,
  core: number,
  args: string[],
): [string, string[]] {
  return pinned
    ? ["taskset", ["-c", String(core), ...args]]
    : [args[0], args.slice(1)];
}

/**
 * Starts scripts/bench_server.ts with `args` (pinning this process to core 0
 * and the server to core 1 when `taskset` exists) and waits for its line.
 *
 * @param args The server's arguments (`--bytes=N`, `--emulator=N`).
 * @returns The running server.
 */
export async function startBenchServer<Info>(
  args: string[],
): Promise<BenchServer<Info>> {
  const pinned = await hasTaskset();
  if (pinned) {
    await new Deno.Command("taskset", {
      args: ["-a", "-cp", "0", String(Deno.pid)],
      stdout: "null",
    }).output();
  }
  const [program, programArgs] = onCore(pinned, 1, [
    Deno.execPath(),
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    SERVER.pathname,
    ...args,
  ]);
  const server = new Deno.Command(program, {
    args: programArgs,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    try {
      server.kill();
    } catch {
      // Already gone.
    }
    await server.status;
    await server.stdout.cancel().catch(() => {});
  };
  try {
    const lines = server.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    const { value } = await lines.read();
    lines.releaseLock();
    if (value === undefined) throw new Error("the bench server exited");
    return { info: JSON.parse(value) as Info, pinned, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The median.
 *
 * @param values Numbers.
 * @returns Their median.
 */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

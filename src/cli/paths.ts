/**
 * Checks of the files a command will write (`tail --checkpoint`, `record
 * --out`), made before it connects, so that a wrong path fails at once
 * instead of after the first event or the whole recording, and a FIFO never
 * blocks the command.
 *
 * @module
 */

import { dirname } from "../_dirname.ts";
import { UsageError } from "./args.ts";

/** What a path that is not a regular file is, for a message. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isSocket) return "a socket";
  if (info.isCharDevice || info.isBlockDevice) return "a device";
  return "not a regular file";
}

/**
 * Checks that `path` can be written the way the command writes it (a
 * temporary file in its directory, renamed over it): it is a regular file or
 * absent, and its directory exists and takes new files.
 *
 * @param flag The flag that named the path, for the message (`--checkpoint`).
 * @param path The file.
 * @throws {UsageError} Naming the flag, the path and what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkWritableFile } from "./paths.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await checkWritableFile("--checkpoint", `${dir}/rc.cursor`); // absent, in a writable directory
 * await assert.rejects(
 *   checkWritableFile("--checkpoint", `${dir}/missing/rc.cursor`),
 *   /^UsageError: Invalid --checkpoint '.*': its directory '.*missing' does not exist/,
 * );
 * await assert.rejects(checkWritableFile("--out", dir), /it is a directory/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function checkWritableFile(
  flag: string,
  path: string,
): Promise<void> {
  const invalid = (why: string) =>
    new UsageError(`Invalid ${flag} '${path}': ${why}`);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw invalid(`it is ${kindOf(info)}; give the path of a regular file`);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw invalid(`${(error as Error).message}; check the path`);
    }
  }
  const dir = dirname(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    throw error instanceof Deno.errors.NotFound
      ? invalid(
        `its directory '${dir}' does not exist; create it (mkdir -p '${dir}') or pick another path`,
      )
      : invalid(`${(error as Error).message}; check the path`);
  }
  if (!info.isDirectory) {
    throw invalid(`'${dir}' is not a directory; pick another path`);
  }
  // Only trying tells whether a new file can be made there (permissions, read-only mounts).
  let probe: string;
  try {
    probe = await Deno.makeTempFile({ dir, prefix: ".eventstreams-probe-" });
  } catch (error) {
    throw invalid(
      `cannot create files in '${dir}': ${
        (error as Error).message
      }; pick a writable directory`,
    );
  }
  await Deno.remove(probe);
}

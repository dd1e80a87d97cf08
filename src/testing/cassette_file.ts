/**
 * Cassette files: {@linkcode readCassette} and {@linkcode writeCassette}
 * (Deno file system).
 *
 * @module
 */

import {
  type Cassette,
  CassetteError,
  parseCassette,
  serializeCassette,
} from "./cassette.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and validates a cassette file. A missing file fails loudly with the
 * command that records it: replay never falls back to the network.
 *
 * @param path The cassette file (`.cassette.jsonl` by convention).
 * @returns The cassette.
 * @throws {CassetteError} When the file is missing, not UTF-8, or not a valid
 *   format-1 cassette (the message names the line).
 *
 * @example Reading a cassette written earlier
 * ```ts no-assert
 * import { readCassette, writeCassette } from "@eventstreams/client/testing";
 * const path = await Deno.makeTempFile({ suffix: ".cassette.jsonl" });
 * await writeCassette(path, { format: 1, recordedAt: "2026-09-27T16:17:00.000Z", tool: "example", connections: [] });
 * const cassette = await readCassette(path);
 * await Deno.remove(path);
 * ```
 */
export async function readCassette(path: string | URL): Promise<Cassette> {
  const source = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CassetteError(
        `Cannot read cassette ${source}: the file does not exist; record it with ` +
          `\`deno task record <stream> --events 50 --out ${source} --user-agent '<tool>/<version> (<contact>)'\`` +
          ` (or import a curl capture with \`deno task import-capture <capture.sse> --url <url> --out ${source}\`)`,
        { source, cause: error },
      );
    }
    throw new CassetteError(
      `Cannot read cassette ${source}: ${(error as Error).message}`,
      { source, cause: error },
    );
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (error) {
    throw new CassetteError(
      `Cannot read cassette ${source}: the file is not valid UTF-8; cassettes are JSON Lines text, re-record it`,
      { source, cause: error },
    );
  }
  return parseCassette(text, { source });
}

/**
 * Writes a cassette file atomically (a temporary file renamed into place), so
 * an interrupted recording never leaves half a cassette behind.
 *
 * @param path Where to write.
 * @param cassette The session to write.
 * @returns A promise that resolves once the file is in place.
 * @throws {TypeError} When the cassette's format is not 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeCassette } from "@eventstreams/client/testing";
 * const path = await Deno.makeTempFile({ suffix: ".cassette.jsonl" });
 * await writeCassette(path, { format: 1, recordedAt: "2026-09-27T16:17:00.000Z", tool: "example", connections: [] });
 * assert.ok((await Deno.readTextFile(path)).startsWith('{"format":1,'));
 * await Deno.remove(path);
 * ```
 */
export async function writeCassette(
  path: string | URL,
  cassette: Cassette,
): Promise<void> {
  const text = serializeCassette(cassette);
  const target = path instanceof URL ? decodeURIComponent(path.pathname) : path;
  const temporary = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(temporary, text);
    await Deno.rename(temporary, target);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

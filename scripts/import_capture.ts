/**
 * `deno task import-capture <capture.sse> --url URL --out FILE`: turns a raw
 * `curl -N` capture into a cassette (see importCurlCapture for the chunking
 * and what happens to the capturer's header comments).
 *
 * Regenerate the committed fixture with:
 *
 * ```sh
 * deno task import-capture fixtures/page_change_v1.2026-09-27.sse \
 *   --url https://stream.wikimedia.org/v2/stream/mediawiki.page_change.v1 \
 *   --out fixtures/page_change_v1.2026-09-27.cassette.jsonl
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { importCurlCapture } from "../src/testing/import_capture.ts";
import { writeCassette } from "../src/testing/cassette_file.ts";

const USAGE =
  `Usage: deno task import-capture <capture.sse> --url URL --out FILE [options]

Turns a raw \`curl -N\` capture of an EventStreams response into a cassette
(one connection, one chunk per line, time offsets 0).

Options:
  --url URL            the captured URL (required)
  --out FILE           the cassette to write, e.g. fixtures/x.cassette.jsonl (required)
  --recorded-at TIME   when the capture was made (ISO-8601); default: the first
                       time in the capture's header comments
  --header "N: V"      a request header that was sent (repeatable; secrets are dropped)
  --end aborted|eof    how the connection ended (default: aborted, the capturer stopped)
  --help               show this help`;

/** Where the script writes its messages (stderr by default). */
export interface ImportCaptureIo {
  /** Writes one line of progress or error text. */
  stderr?: (line: string) => void;
}

/**
 * Runs the import-capture command.
 *
 * @param args The command line arguments (without the script name).
 * @param io Where messages go.
 * @returns The exit code: 0 on success, 1 when the import fails, 2 on a usage error.
 */
export async function main(
  args: string[],
  io: ImportCaptureIo = {},
): Promise<number> {
  const log = io.stderr ?? ((line: string) => console.error(line));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        out: { type: "string" },
        "recorded-at": { type: "string" },
        header: { type: "string", multiple: true },
        end: { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    log(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    log(USAGE);
    return 0;
  }
  const usage = (problem: string) => {
    log(`${problem}\n\n${USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) {
    return usage(
      `Cannot import: expected one capture file, got ${positionals.length}`,
    );
  }
  if (!values.url) {
    return usage(
      "Cannot import: --url is required (the URL that was captured)",
    );
  }
  if (!values.out) {
    return usage(
      "Cannot import: --out is required (the cassette file to write)",
    );
  }
  const end = values.end ?? "aborted";
  if (end !== "aborted" && end !== "eof") {
    return usage(
      `Cannot import: --end must be "aborted" or "eof", got "${end}"`,
    );
  }
  const requestHeaders = new Headers();
  for (const header of values.header ?? []) {
    const colon = header.indexOf(":");
    if (colon <= 0) {
      return usage(
        `Cannot import: --header must look like "Name: value", got "${header}"`,
      );
    }
    requestHeaders.append(
      header.slice(0, colon).trim(),
      header.slice(colon + 1).trim(),
    );
  }

  const input = positionals[0];
  try {
    const bytes = await Deno.readFile(input);
    const cassette = importCurlCapture(bytes, {
      url: values.url,
      recordedAt: values["recorded-at"],
      requestHeaders,
      end,
      tool: "scripts/import_capture.ts",
    });
    await writeCassette(values.out, cassette);
    const [connection] = cassette.connections;
    const size = connection.chunks.reduce(
      (total, chunk) => total + chunk.bytes.byteLength,
      0,
    );
    log(
      `Wrote ${values.out}: 1 connection, ${connection.chunks.length} chunks, ${size} bytes from ${input}`,
    );
    return 0;
  } catch (error) {
    // The library names its options; this command's user knows the flags.
    const message = (error as Error).message
      .replace("pass recordedAt", "pass --recorded-at")
      .replace("capture: url must", "capture: --url must");
    log(
      message.startsWith("Cannot")
        ? message
        : `Cannot import ${input}: ${message}`,
    );
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

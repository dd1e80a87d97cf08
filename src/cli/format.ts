/**
 * How `eventstreams tail` prints events: NDJSON (one JSON object per line,
 * for pipes and files) or compact human-readable lines.
 *
 * @module
 */

import type { EventStreamsEvent } from "../types.ts";
import type { ArgsEnv, OutputFormat } from "./args.ts";
import { getPath } from "../_path.ts";
import { oneLineJson } from "../raw_event.ts";
import type { CliOutput } from "./io.ts";

/**
 * One event as an NDJSON line (without its newline): see
 * {@linkcode oneLineJson} (the server's text when it is one line).
 *
 * @param event The event.
 * @param text Its JSON text, when known.
 * @returns The line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNdjson } from "./format.ts";
 *
 * const event = { meta: { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" } };
 * assert.equal(formatNdjson(event),
 *   '{"meta":{"topic":"t","partition":0,"offset":1,"dt":"","id":"x","stream":"s"}}');
 * assert.equal(formatNdjson(event, '{"meta": {"topic": "t"}}'), '{"meta": {"topic": "t"}}');
 * // Data sent on several `data:` lines: one line again.
 * assert.equal(formatNdjson(event, '{\n"meta": {}}'), JSON.stringify(event));
 * ```
 */
export function formatNdjson(event: EventStreamsEvent, text?: string): string {
  return oneLineJson(event, text);
}

/** Options for {@linkcode formatPretty}. */
export interface PrettyOptions {
  /**
   * Use ANSI colours.
   *
   * @default false
   */
  color?: boolean;
}

/**
 * Whether to colour output: only on a terminal, and never when the
 * `NO_COLOR` environment variable is set to a non-empty value
 * (https://no-color.org).
 *
 * @param isTerminal Whether the output is a terminal.
 * @param noColor The value of `NO_COLOR`.
 * @param flag An explicit `--color`/`--no-color`, which wins.
 * @returns `true` to colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { useColor } from "./format.ts";
 *
 * assert.equal(useColor(true, undefined), true);
 * assert.equal(useColor(true, "1"), false);
 * assert.equal(useColor(false, undefined), false);
 * ```
 */
export function useColor(
  isTerminal: boolean,
  noColor: string | undefined,
  flag?: boolean,
): boolean {
  if (flag !== undefined) return flag;
  return isTerminal && (noColor === undefined || noColor === "");
}

/** How events are printed on an output, from {@linkcode outputStyle}. */
export interface OutputStyle {
  /** `--format`, else pretty on a terminal and NDJSON otherwise. */
  format: OutputFormat;
  /** Whether to colour (see {@linkcode useColor}). */
  color: boolean;
  /** Whether the output is a terminal. */
  isTerminal: boolean;
}

/**
 * Picks how to print events on an output: the format (`--format`, else
 * pretty on a terminal and NDJSON otherwise) and whether to colour
 * (`--color`/`--no-color`, else only on a terminal without `NO_COLOR`).
 *
 * @param output The output events go to (asked once whether it is a terminal).
 * @param env The environment (for `NO_COLOR`).
 * @param flags The `--format` and `--color`/`--no-color` flags, when given.
 * @returns The format, the colour choice and whether the output is a terminal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outputStyle } from "./format.ts";
 *
 * const pipe = {
 *   write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
 *   writeSync: (bytes: Uint8Array) => bytes.length,
 *   isTerminal: () => false,
 * };
 * const env = { get: () => undefined };
 * assert.deepEqual(outputStyle(pipe, env, {}), { format: "ndjson", color: false, isTerminal: false });
 * assert.equal(outputStyle(pipe, env, { format: "pretty" }).format, "pretty");
 * ```
 */
export function outputStyle(
  output: CliOutput,
  env: ArgsEnv,
  flags: { format?: OutputFormat; color?: boolean },
): OutputStyle {
  const isTerminal = output.isTerminal();
  return {
    format: flags.format ?? (isTerminal ? "pretty" : "ndjson"),
    color: useColor(isTerminal, env.get("NO_COLOR"), flags.color),
    isTerminal,
  };
}

const RESET = "\x1b[0m";

/**
 * Wraps `text` in an ANSI SGR colour code when `color` is on.
 *
 * @param code The SGR parameters, e.g. `"32"` (green) or `"1;31"` (bold red).
 * @param text The text.
 * @param color Whether to colour (see {@linkcode useColor}).
 * @returns The text, coloured or as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paint } from "./format.ts";
 *
 * assert.equal(paint("32", "ok", true), "\x1b[32mok\x1b[0m");
 * assert.equal(paint("32", "ok", false), "ok");
 * ```
 */
export function paint(code: string, text: string, color: boolean): string {
  return color ? `\x1b[${code}m${text}${RESET}` : text;
}

/** Control characters (including ESC) never reach the terminal from event data. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const clean = (text: string): string => text.replace(CONTROL, "?");

const firstString = (
  event: EventStreamsEvent,
  paths: readonly string[],
): string | undefined => {
  for (const path of paths) {
    const value = getPath(event, path);
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
};
const num = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

/**
 * The size change of an edit in bytes, when the stream says: recentchange
 * `length.new - length.old`, page_change `revision.rev_size -
 * prior_state.revision.rev_size` (a page without a previous revision counts
 * from 0).
 *
 * @param event The event.
 * @returns The change in bytes, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { byteDelta } from "./format.ts";
 *
 * const meta = { topic: "t", partition: 0, offset: 1, dt: "", id: "x", stream: "s" };
 * assert.equal(byteDelta({ meta, length: { old: 100, new: 80 } }), -20);
 * assert.equal(byteDelta({ meta, revision: { rev_size: 7458 }, prior_state: { revision: { rev_size: 6723 } } }), 735);
 * ```
 */
export function byteDelta(event: EventStreamsEvent): number | undefined {
  const newLength = num(getPath(event, "length.new"));
  if (newLength !== undefined) {
    return newLength - (num(getPath(event, "length.old")) ?? 0);
  }
  const size = num(getPath(event, "revision.rev_size"));
  if (size !== undefined) {
    return size - (num(getPath(event, "prior_state.revision.rev_size")) ?? 0);
  }
  return undefined;
}

function kindColor(kind: string): string {
  switch (kind) {
    case "new":
    case "create":
    case "page-create":
    case "undelete":
    case "page-undelete":
      return "32"; // green
    case "delete":
    case "page-delete":
    case "visibility_change":
      return "31"; // red
    case "log":
    case "move":
    case "page-move":
      return "33"; // yellow
    default:
      return "34"; // blue
  }
}

/**
 * One event as a compact line: UTC time, wiki, change kind, title, user,
 * and the size change (`+735`), with a `[bot]` mark for bot changes.
 * Fields a stream does not have are left out; control characters in event
 * data are replaced by `?` so events cannot drive the terminal.
 *
 * @param event The event.
 * @param options See {@linkcode PrettyOptions}.
 * @returns The line, without its newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPretty } from "./format.ts";
 *
 * const event = {
 *   meta: { topic: "eqiad.mediawiki.recentchange", partition: 0, offset: 1, dt: "2026-09-27T16:17:12Z", id: "x", stream: "mediawiki.recentchange" },
 *   wiki: "enwiki", type: "edit", title: "Earth", user: "Example", bot: false, length: { old: 100, new: 112 },
 * };
 * assert.equal(formatPretty(event), "16:17:12 enwiki edit Earth (Example) +12");
 * ```
 */
export function formatPretty(
  event: EventStreamsEvent,
  options: PrettyOptions = {},
): string {
  const color = options.color ?? false;
  const parts: string[] = [];
  const dt = typeof event.meta?.dt === "string" ? event.meta.dt : "";
  const time = /T(\d{2}:\d{2}:\d{2})/.exec(dt)?.[1] ?? dt.slice(0, 19);
  if (time) parts.push(paint("2", time, color));
  const wiki = firstString(event, [
    "wiki",
    "database",
    "wiki_id",
    "meta.domain",
  ]);
  if (wiki) parts.push(paint("36", clean(wiki), color));
  const stream = typeof event.meta?.stream === "string"
    ? event.meta.stream.replace(/^mediawiki\./, "")
    : undefined;
  const kind = firstString(event, ["type", "page_change_kind"]) ?? stream;
  if (kind) parts.push(paint(kindColor(kind), clean(kind), color));
  const title = firstString(event, ["title", "page_title", "page.page_title"]);
  if (title) parts.push(paint("1", clean(title), color));
  const user = firstString(event, ["user", "performer.user_text"]);
  if (user) parts.push(paint("35", `(${clean(user)})`, color));
  const delta = byteDelta(event);
  if (delta !== undefined) {
    parts.push(
      paint(
        delta > 0 ? "32" : delta < 0 ? "31" : "2",
        delta > 0 ? `+${delta}` : `${delta}`,
        color,
      ),
    );
  }
  const bot = ["bot", "performer.is_bot", "performer.user_is_bot"].some((
    path,
  ) => getPath(event, path) === true);
  if (bot) parts.push(paint("2", "[bot]", color));
  return parts.join(" ");
}

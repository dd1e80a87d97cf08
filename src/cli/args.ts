/**
 * Command-line parsing for `eventstreams` subcommands (`node:util`
 * `parseArgs`), turning flags into checked options. Every mistake is a
 * {@linkcode UsageError} (exit code 2) whose message names the value and
 * says what to do.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { Cursor } from "../cursor.ts";
import { resolveStreamName } from "../streams.ts";
import { formatDuration, parseDuration, parseSince } from "./duration.ts";
import {
  checkFilterValue,
  type MatchCondition,
  parseMatch,
} from "./filters.ts";
import { type CliIo, writeText } from "./io.ts";

/**
 * The command line is wrong: unknown flag, bad value, missing argument.
 * The CLI prints the message and exits with code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./args.ts";
 *
 * assert.equal(new UsageError("Invalid --max '0'").name, "UsageError");
 * ```
 */
export class UsageError extends Error {
  /**
   * Creates a UsageError.
   *
   * @param message What is wrong and what to do.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** Output formats of `eventstreams tail`. */
export type OutputFormat = "ndjson" | "pretty";

/** `eventstreams tail` options after parsing and checking. */
export interface TailArgs {
  /** Stream names or aliases as given (comma lists split). */
  streams: string[];
  /** Start time (from `--since`). */
  since?: Date;
  /** Start cursor (from `--cursor`), checked to be a KafkaSSE id. */
  cursor?: string;
  /** Checkpoint file (from `--checkpoint`). */
  checkpoint?: string;
  /** Also save the checkpoint after this many events (`--checkpoint-every`). */
  checkpointEvery?: number;
  /** Save at most this often, in ms (`--checkpoint-interval`, default 1 s). */
  checkpointIntervalMs: number;
  /** Stop after this many events. */
  max?: number;
  /** Reconnect when nothing arrives for this long. */
  idleTimeoutMs?: number;
  /** The User-Agent (flag, else `EVENTSTREAMS_USER_AGENT`). */
  userAgent: string;
  /** Server base URL. */
  baseUrl?: string;
  /** Wiki database names to keep. */
  wiki: string[];
  /** Domains to keep. */
  domain: string[];
  /** Change kinds to keep. */
  type: string[];
  /** Namespace ids to keep. */
  namespace: number[];
  /** Bot selection. */
  bot?: boolean;
  /** `--match` conditions. */
  match: MatchCondition[];
  /** Keep canary events. */
  canary: boolean;
  /** Output format; `undefined` picks by whether stdout is a terminal. */
  format?: OutputFormat;
  /** Status line: `true` forces it, `false` hides it, `undefined` shows it on a terminal. */
  status?: boolean;
  /** Colour: `false` disables it; `undefined` follows the terminal and NO_COLOR. */
  color?: boolean;
  /** Accept stream names this client does not know. */
  allowUnknownStreams: boolean;
}

/** `eventstreams serve` options. */
export interface ServeArgs {
  /** TCP port (0 picks a free one). */
  port: number;
  /** Interface to listen on. */
  hostname: string;
  /** Fixtures directory to serve instead of the repository's. */
  fixtures?: string;
  /** Live events produced per second into each stream (0: none). */
  rate: number;
}

/** `eventstreams record` options after parsing and checking. */
export interface RecordArgs {
  /**
   * Canonical stream names (aliases resolved, duplicates dropped), from the
   * positional arguments and `--stream`; names this client does not know
   * only with `--allow-unknown-streams`, as given.
   */
  streams: string[];
  /** The cassette to write (`--out`). */
  out: string;
  /**
   * Stop after this many events (`--events`, alias `--max`). 100 when
   * neither it nor `--duration` is given; `undefined` when only
   * `--duration` limits the recording.
   */
  events?: number;
  /** Stop after this many milliseconds (`--duration`). */
  durationMs?: number;
  /** Start time (`--since`); live when absent. */
  since?: Date;
  /** The User-Agent (flag, else `EVENTSTREAMS_USER_AGENT`). */
  userAgent: string;
  /** Server base URL (`--base-url`); the client's default when absent. */
  baseUrl?: string;
  /** Provenance for the cassette header (`--note`). */
  note?: string;
  /** Accept stream names this client does not know (`--allow-unknown-streams`). */
  allowUnknownStreams: boolean;
}

/**
 * Whether an error the library throws while a command sets up is the
 * caller's fault (an unknown stream name, a generic user agent): the library
 * reports those as `TypeError` or `RangeError`.
 */
function isUsageProblem(error: unknown): error is TypeError | RangeError {
  return error instanceof TypeError || error instanceof RangeError;
}

/** Library option names in messages, and the CLI flags that set them. */
const FLAG_OF_OPTION: [RegExp, string][] = [
  [/\b(?:options\.)?userAgent\b/g, "--user-agent"],
  [/\b(?:options\.)?baseUrl\b/g, "--base-url"],
  [/\b(?:options\.)?idleTimeoutMs\b/g, "--idle-timeout"],
  [/\bCannot use since\b/g, "Cannot use --since"],
];

/**
 * Turns a problem the library reports while a command sets up (a
 * `TypeError` or `RangeError`, e.g. a user agent without a contact) into a
 * {@linkcode UsageError} with the library's message, its option names
 * replaced by the CLI's flags (`userAgent` by `--user-agent`, `baseUrl` by
 * `--base-url`), so the command exits with code 2; any other error is
 * returned as it is.
 *
 * @param error What the library threw.
 * @returns The error to rethrow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toUsageError, UsageError } from "./args.ts";
 *
 * const usage = toUsageError(new TypeError("Cannot use userAgent 'x': it lacks a /version"));
 * assert.ok(usage instanceof UsageError);
 * assert.equal(usage.message, "Cannot use --user-agent 'x': it lacks a /version");
 * const other = new Error("Connection refused");
 * assert.equal(toUsageError(other), other);
 * ```
 */
export function toUsageError(error: unknown): unknown {
  if (!isUsageProblem(error)) return error;
  let message = error.message;
  for (const [option, flag] of FLAG_OF_OPTION) {
    message = message.replace(option, flag);
  }
  return new UsageError(message, { cause: error });
}

/** Environment lookups the parser needs. */
export interface ArgsEnv {
  /** Returns an environment variable, or `undefined`. */
  get(name: string): string | undefined;
}

/** A parsed subcommand line: either a request for help or the options. */
export type Parsed<T> = { help: true } | { help: false; options: T };

/** A subcommand's command line, for {@linkcode parseCommand}. */
export interface CommandLine<T> {
  /** The subcommand's parser ({@linkcode parseTailArgs}, {@linkcode parseRecordArgs}, ...). */
  parse: (args: string[], env: ArgsEnv, nowMs: number) => Parsed<T>;
  /** The subcommand's `--help` text. */
  help: string;
}

/**
 * Parses a subcommand's arguments and handles `--help`: writes the help to
 * stdout when the command line asks for it, else hands back the checked
 * options.
 *
 * @param args The arguments after the subcommand's name.
 * @param io The process's I/O (environment and clock for the parser, stdout
 *   for the help).
 * @param command The subcommand's parser and help text.
 * @returns The options, or `undefined` after writing the help (exit code 0).
 * @throws {UsageError} For any mistake in `args`, from the parser.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand, parseServeArgs } from "./args.ts";
 * import { denoIo } from "./io.ts";
 *
 * const serve = { parse: parseServeArgs, help: "Run the emulator.\n" };
 * assert.equal((await parseCommand(["-p", "0"], denoIo(), serve))?.port, 0);
 * ```
 */
export async function parseCommand<T>(
  args: string[],
  io: CliIo,
  command: CommandLine<T>,
): Promise<T | undefined> {
  const parsed = command.parse(args, io.env, io.clock.now());
  if (parsed.help) {
    await writeText(io.stdout, command.help);
    return undefined;
  }
  return parsed.options;
}

/**
 * The help lines of `--user-agent` and `--base-url` (see
 * {@linkcode parseTailArgs}), for the subcommands that connect to a server.
 */
export const CONNECTION_OPTIONS_HELP =
  `  --user-agent <ua>         Required by Wikimedia: name your tool and a contact, like
                            'my-tool/1.0 (https://example.org; me@example.org)'.
                            Default: the EVENTSTREAMS_USER_AGENT environment variable
  --base-url <url>          Server (default https://stream.wikimedia.org), e.g. a local
                            'eventstreams serve' at http://127.0.0.1:8092`;

type Spec = NonNullable<ParseArgsConfig["options"]>;
/** What {@linkcode parseFlags} returns for the options `S`. */
type ParsedFlags<S extends Spec> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: S;
    allowPositionals: true;
    allowNegative: true;
    strict: true;
  }>
>;

const TAIL_SPEC = {
  help: { type: "boolean", short: "h" },
  since: { type: "string" },
  cursor: { type: "string" },
  checkpoint: { type: "string" },
  "checkpoint-every": { type: "string" },
  "checkpoint-interval": { type: "string" },
  max: { type: "string" },
  "idle-timeout": { type: "string" },
  "user-agent": { type: "string" },
  "base-url": { type: "string" },
  wiki: { type: "string", multiple: true },
  domain: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
  namespace: { type: "string", multiple: true },
  bot: { type: "boolean" },
  match: { type: "string", multiple: true },
  canary: { type: "boolean" },
  format: { type: "string" },
  status: { type: "boolean" },
  color: { type: "boolean" },
  "allow-unknown-streams": { type: "boolean" },
} as const satisfies Spec;

const SERVE_SPEC = {
  help: { type: "boolean", short: "h" },
  port: { type: "string", short: "p" },
  hostname: { type: "string" },
  fixtures: { type: "string" },
  rate: { type: "string" },
} as const satisfies Spec;

const RECORD_SPEC = {
  help: { type: "boolean", short: "h" },
  stream: { type: "string", multiple: true },
  out: { type: "string", short: "o" },
  events: { type: "string" },
  max: { type: "string" },
  duration: { type: "string" },
  since: { type: "string" },
  "user-agent": { type: "string" },
  "base-url": { type: "string" },
  note: { type: "string" },
  "allow-unknown-streams": { type: "boolean" },
} as const satisfies Spec;

/** How often `eventstreams tail --checkpoint` saves at most, by default (`--checkpoint-interval`). */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1_000;

/** How many events `eventstreams record` records when neither `--events` nor `--duration` is given. */
export const DEFAULT_RECORD_EVENTS = 100;

/** The default port of `eventstreams serve`. */
export const DEFAULT_SERVE_PORT = 8092;

/** Live events per second and stream that `eventstreams serve` produces by default. */
export const DEFAULT_SERVE_RATE = 2;

/**
 * Runs `node:util` `parseArgs` (strict, positionals and `--no-` negation
 * allowed) and rewrites its errors as {@linkcode UsageError}s that name the
 * option and point to the subcommand's `--help`.
 *
 * @param command The subcommand, for the messages (`tail`, `demo`, ...).
 * @param spec The options, as `parseArgs` takes them.
 * @param args The arguments after the subcommand's name.
 * @returns What `parseArgs` returns.
 * @throws {UsageError} For an unknown option or a missing or extra value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFlags } from "./args.ts";
 *
 * const spec = { quiet: { type: "boolean" } } as const;
 * assert.equal(parseFlags("demo", spec, ["--quiet"]).values.quiet, true);
 * assert.throws(() => parseFlags("demo", spec, ["--loud"]), {
 *   name: "UsageError",
 *   message: "Unknown option '--loud' for 'eventstreams demo'; run 'eventstreams demo --help' to see the options",
 * });
 * ```
 */
export function parseFlags<S extends Spec>(
  command: string,
  spec: S,
  args: string[],
): ParsedFlags<S> {
  try {
    return parseArgs({
      args: joinNegativeValues(spec, args),
      options: spec,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
  } catch (error) {
    const node = error as Error & { code?: string };
    const option = /'(-[^' ]+)/.exec(node.message)?.[1] ?? "";
    const help = `run 'eventstreams ${command} --help' to see the options`;
    switch (node.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        throw new UsageError(
          `Unknown option '${option}' for 'eventstreams ${command}'; ${help}`,
          { cause: error },
        );
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        if (/does not take an argument/.test(node.message)) {
          throw new UsageError(`Option '${option}' takes no value; ${help}`, {
            cause: error,
          });
        }
        throw new UsageError(
          `Option '${option}' needs a value (write ${option}=VALUE when the value starts with '-'); ${help}`,
          { cause: error },
        );
      default:
        throw new UsageError(`${node.message.replace(/\.$/, "")}; ${help}`, {
          cause: error,
        });
    }
  }
}

/**
 * `--max -1` as `--max=-1`: `parseArgs` takes a value that starts with `-`
 * for an option and says the flag "needs a value"; a negative number (or
 * duration) after a flag that takes a value is that flag's value, and its
 * own check then says what is wrong with it.
 */
function joinNegativeValues(spec: Spec, args: string[]): string[] {
  /** The long name of a flag that takes a value (`--max`, `-p`), else `undefined`. */
  const valueFlag = (arg: string): string | undefined => {
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    if (long !== undefined) {
      return spec[long]?.type === "string" ? long : undefined;
    }
    const short = /^-([^-=])$/.exec(arg)?.[1];
    return Object.entries(spec).find(([, o]) =>
      short !== undefined && o.short === short && o.type === "string"
    )?.[0];
  };
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") {
      joined.push(...args.slice(i));
      break;
    }
    const flag = valueFlag(args[i]);
    if (flag !== undefined && /^-\d/.test(args[i + 1] ?? "")) {
      joined.push(`--${flag}=${args[i + 1]}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  return joined;
}

function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((value) => value.split(",")).map((v) =>
    v.trim()
  ).filter((v) => v !== "");
}

/** The values of `--wiki`, `--domain` or `--type`, each checked to be one that can match. */
function filterValues(
  flag: "wiki" | "domain" | "type",
  given: readonly string[] | undefined,
): string[] {
  const values = splitList(given);
  for (const value of values) {
    try {
      checkFilterValue(flag, value);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  }
  return values;
}

function positiveInteger(flag: string, text: string, example: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(
      `Invalid ${flag} '${text}': expected a positive whole number, like ${flag} ${example}`,
    );
  }
  return n;
}

/** `--user-agent`, else `EVENTSTREAMS_USER_AGENT`, trimmed; required. */
function userAgentOption(flag: string | undefined, env: ArgsEnv): string {
  const userAgent = flag ?? env.get("EVENTSTREAMS_USER_AGENT");
  if (userAgent === undefined || userAgent.trim() === "") {
    throw new UsageError(
      "Missing user agent: Wikimedia requires one naming your tool and how to reach you; " +
        "pass --user-agent 'my-tool/1.0 (https://example.org/my-tool; me@example.org)' or set EVENTSTREAMS_USER_AGENT",
    );
  }
  return userAgent.trim();
}

/** A `--base-url` value: an http(s) URL, without trailing slashes. */
function httpBaseUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new UsageError(
      `Invalid --base-url '${text}': expected an http(s) URL like https://stream.wikimedia.org or http://127.0.0.1:8092`,
    );
  }
  return text.replace(/\/+$/, "");
}

/** Below this, a `--since` number is surely seconds, not milliseconds (1e11 ms is March 1973). */
const SECONDS_LIMIT = 1e11;

/**
 * A `--since` value: what {@linkcode parseSince} reads (an ISO 8601
 * date-time, UTC unless it has an offset, or a duration before now), or
 * epoch milliseconds, as the library's `since` takes them.
 */
function sinceOption(text: string, nowMs: number): Date {
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (ms < SECONDS_LIMIT) {
      throw new UsageError(
        `Invalid --since '${text}': it looks like seconds since the epoch, but --since takes epoch milliseconds; pass ${text}000`,
      );
    }
    return new Date(ms);
  }
  if (text.startsWith("-")) {
    let ms: number | undefined;
    try {
      ms = parseDuration(text.slice(1));
    } catch {
      ms = undefined;
    }
    if (ms !== undefined) {
      throw new UsageError(
        `Invalid --since '${text}': a duration already means that long before now, so it takes no minus; write --since ${
          text.slice(1)
        }`,
      );
    }
  }
  try {
    return parseSince(text, nowMs);
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}, or epoch milliseconds`,
      { cause: error },
    );
  }
}

/**
 * How much history EventStreams keeps: about 7 days (Kafka's retention);
 * a `since` further back starts at the oldest event still there.
 */
export const RETENTION_MS = 7 * 86_400_000;

/**
 * The warning for a `--since` further back than Wikimedia's history
 * ({@linkcode RETENTION_MS}), or `undefined` when it is within it or the
 * server is another one (`--base-url`: an emulator or a mirror keeps what it
 * keeps).
 *
 * @param since The start time.
 * @param nowMs The current time.
 * @param baseUrl The server (`--base-url`); `undefined` for Wikimedia's.
 * @returns The warning, without the command's name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sinceWarning } from "./args.ts";
 *
 * const now = Date.parse("2026-12-02T12:00:00Z");
 * const eightDays = new Date(now - 8 * 86_400_000);
 * assert.equal(sinceWarning(new Date(now - 86_400_000), now), undefined);
 * assert.match(sinceWarning(eightDays, now)!, /^Warning: --since 2026-11-24T12:00:00\.000Z is 8d0h ago/);
 * assert.equal(sinceWarning(eightDays, now, "http://127.0.0.1:8092"), undefined);
 * ```
 */
export function sinceWarning(
  since: Date,
  nowMs: number,
  baseUrl?: string,
): string | undefined {
  if (
    baseUrl !== undefined &&
    new URL(baseUrl).hostname !== new URL(DEFAULT_BASE_URL).hostname
  ) return undefined;
  const age = nowMs - since.getTime();
  if (age <= RETENTION_MS) return undefined;
  return `Warning: --since ${since.toISOString()} is ${
    formatDuration(age)
  } ago, beyond the server's history (about 7 days): the stream starts at the oldest event it still has, later than asked`;
}

/** Wikimedia's EventStreams, where `--base-url` points by default. */
const DEFAULT_BASE_URL = "https://stream.wikimedia.org";

function duration(flag: string, text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text, flag);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (ms <= 0) {
    throw new UsageError(
      `Invalid ${flag} '${text}': expected a duration above zero, like 30s or 15m`,
    );
  }
  return ms;
}

/**
 * Parses `eventstreams tail` arguments.
 *
 * @param args The arguments after `tail`.
 * @param env Environment (for `EVENTSTREAMS_USER_AGENT`).
 * @param nowMs The current time, for relative `--since` values.
 * @returns Help request, or the checked options.
 * @throws {UsageError} For any mistake, naming the flag and value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTailArgs } from "./args.ts";
 *
 * const env = { get: () => undefined };
 * const parsed = parseTailArgs(
 *   ["recentchange", "--wiki", "enwiki", "--max", "10", "--user-agent", "bot/1.0 (me@example.org)"],
 *   env,
 *   Date.now(),
 * );
 * assert.ok(!parsed.help && parsed.options.max === 10);
 * ```
 */
export function parseTailArgs(
  args: string[],
  env: ArgsEnv,
  nowMs: number,
): Parsed<TailArgs> {
  const { values, positionals } = parseFlags("tail", TAIL_SPEC, args);
  if (values.help) return { help: true };

  const streams = splitList(positionals);
  if (streams.length === 0) {
    throw new UsageError(
      "Missing stream name: say which streams to follow, like 'eventstreams tail recentchange' or 'eventstreams tail page-create,page-delete'",
    );
  }

  if (values.since !== undefined && values.cursor !== undefined) {
    throw new UsageError(
      "Use either --since or --cursor, not both: a cursor already says where each partition resumes",
    );
  }
  const since = values.since === undefined
    ? undefined
    : sinceOption(values.since, nowMs);
  let cursor: string | undefined;
  if (values.cursor !== undefined) {
    try {
      cursor = Cursor.parse(values.cursor).toString();
    } catch (error) {
      throw new UsageError(
        `Invalid --cursor: ${
          (error as Error).message
        }; pass a saved stream.cursor or a checkpoint file's content`,
        { cause: error },
      );
    }
  }
  if (values.checkpoint === "") {
    throw new UsageError("Invalid --checkpoint '': expected a file path");
  }
  if (values.checkpoint === undefined) {
    for (const flag of ["checkpoint-every", "checkpoint-interval"] as const) {
      if (values[flag] !== undefined) {
        throw new UsageError(`Option '--${flag}' needs --checkpoint FILE`);
      }
    }
  }

  const userAgent = userAgentOption(values["user-agent"], env);

  const baseUrl = values["base-url"] === undefined
    ? undefined
    : httpBaseUrl(values["base-url"]);

  const namespace = splitList(values.namespace).map((text) => {
    if (!/^-?\d+$/.test(text)) {
      throw new UsageError(
        `Invalid --namespace '${text}': expected an integer namespace id, like 0 (articles), 14 (categories) or --namespace=-1`,
      );
    }
    return Number(text);
  });
  const match = (values.match ?? []).map((text) => {
    try {
      return parseMatch(text);
    } catch (error) {
      throw new UsageError((error as Error).message, { cause: error });
    }
  });

  let format: OutputFormat | undefined;
  if (values.format !== undefined) {
    if (values.format !== "ndjson" && values.format !== "pretty") {
      throw new UsageError(
        `Invalid --format '${values.format}': expected ndjson or pretty`,
      );
    }
    format = values.format;
  }

  return {
    help: false,
    options: {
      streams,
      since,
      cursor,
      checkpoint: values.checkpoint,
      checkpointEvery: values["checkpoint-every"] === undefined
        ? undefined
        : positiveInteger(
          "--checkpoint-every",
          values["checkpoint-every"],
          "100",
        ),
      checkpointIntervalMs: values["checkpoint-interval"] === undefined
        ? DEFAULT_CHECKPOINT_INTERVAL_MS
        : duration("--checkpoint-interval", values["checkpoint-interval"]),
      max: values.max === undefined
        ? undefined
        : positiveInteger("--max", values.max, "100"),
      idleTimeoutMs: values["idle-timeout"] === undefined
        ? undefined
        : duration("--idle-timeout", values["idle-timeout"]),
      userAgent,
      baseUrl,
      wiki: filterValues("wiki", values.wiki),
      domain: filterValues("domain", values.domain),
      type: filterValues("type", values.type),
      namespace,
      bot: values.bot,
      match,
      canary: values.canary ?? false,
      format,
      status: values.status,
      color: values.color,
      allowUnknownStreams: values["allow-unknown-streams"] ?? false,
    },
  };
}

/**
 * Parses `eventstreams record` arguments. Streams come from the positional
 * arguments and from `--stream` (repeatable), both as names, aliases or
 * comma lists; they are resolved to canonical names here, so an unknown
 * name is a usage error unless `--allow-unknown-streams` is given.
 *
 * @param args The arguments after `record`.
 * @param env Environment (for `EVENTSTREAMS_USER_AGENT`).
 * @param nowMs The current time, for relative `--since` values.
 * @returns Help request, or the checked options.
 * @throws {UsageError} For any mistake, naming the flag and value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRecordArgs } from "./args.ts";
 *
 * const env = { get: () => "bot/1.0 (me@example.org)" };
 * const parsed = parseRecordArgs(
 *   ["recentchange", "--stream", "page-create,test", "--max", "20", "--out", "x.cassette.jsonl"],
 *   env,
 *   Date.now(),
 * );
 * assert.ok(!parsed.help);
 * assert.deepEqual(parsed.options.streams, [
 *   "mediawiki.recentchange",
 *   "mediawiki.page-create",
 *   "eventgate-main.test.event",
 * ]);
 * assert.equal(parsed.options.events, 20);
 * ```
 */
export function parseRecordArgs(
  args: string[],
  env: ArgsEnv,
  nowMs: number,
): Parsed<RecordArgs> {
  const { values, positionals } = parseFlags("record", RECORD_SPEC, args);
  if (values.help) return { help: true };

  const allowUnknownStreams = values["allow-unknown-streams"] ?? false;
  const given = [...splitList(positionals), ...splitList(values.stream)];
  if (given.length === 0) {
    throw new UsageError(
      "Missing stream name: say what to record, like 'eventstreams record recentchange --out rc.cassette.jsonl' " +
        "or --stream recentchange (several: page-create,page-delete)",
    );
  }
  const streams = [
    ...new Set(
      given.map((name) => resolveStreamArg(name, allowUnknownStreams)),
    ),
  ];

  if (values.out === undefined || values.out.trim() === "") {
    throw new UsageError(
      `${
        values.out === undefined ? "Missing --out <file>" : "Invalid --out ''"
      }: say where to write the cassette, like --out fixtures/recentchange.cassette.jsonl`,
    );
  }

  if (values.events !== undefined && values.max !== undefined) {
    throw new UsageError(
      `Use --events or its alias --max, not both (got --events '${values.events}' and --max '${values.max}')`,
    );
  }
  const eventsFlag = values.events !== undefined ? "--events" : "--max";
  const eventsText = values.events ?? values.max;
  const durationMs = values.duration === undefined
    ? undefined
    : duration("--duration", values.duration);
  const events = eventsText !== undefined
    ? positiveInteger(eventsFlag, eventsText, "100")
    : durationMs === undefined
    ? DEFAULT_RECORD_EVENTS
    : undefined;

  const since = values.since === undefined
    ? undefined
    : sinceOption(values.since, nowMs);

  return {
    help: false,
    options: {
      streams,
      out: values.out,
      events,
      durationMs,
      since,
      userAgent: userAgentOption(values["user-agent"], env),
      baseUrl: values["base-url"] === undefined
        ? undefined
        : httpBaseUrl(values["base-url"]),
      note: values.note,
      allowUnknownStreams,
    },
  };
}

/**
 * Resolves a stream name or alias from the command line to its canonical
 * name (as given, for an unknown name with `--allow-unknown-streams`).
 *
 * @param name The name or alias as given.
 * @param allowUnknown Whether `--allow-unknown-streams` was given.
 * @returns The canonical name.
 * @throws {UsageError} For an unknown name without `allowUnknown`: the
 *   library's message, pointing to `--allow-unknown-streams`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveStreamArg } from "./args.ts";
 *
 * assert.equal(resolveStreamArg("recentchange", false), "mediawiki.recentchange");
 * assert.equal(resolveStreamArg("my.stream", true), "my.stream");
 * ```
 */
export function resolveStreamArg(name: string, allowUnknown: boolean): string {
  try {
    return resolveStreamName(name, { allowUnknown });
  } catch (error) {
    if (!isUsageProblem(error)) throw error;
    // The library's hint names its option; name the CLI's flag instead.
    const message = error.message.replace(
      /; pass allowUnknownStreams: true.*$/,
      "",
    );
    throw new UsageError(
      `${message}; pass --allow-unknown-streams to use a stream this client does not know`,
      { cause: error },
    );
  }
}

/**
 * Parses `eventstreams serve` arguments.
 *
 * @param args The arguments after `serve`.
 * @returns Help request, or the checked options.
 * @throws {UsageError} For any mistake.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseServeArgs } from "./args.ts";
 *
 * const parsed = parseServeArgs(["--port", "0"]);
 * assert.ok(!parsed.help && parsed.options.port === 0 && parsed.options.hostname === "127.0.0.1");
 * assert.ok(!parsed.help && parsed.options.rate === 2);
 * ```
 */
export function parseServeArgs(args: string[]): Parsed<ServeArgs> {
  const { values, positionals } = parseFlags("serve", SERVE_SPEC, args);
  if (values.help) return { help: true };
  if (positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument '${
        positionals[0]
      }' for 'eventstreams serve'; run 'eventstreams serve --help' to see the options`,
    );
  }
  let port = DEFAULT_SERVE_PORT;
  if (values.port !== undefined) {
    port = /^\d+$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65_535)) {
      throw new UsageError(
        `Invalid --port '${values.port}': expected a TCP port from 0 to 65535 (0 picks a free one)`,
      );
    }
  }
  const hostname = values.hostname ?? "127.0.0.1";
  if (hostname.trim() === "") {
    throw new UsageError(
      "Invalid --hostname '': expected an interface such as 127.0.0.1",
    );
  }
  if (values.fixtures === "") {
    throw new UsageError("Invalid --fixtures '': expected a directory");
  }
  let rate = DEFAULT_SERVE_RATE;
  if (values.rate !== undefined) {
    rate = /^\d+(?:\.\d+)?$/.test(values.rate) ? Number(values.rate) : NaN;
    if (!Number.isFinite(rate)) {
      throw new UsageError(
        `Invalid --rate '${values.rate}': expected events per second and stream, like --rate 10 (0 for none)`,
      );
    }
  }
  return {
    help: false,
    options: { port, hostname, fixtures: values.fixtures, rate },
  };
}

/** `eventstreams relay` options after parsing and checking. */
export interface RelayArgs {
  /** Canonical stream names (aliases resolved, duplicates dropped). */
  streams: string[];
  /** TCP port for subscribers (0 picks a free one). */
  port: number;
  /** Interface to listen on. */
  hostname: string;
  /** The durable log's directory. */
  data: string;
  /** Log retention in milliseconds. */
  retainMs: number;
  /** Where the first run starts (later runs resume where the log ends). */
  since?: Date;
  /** The upstream server. */
  baseUrl?: string;
  /** The User-Agent sent upstream. */
  userAgent: string;
  /** Concurrent subscriber streams per client IP (0: no limit). */
  maxConnectionsPerIp: number;
  /** Events a live subscriber may fall behind before it is cut. */
  maxSubscriberLag: number;
}

const RELAY_SPEC = {
  help: { type: "boolean", short: "h" },
  port: { type: "string", short: "p" },
  hostname: { type: "string" },
  data: { type: "string" },
  retain: { type: "string" },
  since: { type: "string" },
  "base-url": { type: "string" },
  "user-agent": { type: "string" },
  "max-connections-per-ip": { type: "string" },
  "max-subscriber-lag": { type: "string" },
} as const satisfies Spec;

/** How long the relay keeps its log unless told (`--retain`). */
export const DEFAULT_RELAY_RETAIN_MS = 86_400_000;

/**
 * Parses `eventstreams relay` arguments.
 *
 * @param args The arguments after `relay`.
 * @param env The environment (`EVENTSTREAMS_USER_AGENT`).
 * @param nowMs The current time, for relative `--since` values.
 * @returns Help request, or the checked options.
 * @throws {UsageError} For any mistake, naming the flag and value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRelayArgs } from "./args.ts";
 *
 * const env = { get: () => undefined };
 * const parsed = parseRelayArgs(["recentchange", "--port", "0", "--data", "/tmp/relay", "--user-agent", "t/1.0 (t@example.org)"], env, 0);
 * assert.ok(!parsed.help && parsed.options.streams[0] === "mediawiki.recentchange");
 * assert.ok(!parsed.help && parsed.options.retainMs === 86_400_000);
 * ```
 */
export function parseRelayArgs(
  args: string[],
  env: ArgsEnv,
  nowMs: number,
): Parsed<RelayArgs> {
  const { values, positionals } = parseFlags("relay", RELAY_SPEC, args);
  if (values.help) return { help: true };
  const streams = [
    ...new Set(splitList(positionals).map((s) => resolveStreamArg(s, false))),
  ];
  if (streams.length === 0) {
    throw new UsageError(
      "Missing stream name: say which streams to relay, like 'eventstreams relay recentchange --port 8093 --data ./relay-data'",
    );
  }
  if (values.port === undefined) {
    throw new UsageError(
      "Missing --port: say where subscribers connect, like --port 8093 (0 picks a free one)",
    );
  }
  const port = /^\d+$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65_535)) {
    throw new UsageError(
      `Invalid --port '${values.port}': expected a TCP port from 0 to 65535 (0 picks a free one)`,
    );
  }
  if (values.data === undefined || values.data === "") {
    throw new UsageError(
      `${
        values.data === undefined ? "Missing --data" : "Invalid --data ''"
      }: give the directory of the relay's durable log, like --data ./relay-data`,
    );
  }
  const hostname = values.hostname ?? "127.0.0.1";
  if (hostname.trim() === "") {
    throw new UsageError(
      "Invalid --hostname '': expected an interface such as 127.0.0.1",
    );
  }
  const maxConnectionsPerIp = values["max-connections-per-ip"] === undefined
    ? 0
    : /^\d+$/.test(values["max-connections-per-ip"])
    ? Number(values["max-connections-per-ip"])
    : NaN;
  if (Number.isNaN(maxConnectionsPerIp)) {
    throw new UsageError(
      `Invalid --max-connections-per-ip '${
        values["max-connections-per-ip"]
      }': expected a whole number, like 10 (0: no limit)`,
    );
  }
  return {
    help: false,
    options: {
      streams,
      port,
      hostname,
      data: values.data,
      retainMs: values.retain === undefined
        ? DEFAULT_RELAY_RETAIN_MS
        : duration("--retain", values.retain),
      since: values.since === undefined
        ? undefined
        : sinceOption(values.since, nowMs),
      baseUrl: values["base-url"] === undefined
        ? undefined
        : httpBaseUrl(values["base-url"]),
      userAgent: userAgentOption(values["user-agent"], env),
      maxConnectionsPerIp,
      maxSubscriberLag: values["max-subscriber-lag"] === undefined
        ? 10_000
        : positiveInteger(
          "--max-subscriber-lag",
          values["max-subscriber-lag"],
          "10000",
        ),
    },
  };
}

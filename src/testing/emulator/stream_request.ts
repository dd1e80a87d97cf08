/**
 * The protocol half of a `/v2/stream/<streams>` request, shared by the
 * emulator and the relay (`src/relay/`): stream names, `since`,
 * `Last-Event-ID`, their 400/404 answers, and the response headers. What
 * differs between the two (connection limits, faults, where the log comes
 * from) stays with the caller.
 *
 * @module
 */

import { parseUtcDateTime } from "../../date_time.ts";
import {
  type AssignmentEntry,
  checkTopicsAvailable,
  KafkaSseError,
  type OffsetReset,
  parseLastEventId,
  resolveAssignments,
  type StartPosition,
} from "./last_event_id.ts";
import {
  COMMON_HEADERS,
  jsonResponse,
  type RequestLine,
  serviceErrorBody,
} from "./responses.ts";
import type { EmulatorStreams } from "./stream_set.ts";

/** A request answered before streaming (400 or 404), with its body. */
export interface StreamRejection {
  readonly ok: false;
  readonly status: number;
  readonly body: string;
  readonly response: Response;
}

/** A request that streams: where each partition starts, and how. */
export interface StreamAcceptance {
  readonly ok: true;
  /** Start positions, in the order the ids list them. */
  readonly positions: StartPosition[];
  /** JSON mode (`Accept: application/json`): lines without ids. */
  readonly json: boolean;
  /** The 200 response's headers. */
  readonly headers: Record<string, string>;
}

/**
 * Resolves a stream request as the eventstreams service and KafkaSSE do:
 * stream names (400 `not_found`), `since` (400 `invalid_timestamp`), then
 * `Last-Event-ID` (400 `InvalidAssignmentError`, 404
 * `TopicNotAvailableError`), then the response headers.
 *
 * @param request The request.
 * @param rawStreams The `{streams}` path segment as requested.
 * @param streams The served stream set.
 * @param offsetReset Where an offset outside the log starts.
 * @returns The rejection to send, or where to stream from.
 */
export function resolveStreamRequest(
  request: Request,
  rawStreams: string,
  streams: EmulatorStreams,
  offsetReset: OffsetReset,
): StreamRejection | StreamAcceptance {
  const url = new URL(request.url);
  const line: RequestLine = {
    method: request.method,
    uri: url.pathname + url.search,
  };
  const reject = (status: number, body: string, response?: Response) => ({
    ok: false as const,
    status,
    body,
    response: response ?? jsonResponse(status, body),
  });
  let requested: string[];
  try {
    requested = decodeURIComponent(rawStreams).split(",");
  } catch {
    requested = rawStreams.split(",");
  }
  const invalid = requested.filter((name) =>
    streams.resolve(name) === undefined
  );
  if (invalid.length > 0) {
    return reject(
      400,
      serviceErrorBody(
        line,
        400,
        "not_found",
        "Stream Not Found",
        `Invalid streams: ${invalid.join(",")}`,
      ),
    );
  }
  const topics: string[] = [];
  for (const name of requested) {
    for (const topic of streams.resolve(name)!.topics) {
      if (!topics.includes(topic)) topics.push(topic);
    }
  }
  const since = url.searchParams.getAll("since");
  let atTimestamp: number | undefined;
  if (since.length > 0) {
    const raw = since.join(",");
    if (raw !== "" && Number.isNaN(Number(raw))) {
      // Per routes/stream.js: a non-number goes through Date.parse (in the
      // server's time zone, UTC, whatever the emulator machine's is).
      const parsed = parseUtcDateTime(raw);
      if (Number.isNaN(parsed)) {
        return reject(
          400,
          serviceErrorBody(
            line,
            400,
            "invalid_timestamp",
            "Invalid timestamp",
            `since timestamp is not a UTC milliseconds unix epoch and was not parseable: '${raw}'`,
          ),
        );
      }
      // KafkaSSE tests `atTimestamp ?`: a parsed 0 (1970-01-01) means latest.
      atTimestamp = parsed === 0 ? undefined : parsed;
    } else if (raw !== "") {
      // A numeric string is handed on as milliseconds (truthy even for "0").
      atTimestamp = Number(raw);
    }
  }

  // KafkaSSE: Last-Event-ID (when present, even empty) replaces the topic list.
  let positions: StartPosition[];
  try {
    const lastEventId = request.headers.get("last-event-id");
    const entries: AssignmentEntry[] = lastEventId === null
      ? topics
      : parseLastEventId(lastEventId);
    checkTopicsAvailable(entries, topics);
    positions = resolveAssignments(entries, {
      partitions: (topic) =>
        topics.includes(topic) ? streams.partitions(topic) : [],
      atTimestamp,
      offsetReset,
    });
  } catch (error) {
    if (!(error instanceof KafkaSseError)) throw error;
    // KafkaSSE's connectErrorHandler writes the JSON and a newline, without a content-type.
    return reject(
      error.status,
      error.body,
      new Response(new TextEncoder().encode(error.body), {
        status: error.status,
        headers: COMMON_HEADERS,
      }),
    );
  }

  const accept = request.headers.get("accept");
  const json = accept !== null && accept.startsWith("application/json");
  return {
    ok: true,
    positions,
    json,
    headers: {
      ...COMMON_HEADERS,
      // Per KafkaSSE: charset only when the client sent an Accept header.
      "content-type": json
        ? "application/json; charset=utf-8"
        : accept === null
        ? "text/event-stream"
        : "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    },
  };
}

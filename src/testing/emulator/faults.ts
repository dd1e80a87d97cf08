/**
 * Scripted faults for the EventStreams emulator: what can go wrong with one
 * connection, and how a test says which connection gets which faults.
 *
 * @module
 */

/**
 * Answer the request with this status before streaming (the edge's 502/503,
 * the service's 429/500), with a JSON body shaped like the server's errors
 * unless `body` is given. No `Retry-After` header, as on the real server.
 *
 * @example
 * ```ts no-assert
 * import type { StatusFault } from "@eventstreams/client/testing";
 * const fault: StatusFault = { kind: "status", status: 503 };
 * ```
 */
export interface StatusFault {
  /** Discriminant. */
  kind: "status";
  /** The HTTP status, e.g. 429, 500, 502, 503. */
  status: number;
  /**
   * The response body.
   *
   * @default {a JSON body like the server's: {status, type, title, detail, method, uri}}
   */
  body?: string;
  /**
   * Extra response headers (e.g. a `Retry-After` the real server never sends).
   *
   * @default {{}}
   */
  headers?: Readonly<Record<string, string>>;
}

/**
 * End the response: after `afterFrames` complete message frames, or after
 * exactly `afterBytes` body bytes (`:ok` included), whichever comes first.
 * `midFrame` sends half of the next frame first. `abrupt` errors the body so
 * the client sees a network error instead of a clean end of stream.
 *
 * @example
 * ```ts no-assert
 * import type { CutFault } from "@eventstreams/client/testing";
 * const fault: CutFault = { kind: "cut", afterFrames: 3, midFrame: true, abrupt: true };
 * ```
 */
export interface CutFault {
  /** Discriminant. */
  kind: "cut";
  /**
   * Cut after this many complete message frames.
   *
   * @default {undefined}
   */
  afterFrames?: number;
  /**
   * Cut after exactly this many body bytes (may fall inside a frame).
   *
   * @default {undefined}
   */
  afterBytes?: number;
  /**
   * With `afterFrames`: also send the first half of the next frame.
   *
   * @default {false}
   */
  midFrame?: boolean;
  /**
   * Reset instead of a clean end of stream.
   *
   * @default {false}
   */
  abrupt?: boolean;
}

/**
 * Go silent after `afterFrames` frames and stay open (a "zombie"): no bytes,
 * not even for new events, until the client goes away or the emulator
 * closes.
 *
 * @example
 * ```ts no-assert
 * import type { StallFault } from "@eventstreams/client/testing";
 * const fault: StallFault = { kind: "stall", afterFrames: 10 };
 * ```
 */
export interface StallFault {
  /** Discriminant. */
  kind: "stall";
  /**
   * Frames sent before going silent.
   *
   * @default {0}
   */
  afterFrames?: number;
}

/**
 * After `afterFrames` frames, send `event: error` with the connection's
 * current id and `{"message","origin":"KafkaSSE","name"}` data, then end the
 * stream cleanly (what the server does on an internal failure).
 *
 * @example
 * ```ts no-assert
 * import type { ErrorEventFault } from "@eventstreams/client/testing";
 * const fault: ErrorEventFault = { kind: "error-event", afterFrames: 2, name: "KafkaConsumerError" };
 * ```
 */
export interface ErrorEventFault {
  /** Discriminant. */
  kind: "error-event";
  /**
   * Frames sent before the error event.
   *
   * @default {0}
   */
  afterFrames?: number;
  /**
   * The error message.
   *
   * @default {"Emulated internal failure"}
   */
  message?: string;
  /**
   * The error name.
   *
   * @default {"KafkaSSEError"}
   */
  name?: string;
}

/**
 * End the connection when it is `ms` old on the emulator's clock (the edge's
 * 15-minute cut, compressed).
 *
 * @example
 * ```ts no-assert
 * import type { MaxAgeFault } from "@eventstreams/client/testing";
 * const fault: MaxAgeFault = { kind: "max-age", ms: 5_000 };
 * ```
 */
export interface MaxAgeFault {
  /** Discriminant. */
  kind: "max-age";
  /** The connection's maximum age in milliseconds. */
  ms: number;
  /**
   * Reset instead of a clean end of stream.
   *
   * @default {false}
   */
  abrupt?: boolean;
}

/**
 * How a connection interleaves its topic-partitions: `"timestamp"` merges by
 * Kafka timestamp (ties in id order); `"round-robin"` takes one message from
 * each partition in turn; `"partition-batches"` takes up to `batchSize` from
 * one partition before moving on (like Kafka fetches), which delivers topics
 * out of timestamp order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InterleaveOrder } from "@eventstreams/client/testing";
 * const orders: InterleaveOrder[] = ["timestamp", "round-robin", "partition-batches"];
 * assert.ok(orders.length === 3);
 * ```
 */
export type InterleaveOrder = "timestamp" | "round-robin" | "partition-batches";

/**
 * Interleave this connection's partitions in the given order (overrides the
 * emulator's `interleave` option).
 *
 * @example
 * ```ts no-assert
 * import type { InterleaveFault } from "@eventstreams/client/testing";
 * const fault: InterleaveFault = { kind: "interleave", order: "partition-batches", batchSize: 20 };
 * ```
 */
export interface InterleaveFault {
  /** Discriminant. */
  kind: "interleave";
  /** The order. */
  order: InterleaveOrder;
  /**
   * Messages per partition in a row for `"partition-batches"`.
   *
   * @default {50}
   */
  batchSize?: number;
}

/**
 * Write the body slowly: at most `bytesPerWrite` bytes per write, with
 * `delayMs` on the emulator's clock between writes (0: no timer, just tiny
 * writes).
 *
 * @example
 * ```ts no-assert
 * import type { TrickleFault } from "@eventstreams/client/testing";
 * const fault: TrickleFault = { kind: "trickle", bytesPerWrite: 7, delayMs: 0 };
 * ```
 */
export interface TrickleFault {
  /** Discriminant. */
  kind: "trickle";
  /** The largest write, in bytes. */
  bytesPerWrite: number;
  /**
   * The pause between writes, in milliseconds.
   *
   * @default {0}
   */
  delayMs?: number;
}

/**
 * Anything that can go wrong with one emulated connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorFault } from "@eventstreams/client/testing";
 * const faults: EmulatorFault[] = [{ kind: "trickle", bytesPerWrite: 16 }, { kind: "cut", afterFrames: 5 }];
 * assert.ok(faults.length === 2);
 * ```
 */
export type EmulatorFault =
  | StatusFault
  | CutFault
  | StallFault
  | ErrorEventFault
  | MaxAgeFault
  | InterleaveFault
  | TrickleFault;

/**
 * Which faults each stream request gets, by arrival order: a list (the
 * first request gets the first inner list, and so on; later requests get
 * none), or a function of the connection index (0-based over all stream
 * requests since the emulator started) and the request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EmulatorFaultScript } from "@eventstreams/client/testing";
 * const script: EmulatorFaultScript = [[{ kind: "status", status: 503 }], [{ kind: "cut", afterFrames: 3 }]];
 * const everyOther: EmulatorFaultScript = (index) => index % 2 === 0 ? [{ kind: "stall" }] : [];
 * assert.ok(Array.isArray(script) && typeof everyOther === "function");
 * ```
 */
export type EmulatorFaultScript =
  | readonly (readonly EmulatorFault[])[]
  | ((
    connectionIndex: number,
    request: Request,
  ) => readonly EmulatorFault[] | undefined);

const KINDS = new Set([
  "status",
  "cut",
  "stall",
  "error-event",
  "max-age",
  "interleave",
  "trickle",
]);

/**
 * Checks a fault list and throws on nonsense, so a typo fails the test that
 * wrote it instead of silently injecting nothing.
 *
 * @param faults The faults of one connection.
 * @returns The same faults.
 * @throws {TypeError} On an unknown `kind` or a cut without a threshold.
 * @throws {RangeError} On a negative or non-integer count, size or delay.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateFaults } from "@eventstreams/client/testing";
 * validateFaults([{ kind: "cut", afterBytes: 100 }]);
 * assert.throws(() => validateFaults([{ kind: "cut" }]), TypeError);
 * ```
 */
export function validateFaults(
  faults: readonly EmulatorFault[],
): readonly EmulatorFault[] {
  for (const fault of faults) {
    if (fault === null || typeof fault !== "object" || !KINDS.has(fault.kind)) {
      throw new TypeError(
        `Cannot use fault ${JSON.stringify(fault)}: kind must be one of ${
          [...KINDS].join(", ")
        }`,
      );
    }
    const count = (name: string, value: number | undefined, min = 0) => {
      if (value !== undefined && (!Number.isInteger(value) || value < min)) {
        throw new RangeError(
          `Cannot use fault '${fault.kind}': ${name} must be an integer >= ${min}, got ${value}`,
        );
      }
    };
    switch (fault.kind) {
      case "status":
        count("status", fault.status, 100);
        break;
      case "cut":
        if (fault.afterFrames === undefined && fault.afterBytes === undefined) {
          throw new TypeError(
            "Cannot use fault 'cut': give afterFrames or afterBytes",
          );
        }
        count("afterFrames", fault.afterFrames);
        count("afterBytes", fault.afterBytes);
        break;
      case "stall":
      case "error-event":
        count("afterFrames", fault.afterFrames);
        break;
      case "max-age":
        count("ms", fault.ms);
        break;
      case "interleave":
        count("batchSize", fault.batchSize, 1);
        break;
      case "trickle":
        count("bytesPerWrite", fault.bytesPerWrite, 1);
        count("delayMs", fault.delayMs);
        break;
    }
  }
  return faults;
}

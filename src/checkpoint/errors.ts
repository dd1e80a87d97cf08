/**
 * Errors raised by checkpoint stores.
 *
 * @module
 */

/**
 * A stored checkpoint cannot be read or written, for example a checkpoint
 * file that does not hold a cursor. The message names the file or key and
 * says what to do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointError } from "@eventstreams/client/checkpoint";
 * const error = new CheckpointError("Cannot load checkpoint from 'a.json': expected a JSON array, got 'x'");
 * assert.equal(error.name, "CheckpointError");
 * ```
 */
export class CheckpointError extends Error {
  /**
   * Creates a CheckpointError.
   *
   * @param message What went wrong, naming the file or key.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/**
 * Another consumer advanced a shared checkpoint since this store last read
 * it, so this store refused to overwrite it. Two consumers sharing one key
 * would otherwise each process the same events and overwrite each other's
 * progress.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CheckpointConflictError } from "@eventstreams/client/checkpoint";
 * const error = new CheckpointConflictError(["eventstreams", "checkpoint", "bot"], "Cannot save");
 * assert.ok(error instanceof Error);
 * assert.equal(error.name, "CheckpointConflictError");
 * assert.equal(error.key[2], "bot");
 * ```
 */
export class CheckpointConflictError extends Error {
  /** The key (Deno KV key parts) whose checkpoint is contended. */
  readonly key: readonly unknown[];

  /**
   * Creates a CheckpointConflictError.
   *
   * @param key The contended key.
   * @param message What happened and what to do.
   * @param options Standard error options (`cause`).
   */
  constructor(
    key: readonly unknown[],
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CheckpointConflictError";
    this.key = key;
  }
}

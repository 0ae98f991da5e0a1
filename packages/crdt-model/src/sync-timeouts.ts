/** The two log levels `keepRunningOnLoadTimeouts` writes, as pino loggers have them. */
export interface RejectionLog {
  warn(fields: Record<string, unknown>, message: string): void;
  fatal(fields: Record<string, unknown>, message: string): void;
}

/**
 * Tells whether an unhandled rejection is automerge-repo's own timeout
 * while a document loads. Its DocSynchronizer awaits `whenReady()` (60 s)
 * in a promise without a rejection handler when a peer offers a document still
 * loading, as on a relay opening hundreds of branches while terminals connect.
 */
export function isRepoLoadTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "TimeoutError" && reason.message.startsWith("withTimeout: timed out after");
}

/**
 * Keeps a relay or terminal process running after automerge-repo's load
 * timeout and logs it. Any other unhandled rejection still ends the
 * process with code 1, as Node.js does by default.
 * NOTE: the sync start that timed out is not retried. Messages the peer
 * sent meanwhile are processed when its next message arrives after the load.
 */
export function keepRunningOnLoadTimeouts(log: RejectionLog): void {
  process.on("unhandledRejection", (reason) => {
    if (isRepoLoadTimeout(reason)) {
      log.warn({ err: reason }, "document load timed out while a peer started syncing it; sync goes on with the peer's next message");
      return;
    }
    log.fatal({ err: reason }, "unhandled promise rejection; stopping");
    process.exit(1);
  });
}

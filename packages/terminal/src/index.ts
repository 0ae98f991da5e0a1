/**
 * @mercora/terminal: the cashier terminal. `Terminal` keeps the branch's
 * documents in automerge-repo on durable storage, syncs with LAN peers and
 * the relay, and records sales, cash movements and stock movements;
 * `buildTerminalApi` exposes it over HTTP; `runTerminalCli` is
 * `mercora terminal`.
 */
export { Terminal } from "./terminal.ts";
export type { TerminalOptions, StorageProblem } from "./terminal.ts";
export { buildTerminalApi } from "./http.ts";
export type { ApiError } from "./http.ts";
export { runTerminalCli, TERMINAL_USAGE } from "./cli.ts";
export { openOrActivate } from "./activation.ts";
export type { ActivatedState } from "./activation.ts";
export { Connectivity, DEFAULT_CONNECTIVITY } from "./connectivity.ts";
export type { ConnectivityOptions } from "./connectivity.ts";
export { AuthenticatedWebSocketServerAdapter, ListeningWebSocketServerAdapter, ResilientWebSocketClientAdapter, SYNC_DEFLATE } from "./network.ts";
export { WriteAheadLog } from "./write-ahead-log.ts";
export type { ChangeFrame, LogFrame, LogProblem, RecordFrame } from "./write-ahead-log.ts";
export { DurableWrites, CHECKPOINT_BYTES, replayFrames } from "./durable-writes.ts";
export type { Checkpoint } from "./durable-writes.ts";
export { LanNetwork } from "./lan.ts";
export { DEFAULT_FORWARD_AFTER_MS, RelayShare } from "./relay-share.ts";
export type { BranchDocuments, PeerProgress } from "./relay-share.ts";
export type { LanPeer } from "./lan.ts";
export { ConflictReview, parseAuditLimit, parseStatusFilter } from "./conflict-review.ts";
export type { ActionHandler, ConflictReviewPorts, ConflictStatusFilter, RecordWriter, Signer } from "./conflict-review.ts";
export { PinGuard, MAX_PIN_FAILURES, PIN_LOCK_MS } from "./pins.ts";
export { OfflinePeriodPublisher } from "./offline-publisher.ts";
export { buildConnectivityReport, offlinePeriodsOf, parseConnectivityLog } from "./offline-periods.ts";
export type { ConnectivityEvent } from "./connectivity.ts";
export { quotePayment } from "./quotes.ts";
export { HELPER_NICE_STEPS, lowerHelperThreadPriority } from "./thread-priority.ts";
export type { HelperPriorityResult } from "./thread-priority.ts";

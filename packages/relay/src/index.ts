/**
 * @mercora/relay: the cloud side. `Relay` merges every branch's documents,
 * ingests and verifies terminal records, reconciles stock and serves HQ;
 * `buildRelayApi` is its HTTP and websocket server; `runRelayCli` is
 * `mercora relay`.
 */
export { Relay, DEFAULT_COUNTRY, catalogSettings } from "./relay.ts";
export type { RelayOptions, CreateBranchInput, UserInput } from "./relay.ts";
export { RelayBranch, RELAY_REPLICA, verifyRecord } from "./branch.ts";
export { buildRelayApi } from "./http.ts";
export { runRelayCli, RELAY_USAGE } from "./cli.ts";
export { RelayLedger } from "./relay-ledger.ts";
export { addReviewContainers, attachBranchReview } from "./conflict-review.ts";
export type { ActionHandler } from "@mercora/terminal";

/**
 * @mercora/relay: the cloud side. `Relay` merges every branch's documents,
 * ingests and verifies terminal records, reconciles stock and serves HQ;
 * `buildRelayApi` is its HTTP and websocket server; `runRelayCli` is
 * `mercora relay`. `CatalogEditor` is HQ's catalog editor replica, run by
 * `mercora catalog-editor`.
 */
export { Relay, DEFAULT_COUNTRY, catalogSettings } from "./relay.ts";
export type { RelayOptions, CreateBranchInput, UserInput } from "./relay.ts";
export { RelayBranch, RELAY_REPLICA, verifyRecord } from "./branch.ts";
export { StockPublisher, BASELINE_ROLL_CHANGES, STOCK_PUBLISH_MAX_DELAY_MS, STOCK_PUBLISH_QUIET_MS } from "./stock-publisher.ts";
export type { StockPublisherContext } from "./stock-publisher.ts";
export { buildRelayApi } from "./http.ts";
export { runRelayCli, RELAY_USAGE } from "./cli.ts";
export { CatalogEditor } from "./catalog-editor.ts";
export type { CatalogEditorOptions } from "./catalog-editor.ts";
export { enrollCatalogEditor, openEnrolledEditor } from "./catalog-editor-enrollment.ts";
export type { CatalogEditorState } from "./catalog-editor-enrollment.ts";
export { buildCatalogEditorApi } from "./catalog-editor-api.ts";
export { runCatalogEditorCli, CATALOG_EDITOR_USAGE } from "./catalog-editor-cli.ts";
export { CatalogEdits } from "./catalog-edits.ts";
export type { CatalogChoice, CatalogChoiceInput } from "./catalog-edits.ts";
export { CatalogConflictDetector } from "./catalog-conflict-detector.ts";
export { CatalogEditorRegistry } from "./catalog-editors.ts";
export type { CatalogEditorSummary } from "./catalog-editors.ts";
export { RelayLedger } from "./relay-ledger.ts";
export { addReviewContainers, attachBranchReview } from "./conflict-review.ts";
export type { ActionHandler } from "@mercora/terminal";

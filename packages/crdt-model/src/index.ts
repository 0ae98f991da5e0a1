/**
 * @mercora/crdt-model: the Automerge document schemas of Mercora and the
 * typed operations on them. Writers call the `init*` builders once to create
 * a document, and the mutating operations inside `handle.change()`; readers
 * turn stored documents into the plain types of `types.ts`.
 */
export * from "./types.ts";
export * from "./schema.ts";
export { imm, str, optStr } from "./strings.ts";
export { ValidationError, RuleError, NotFoundError } from "./errors.ts";
export { HybridLogicalClock, encodeHlc, decodeHlc, compareHlc } from "./hlc.ts";
export type { HlcTimestamp } from "./hlc.ts";
export * from "./catalog.ts";
export * from "./catalog-index.ts";
export * from "./stock-baseline.ts";
export * from "./available-stock.ts";
export * from "./stock-fold.ts";
export { SkuUnits } from "./sku-units.ts";
export * from "./catalog-edit.ts";
export * from "./catalog-conflicts.ts";
export * from "./ledger.ts";
export * from "./directory.ts";
export * from "./ingest.ts";
export * from "./conflicts.ts";
export * from "./money.ts";
export * from "./sale.ts";
export * from "./catalog-csv.ts";
export * from "./storage.ts";
export * from "./repo-helpers.ts";
export * from "./sync-timeouts.ts";
export * from "./tax-profiles.ts";
export * from "./pricing.ts";
export * from "./permissions.ts";
export * from "./refunds.ts";
export * from "./reports.ts";
export * from "./keystore.ts";
export * from "./device-token.ts";
export * from "./editor-token.ts";
export * from "./integrity.ts";
export * from "./folios.ts";
export * from "./conflict-actions.ts";
export * from "./resolutions.ts";
export * from "./resolution-merge.ts";
export * from "./deadlines.ts";
export * from "./voids.ts";
export * from "./action-records.ts";
export * from "./zoned-time.ts";
export * from "./terminal-connectivity.ts";
export * from "./branch-dashboard.ts";

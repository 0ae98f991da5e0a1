/**
 * @mercora/reconciler: turns merged available stock and ledgers into
 * conflicts a manager reviews. Pure functions over plain data; the terminal
 * and the relay feed them what they hold and write the returned detections
 * into the branch's conflicts document.
 */
export { reconcileOversells, involvedTickets, oversellId, sameDetection } from "./oversell.ts";
export type { OversellInput } from "./oversell.ts";
export { reconcileDoubleRefunds, doubleRefundId } from "./refunds.ts";
export type { DoubleRefundInput } from "./refunds.ts";
export { reconcileDuplicateProvisionals } from "./folios.ts";
export type { DuplicateProvisionalInput } from "./folios.ts";
export { reconcileVoids } from "./voids.ts";
export type { VoidConflictInput } from "./voids.ts";
export { targetConflict } from "./generations.ts";
export type { ConflictTarget } from "./generations.ts";

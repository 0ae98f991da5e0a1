/**
 * @mercora/reconciler: turns merged inventory counters and ledgers into
 * conflicts a manager reviews. Pure functions over plain data; the terminal
 * and the relay feed them what they hold and write the returned detections
 * into the branch's conflicts document.
 */
export { reconcileOversells, involvedTickets, oversellId } from "./oversell.ts";
export type { OversellInput } from "./oversell.ts";

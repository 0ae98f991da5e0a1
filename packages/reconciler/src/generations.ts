import type { Conflict } from "@mercora/crdt-model";

/** Target of a detection: the conflict id to write and the tickets it names. */
export interface ConflictTarget {
  id: string;
  tickets: string[];
}

/** Generation of a conflict id within the family of `baseId`: 1 for the base id, n for `baseId:n`. */
function generationOf(id: string, baseId: string): number | null {
  if (id === baseId) return 1;
  if (!id.startsWith(`${baseId}:`)) return null;
  const rest = id.slice(baseId.length + 1);
  return /^[1-9]\d*$/.test(rest) ? Number(rest) : null;
}

/**
 * Routes a detection so that resolved conflicts stay resolved. Conflicts
 * about one subject (an oversold SKU, a ticket line refunded twice) form
 * a family: the base id, then `base:2`, `base:3` and so on. The tickets
 * that a family's resolved conflicts covered (the tickets their standing
 * action named) are settled. The rest go to the family's open conflict,
 * or to a new generation when every conflict of the family is resolved.
 * Returns null when no ticket is left, so nothing is written.
 */
export function targetConflict(baseId: string, tickets: string[], merged: readonly Conflict[]): ConflictTarget | null {
  const family = merged
    .map((conflict) => ({ conflict, generation: generationOf(conflict.id, baseId) }))
    .filter((entry): entry is { conflict: Conflict; generation: number } => entry.generation !== null)
    .sort((a, b) => a.generation - b.generation);
  if (family.length === 0) return { id: baseId, tickets };
  const covered = new Set<string>();
  for (const { conflict } of family) {
    if (conflict.status === "resolved") for (const ticket of conflict.resolution?.tickets ?? []) covered.add(ticket);
  }
  const open = family.filter((entry) => entry.conflict.status === "open").at(-1);
  const named = open ? [...tickets, ...open.conflict.tickets.filter((ticket) => !tickets.includes(ticket))] : tickets;
  const left = named.filter((ticket) => !covered.has(ticket));
  if (open) return { id: open.conflict.id, tickets: left.length > 0 ? left : open.conflict.tickets };
  if (left.length === 0) return null;
  return { id: `${baseId}:${family.at(-1)!.generation + 1}`, tickets: left };
}

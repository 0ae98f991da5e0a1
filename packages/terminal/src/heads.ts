/** Tells whether two lists of Automerge heads name the same changes, in any order. */
export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}

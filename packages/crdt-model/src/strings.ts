import { ImmutableString, isImmutableString } from "@automerge/automerge";

/**
 * Wraps a string as an Automerge `ImmutableString`. Ids, SKUs, names and
 * statuses are never edited character by character, and storing them as
 * immutable values keeps documents smaller and faster to load than
 * collaborative text.
 */
export function imm(value: string): ImmutableString {
  return new ImmutableString(value);
}

/**
 * Reads a stored string, whether it is an `ImmutableString` or plain text.
 * `isImmutableString` also recognizes one made by another copy of the
 * Automerge module, which `instanceof` does not.
 */
export function str(value: unknown): string {
  if (isImmutableString(value)) return (value as ImmutableString).val;
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return String(value);
}

/** Reads a stored string that may be absent. */
export function optStr(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return str(value);
}

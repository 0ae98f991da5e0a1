
/**
 * Divides two non-negative integers and rounds half up, exactly.
 * Amounts are integer minor units everywhere, never floating point.
 */
export function divideRoundHalfUp(numerator: number, denominator: number): number {
  if (!Number.isSafeInteger(numerator) || !Number.isSafeInteger(denominator) || denominator <= 0) {
    throw new Error(`divideRoundHalfUp needs safe integers and a positive divisor, got ${numerator}/${denominator}`);
  }
  const sign = numerator < 0 ? -1 : 1;
  const n = BigInt(Math.abs(numerator));
  const d = BigInt(denominator);
  const q = (n * 2n + d) / (2n * d);
  return sign * Number(q);
}

/**
 * Splits a tax-included line amount into base and tax per line: the base is
 * the amount divided by (1 + rate), rounded half up to the minor unit, and
 * the tax is the amount minus the base, so base plus tax is always the amount.
 */
export function splitTaxIncluded(amount: number, rateBp: number): { base: number; tax: number } {
  const base = divideRoundHalfUp(amount * 10_000, 10_000 + rateBp);
  return { base, tax: amount - base };
}

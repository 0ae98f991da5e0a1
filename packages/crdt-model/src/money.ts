import { ValidationError } from "./errors.ts";
import type { Tender } from "./types.ts";
import { TENDER_TYPES } from "./types.ts";

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

export interface TenderCheck {
  tendered: number;
  change: number;
}

/**
 * Checks split tenders against a ticket total: every amount a positive
 * integer, the tenders covering the total, and change given on cash only,
 * so non-cash tenders may not exceed the total and change may not exceed
 * the cash tendered.
 */
export function checkTenders(tenders: Tender[], total: number): TenderCheck {
  if (tenders.length === 0) {
    throw new ValidationError("TENDERS_MISSING", "The sale has no tenders; add at least one payment", "tenders");
  }
  let tendered = 0;
  let cash = 0;
  tenders.forEach((tender, index) => {
    if (!TENDER_TYPES.includes(tender.type)) {
      throw new ValidationError(
        "TENDER_TYPE_INVALID",
        `Tender ${index + 1} has type "${tender.type}"; use one of ${TENDER_TYPES.join(", ")}`,
        `tenders[${index}].type`,
        tender.type,
      );
    }
    if (!Number.isSafeInteger(tender.amount) || tender.amount <= 0) {
      throw new ValidationError(
        "TENDER_AMOUNT_INVALID",
        `Tender ${index + 1} amount ${tender.amount} is not a positive integer in minor units`,
        `tenders[${index}].amount`,
        tender.amount,
      );
    }
    tendered += tender.amount;
    if (tender.type === "cash") cash += tender.amount;
  });
  if (tendered < total) {
    throw new ValidationError(
      "TENDERS_SHORT",
      `Tenders add up to ${tendered} but the total is ${total}: ${total - tendered} is still due`,
      "tenders",
      tendered,
    );
  }
  const change = tendered - total;
  if (change > cash) {
    throw new ValidationError(
      "TENDERS_OVER",
      `Tenders add up to ${tendered}, over the total of ${total} by ${change}, and change is given on cash only ` +
        `(cash tendered: ${cash}); lower the card, transfer or other amounts`,
      "tenders",
      tendered,
    );
  }
  return { tendered, change };
}

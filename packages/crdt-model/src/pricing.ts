import { ValidationError } from "./errors.ts";
import { divideRoundHalfUp } from "./money.ts";
import type { TaxRounding } from "./tax-profiles.ts";
import type { Tender } from "./types.ts";
import { TENDER_TYPES } from "./types.ts";

export interface PricingRules {
  pricesIncludeTax: boolean;
  rounding: TaxRounding;
}

export interface LineInput {
  /** Shelf price per unit in minor units, with or without tax as the rules say. */
  unitPrice: number;
  qty: number;
  rateBp: number;
}

export interface PricedLine {
  base: number;
  tax: number;
  /** Line amount the customer pays: base plus tax. */
  total: number;
}

/** Tax on a tax-excluded amount, rounded half up to the minor unit. */
function taxOnBase(amount: number, rateBp: number): number {
  return divideRoundHalfUp(amount * rateBp, 10_000);
}

/** Tax inside a tax-included amount: the amount minus its base, the base rounded half up. */
function taxInside(amount: number, rateBp: number): number {
  return amount - divideRoundHalfUp(amount * 10_000, 10_000 + rateBp);
}

/**
 * Spreads a group's tax over its lines in proportion to their amounts,
 * with the leftover minor units going to the largest remainders (ties to
 * the earlier line), so the line taxes add up exactly to the group's tax.
 */
function spread(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (BigInt(total) * BigInt(w)) / BigInt(sum));
  const shares = exact.map(Number);
  const remainders = weights.map((w, index) => ({
    index,
    remainder: (BigInt(total) * BigInt(w)) % BigInt(sum),
  }));
  let left = total - shares.reduce((a, b) => a + b, 0);
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (left <= 0) break;
    shares[index]! += 1;
    left -= 1;
  }
  return shares;
}

/**
 * Computes base, tax and total of every line. Per-line rounding rounds each
 * line's tax on its own. Per-rate-group rounding computes the tax of each
 * rate's lines once and spreads it back, so line taxes still add up to the
 * ticket's tax. In both, line totals and line taxes add up exactly to the
 * ticket's total and tax.
 */
export function priceLines(lines: LineInput[], rules: PricingRules): PricedLine[] {
  const amounts = lines.map((line) => {
    const amount = line.unitPrice * line.qty;
    if (!Number.isSafeInteger(amount)) {
      throw new ValidationError("LINE_TOTAL_OVERFLOW", `${line.qty} x ${line.unitPrice} is too large`, "lines", line.qty);
    }
    return amount;
  });
  const taxes: number[] = new Array(lines.length).fill(0);
  if (rules.rounding === "per-line") {
    lines.forEach((line, index) => {
      const amount = amounts[index]!;
      taxes[index] = rules.pricesIncludeTax ? taxInside(amount, line.rateBp) : taxOnBase(amount, line.rateBp);
    });
  } else {
    const groups = new Map<number, number[]>();
    lines.forEach((line, index) => groups.set(line.rateBp, [...(groups.get(line.rateBp) ?? []), index]));
    for (const [rateBp, indexes] of groups) {
      const groupAmount = indexes.reduce((sum, index) => sum + amounts[index]!, 0);
      const groupTax = rules.pricesIncludeTax ? taxInside(groupAmount, rateBp) : taxOnBase(groupAmount, rateBp);
      const shares = spread(groupTax, indexes.map((index) => amounts[index]!));
      indexes.forEach((index, i) => {
        taxes[index] = shares[i]!;
      });
    }
  }
  return lines.map((_, index) => {
    const amount = amounts[index]!;
    const tax = taxes[index]!;
    return rules.pricesIncludeTax ? { base: amount - tax, tax, total: amount } : { base: amount, tax, total: amount + tax };
  });
}

/** Rounds an amount to the nearest multiple of `increment`, ties up. */
export function roundToIncrement(amount: number, increment: number): number {
  if (increment <= 1) return amount;
  return divideRoundHalfUp(amount, increment) * increment;
}

export interface Settlement {
  /** Cash the customer owes after non-cash tenders, before cash rounding. */
  cashDue: number;
  /** Cash rounding adjustment, added to the ticket once: rounded cash due minus cash due. */
  cashRounding: number;
  /** Change given back, on cash only. */
  change: number;
  /** Net cash into the drawer: cash tendered minus change. */
  cashIn: number;
  tendered: number;
}

export interface SettleOptions {
  currency: string;
  /** Cash rounding increment in minor units; 0 or 1 for none. */
  cashRoundingIncrement: number;
}

/**
 * Settles split tenders against a ticket total. Non-cash tenders (card,
 * transfer, other) may not exceed the total. The rest is due in cash,
 * rounded to the store's increment (ties up) and recorded once as the
 * cash rounding adjustment. Change is given on cash only. The result
 * depends only on the final list of tenders, so a tender added and
 * removed again leaves no trace.
 */
export function settleTenders(tenders: Tender[], total: number, options: SettleOptions): Settlement {
  if (tenders.length === 0) {
    throw new ValidationError("TENDERS_MISSING", "The sale has no tenders; add at least one payment", "tenders");
  }
  let nonCash = 0;
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
    if (tender.currency !== undefined && tender.currency !== options.currency) {
      throw new ValidationError(
        "TENDER_CURRENCY_INVALID",
        `Tender ${index + 1} is in ${JSON.stringify(tender.currency)} but this store takes ${options.currency} only`,
        `tenders[${index}].currency`,
        tender.currency,
      );
    }
    if (!Number.isSafeInteger(tender.amount) || tender.amount <= 0) {
      throw new ValidationError(
        "TENDER_AMOUNT_INVALID",
        `Tender ${index + 1} amount ${JSON.stringify(tender.amount)} is not a positive whole number of minor units`,
        `tenders[${index}].amount`,
        tender.amount,
      );
    }
    if (tender.type === "cash") cash += tender.amount;
    else nonCash += tender.amount;
  });
  if (nonCash > total) {
    throw new ValidationError(
      "TENDERS_OVER",
      `Card, transfer and other tenders add up to ${nonCash}, over the total of ${total} by ${nonCash - total}; ` +
        "change is given on cash only, so lower them",
      "tenders",
      nonCash,
    );
  }
  const cashDue = total - nonCash;
  const roundedDue = cash > 0 ? roundToIncrement(cashDue, options.cashRoundingIncrement) : cashDue;
  if (cash < roundedDue) {
    throw new ValidationError(
      "TENDERS_SHORT",
      `Tenders leave ${roundedDue - cash} still due (total ${total}, cash due ${roundedDue}, cash tendered ${cash})`,
      "tenders",
      cash + nonCash,
    );
  }
  const change = cash - roundedDue;
  return {
    cashDue,
    cashRounding: roundedDue - cashDue,
    change,
    cashIn: cash - change,
    tendered: cash + nonCash,
  };
}

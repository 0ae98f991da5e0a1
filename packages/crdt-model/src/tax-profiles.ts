import type { DeadlineRule } from "./deadlines.ts";
import type { Tax } from "./types.ts";

/**
 * How tax is rounded: per line (each line's tax rounded on its own, as
 * e-invoices carry line amounts), or per rate group (the tax of all lines
 * at one rate rounded once, then spread back over the lines).
 */
export type TaxRounding = "per-line" | "per-rate-group";

/** Tax, currency and rounding rules of one country, as a store there applies them. */
export interface TaxProfile {
  country: string;
  currency: string;
  minorUnitDigits: number;
  /** True when shelf prices include tax. */
  pricesIncludeTax: boolean;
  rounding: TaxRounding;
  taxes: Tax[];
  /** Cash rounding increment in minor units (500 is ₡5.00), or 0 for none. */
  cashRoundingIncrement: number;
  /** IANA time zone a new branch in this country gets unless told otherwise. */
  timeZone: string;
  /** How long a fiscal document may wait for transmission to the tax authority; null where none is set. */
  transmissionDeadline: DeadlineRule | null;
}

const base = { rounding: "per-line" as const, minorUnitDigits: 2 };

/**
 * Built-in profiles. Rates are in basis points. Cash rounding is off by
 * default except in Costa Rica, where cash amounts round to ₡5; a store
 * sets its own increment when it creates a branch. Transmission deadlines:
 * Mexico 72 hours from the document's instant, Peru until the end of the
 * third calendar day after its date, Colombia the same day, Costa Rica two
 * calendar days for contingency receipts (issued offline) only.
 * NOTE: Guatemala and Argentina have no deadline set, so their records show no timers.
 */
export const TAX_PROFILES: Record<string, TaxProfile> = {
  CR: {
    ...base,
    country: "CR",
    transmissionDeadline: { kind: "end-of-day", days: 2, offlineOnly: true },
    currency: "CRC",
    pricesIncludeTax: true,
    cashRoundingIncrement: 500,
    timeZone: "America/Costa_Rica",
    taxes: [
      { code: "IVA13", name: "IVA 13%", rateBp: 1300 },
      { code: "IVA4", name: "IVA 4%", rateBp: 400 },
      { code: "IVA2", name: "IVA 2%", rateBp: 200 },
      { code: "IVA1", name: "IVA 1%", rateBp: 100 },
      { code: "EXENTO", name: "Exento", rateBp: 0 },
    ],
  },
  MX: {
    ...base,
    country: "MX",
    transmissionDeadline: { kind: "hours", hours: 72 },
    currency: "MXN",
    pricesIncludeTax: true,
    cashRoundingIncrement: 0,
    timeZone: "America/Mexico_City",
    taxes: [
      { code: "IVA16", name: "IVA 16%", rateBp: 1600 },
      { code: "IVA8", name: "IVA 8% frontera", rateBp: 800 },
      { code: "IVA0", name: "IVA 0%", rateBp: 0 },
    ],
  },
  PE: {
    ...base,
    country: "PE",
    transmissionDeadline: { kind: "end-of-day", days: 3 },
    currency: "PEN",
    pricesIncludeTax: true,
    cashRoundingIncrement: 0,
    timeZone: "America/Lima",
    taxes: [
      { code: "IGV18", name: "IGV 18%", rateBp: 1800 },
      { code: "EXONERADO", name: "Exonerado", rateBp: 0 },
    ],
  },
  CO: {
    ...base,
    country: "CO",
    transmissionDeadline: { kind: "end-of-day", days: 0 },
    currency: "COP",
    pricesIncludeTax: true,
    cashRoundingIncrement: 0,
    timeZone: "America/Bogota",
    taxes: [
      { code: "IVA19", name: "IVA 19%", rateBp: 1900 },
      { code: "IVA5", name: "IVA 5%", rateBp: 500 },
      { code: "INC8", name: "Impuesto al consumo 8%", rateBp: 800 },
      { code: "EXCLUIDO", name: "Excluido", rateBp: 0 },
    ],
  },
  GT: {
    ...base,
    country: "GT",
    transmissionDeadline: null,
    currency: "GTQ",
    pricesIncludeTax: true,
    cashRoundingIncrement: 0,
    timeZone: "America/Guatemala",
    taxes: [
      { code: "IVA12", name: "IVA 12%", rateBp: 1200 },
      { code: "EXENTO", name: "Exento", rateBp: 0 },
    ],
  },
  AR: {
    ...base,
    country: "AR",
    transmissionDeadline: null,
    currency: "ARS",
    pricesIncludeTax: true,
    cashRoundingIncrement: 0,
    timeZone: "America/Argentina/Buenos_Aires",
    taxes: [
      { code: "IVA21", name: "IVA 21%", rateBp: 2100 },
      { code: "IVA10.5", name: "IVA 10,5%", rateBp: 1050 },
      { code: "EXENTO", name: "Exento", rateBp: 0 },
    ],
  },
};

/** Returns a built-in profile by ISO country code, with overrides; throws for an unknown country. */
export function taxProfile(country: string, overrides: Partial<TaxProfile> = {}): TaxProfile {
  const profile = TAX_PROFILES[country.toUpperCase()];
  if (!profile) {
    throw new Error(`No tax profile for country "${country}"; use one of ${Object.keys(TAX_PROFILES).join(", ")}`);
  }
  return { ...profile, taxes: [...profile.taxes], ...overrides };
}

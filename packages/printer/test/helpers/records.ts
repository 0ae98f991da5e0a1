import type { LedgerRecord, SaleLine } from "@mercora/crdt-model";
import type { EscPosReceiptOptions, PrinterProfile } from "@mercora/printer";

/** Builds a sale line; `base` defaults to `total - tax`. */
export function saleLine(overrides: Partial<SaleLine>): SaleLine {
  const line: SaleLine = {
    sku: "7790000000001",
    barcode: null,
    name: "Producto",
    qty: 1,
    unitPrice: 100,
    taxCode: "IVA21",
    taxRateBp: 2100,
    base: 0,
    total: 100,
    tax: 17,
    stockBefore: 50,
    refLine: null,
    soldQty: null,
    ...overrides,
  };
  if (overrides.base === undefined) line.base = line.total - line.tax;
  return line;
}

/**
 * Builds a sale of two lines at two VAT rates, paid by card and cash with
 * change of 50.00. Taxes are the tax-included splits: 345000 at 21% is
 * 285124 + 59876, 250000 at 10.5% is 226244 + 23756.
 */
export function saleRecord(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    id: "suc01-caja01-00000042",
    kind: "sale",
    branch: "suc01",
    terminal: "caja01",
    seq: 42,
    hlc: "0000018f5a3c2b00-0000-caja01",
    at: "2025-03-14T18:45:30.000Z",
    businessDay: "2025-03-14",
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: false,
    cashier: "María",
    requestId: null,
    lines: [
      saleLine({ sku: "7790387000012", name: "Yerba Mate Playadito 1 Kg", unitPrice: 345000, total: 345000, tax: 59876 }),
      saleLine({
        sku: "7790040000023",
        name: "Galletitas Pepitas Rellenas Gold Mundo 200 Gr",
        qty: 2,
        unitPrice: 125000,
        taxCode: "IVA105",
        taxRateBp: 1050,
        total: 250000,
        tax: 23756,
      }),
    ],
    tenders: [
      { type: "card", amount: 400000 },
      { type: "cash", amount: 200000 },
    ],
    total: 595000,
    tax: 83632,
    cashRounding: 0,
    change: 5000,
    stock: [],
    cashAmount: 0,
    reason: null,
    refundOf: null,
    authorizedBy: null,
    deviceAt: null,
    folio: null,
    folioNumber: null,
    provisionalFolio: null,
    prevHash: "",
    hash: "",
    signature: "",
    ...overrides,
  };
}

export const PROFILE_58: PrinterProfile = { paperWidth: 58, codePage: "cp850", cutter: "partial", cashDrawer: true };
export const PROFILE_80: PrinterProfile = { ...PROFILE_58, paperWidth: 80 };

export const BAKERY: EscPosReceiptOptions = {
  currency: "ARS",
  minorUnitDigits: 2,
  store: { name: "Panadería La Espiga", address: "Av. Corrientes 1234, C1043 CABA", taxId: "CUIT 30-71234567-9" },
  printer: PROFILE_58,
};

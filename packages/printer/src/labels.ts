import type { CashMovementReason, TenderType } from "@mercora/crdt-model";
import type { DateOrder } from "./format.ts";

export type ReceiptLocale = "es-419" | "en";

/** Printed words of one receipt language. */
export interface ReceiptLabels {
  folio: string;
  provisional: string;
  ticket: string;
  terminal: string;
  cashier: string;
  date: string;
  dateOrder: DateOrder;
  offline: string;
  copy: string;
  taxName: string;
  /** Label of the taxable base of one rate, given the tax name with its rate ("IVA 21%"). */
  taxBase: (taxWithRate: string) => string;
  total: string;
  /** Label of the cash rounding adjustment of the total. */
  cashRounding: string;
  change: string;
  tenders: Record<TenderType, string>;
  cashMovement: string;
  cashMovementReasons: Record<CashMovementReason, string>;
  refund: string;
  originalTicket: string;
  /** Title of a void receipt. */
  voidTitle: string;
  voidedTicket: string;
  /** Label of the voided ticket's folio, which stays used. */
  voidedFolio: string;
  stockReceipt: string;
  stockAdjustment: string;
  reason: string;
  thanks: string;
}

const SPANISH: ReceiptLabels = {
  folio: "Folio",
  provisional: "PROVISIONAL",
  ticket: "Ticket",
  terminal: "Terminal",
  cashier: "Cajero",
  date: "Fecha",
  dateOrder: "day-month-year",
  offline: "OFFLINE",
  copy: "COPIA",
  taxName: "IVA",
  taxBase: (taxWithRate) => `Base ${taxWithRate}`,
  total: "TOTAL",
  cashRounding: "REDONDEO",
  change: "CAMBIO",
  tenders: { cash: "EFECTIVO", card: "TARJETA", transfer: "TRANSFERENCIA", other: "OTRO" },
  cashMovement: "MOVIMIENTO DE CAJA",
  cashMovementReasons: {
    "opening-float": "Fondo inicial",
    "cash-in": "Entrada de efectivo",
    "cash-out": "Salida de efectivo",
    "closing-count": "Arqueo de cierre",
  },
  refund: "DEVOLUCIÓN",
  originalTicket: "Ticket original",
  voidTitle: "*** ANULACIÓN ***",
  voidedTicket: "Ticket anulado",
  voidedFolio: "Folio anulado",
  stockReceipt: "INGRESO DE MERCADERÍA",
  stockAdjustment: "AJUSTE DE STOCK",
  reason: "Motivo",
  thanks: "¡Gracias por su compra!",
};

const ENGLISH: ReceiptLabels = {
  folio: "Folio",
  provisional: "PROVISIONAL",
  ticket: "Ticket",
  terminal: "Terminal",
  cashier: "Cashier",
  date: "Date",
  dateOrder: "month-day-year",
  offline: "OFFLINE",
  copy: "COPY",
  taxName: "VAT",
  taxBase: (taxWithRate) => `${taxWithRate} base`,
  total: "TOTAL",
  cashRounding: "ROUNDING",
  change: "CHANGE",
  tenders: { cash: "CASH", card: "CARD", transfer: "TRANSFER", other: "OTHER" },
  cashMovement: "CASH MOVEMENT",
  cashMovementReasons: {
    "opening-float": "Opening float",
    "cash-in": "Cash in",
    "cash-out": "Cash out",
    "closing-count": "Closing count",
  },
  refund: "REFUND",
  originalTicket: "Original ticket",
  voidTitle: "*** VOID ***",
  voidedTicket: "Voided ticket",
  voidedFolio: "Voided folio",
  stockReceipt: "STOCK RECEIPT",
  stockAdjustment: "STOCK ADJUSTMENT",
  reason: "Reason",
  thanks: "Thank you for your purchase!",
};

export function labelsFor(locale: ReceiptLocale): ReceiptLabels {
  return locale === "en" ? ENGLISH : SPANISH;
}

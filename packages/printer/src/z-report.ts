import type { ZReport } from "@mercora/crdt-model";
import type { EscPosReceiptOptions } from "./escpos.ts";
import { COLUMNS_BY_PAPER_WIDTH, renderLinesEscPos } from "./escpos.ts";
import { createAmountFormatter } from "./format.ts";
import type { ReceiptOptions } from "./receipt.ts";
import { alignPair, centerLines, cleanText } from "./text.ts";

const LABELS = {
  "es-419": {
    title: "REPORTE Z (CIERRE DEL DÍA)",
    day: "Día",
    terminals: "Terminales",
    sales: "Ventas",
    refunds: "Devoluciones",
    voids: "Anulaciones",
    net: "Neto",
    tax: "Impuestos",
    rounding: "Redondeo de efectivo",
    base: "Base",
    tenders: { cash: "Efectivo", card: "Tarjeta", transfer: "Transferencia", other: "Otro" },
    session: "Sesión de caja",
    float: "Fondo inicial",
    cashSales: "Ventas en efectivo",
    cashRefunds: "Devoluciones en efectivo",
    cashVoids: "Anulaciones en efectivo",
    cashIn: "Entradas",
    cashOut: "Salidas",
    expected: "Esperado",
    counted: "Contado",
    difference: "Diferencia",
    open: "abierta",
  },
  en: {
    title: "Z REPORT (END OF DAY)",
    day: "Day",
    terminals: "Terminals",
    sales: "Sales",
    refunds: "Refunds",
    voids: "Voids",
    net: "Net",
    tax: "Tax",
    rounding: "Cash rounding",
    base: "Base",
    tenders: { cash: "Cash", card: "Card", transfer: "Transfer", other: "Other" },
    session: "Cash session",
    float: "Opening float",
    cashSales: "Cash sales",
    cashRefunds: "Cash refunds",
    cashVoids: "Cash voids",
    cashIn: "Cash in",
    cashOut: "Cash out",
    expected: "Expected",
    counted: "Counted",
    difference: "Difference",
    open: "open",
  },
} as const;

function percent(rateBp: number): string {
  return `${(rateBp / 100).toString()}%`;
}

/**
 * Lays out a Z report as lines of at most `width` characters: totals of
 * sales and refunds, tax per rate, tenders, and every cash session with
 * expected, counted and difference.
 */
export function zReportLines(report: ZReport, options: ReceiptOptions, width: number, clean: (text: string) => string = cleanText): string[] {
  const locale = options.locale ?? "es-419";
  const labels = LABELS[locale];
  const amount = createAmountFormatter(options.currency, options.minorUnitDigits, locale);
  const money = (minor: number) => clean(amount(minor));
  const pair = (left: string, right: string) => alignPair(clean(left), right, width);
  const line = "-".repeat(width);
  const out: string[] = [...centerLines(clean(labels.title), width), line];
  out.push(...pair(labels.day, report.businessDay), ...pair(labels.terminals, report.terminals.join(", ") || "-"), line);
  out.push(...pair(`${labels.sales} (${report.sales.count})`, money(report.sales.total)));
  out.push(...pair(`${labels.refunds} (${report.refunds.count})`, money(-report.refunds.total)));
  // Reports built before voids existed have no voids section.
  if (report.voids?.count) out.push(...pair(`${labels.voids} (${report.voids.count})`, money(-report.voids.total)));
  out.push(...pair(labels.net, money(report.net.total)));
  if (report.sales.cashRounding - report.refunds.cashRounding !== 0) {
    out.push(...pair(labels.rounding, money(report.sales.cashRounding - report.refunds.cashRounding)));
  }
  out.push(line);
  for (const tax of report.taxes) {
    out.push(...pair(`${labels.base} ${percent(tax.rateBp)}`, money(tax.base)));
    out.push(...pair(`${labels.tax} ${percent(tax.rateBp)}`, money(tax.tax)));
  }
  out.push(...pair(labels.tax, money(report.net.tax)), line);
  for (const [type, amounts] of Object.entries(report.tenders) as [keyof typeof labels.tenders, { sales: number; refunds: number; voids?: number }][]) {
    const voids = amounts.voids ?? 0;
    if (amounts.sales === 0 && amounts.refunds === 0 && voids === 0) continue;
    out.push(...pair(labels.tenders[type], money(amounts.sales - amounts.refunds - voids)));
  }
  for (const session of report.sessions) {
    out.push(line, ...pair(labels.session, session.terminal));
    out.push(...pair(labels.float, money(session.openingFloat)));
    out.push(...pair(labels.cashSales, money(session.cashSales)));
    if (session.cashRefunds) out.push(...pair(labels.cashRefunds, money(-session.cashRefunds)));
    if (session.cashVoids) out.push(...pair(labels.cashVoids, money(-session.cashVoids)));
    if (session.cashIn) out.push(...pair(labels.cashIn, money(session.cashIn)));
    if (session.cashOut) out.push(...pair(labels.cashOut, money(-session.cashOut)));
    out.push(...pair(labels.expected, money(session.expected)));
    out.push(...pair(labels.counted, session.counted === null ? labels.open : money(session.counted)));
    if (session.difference !== null) out.push(...pair(labels.difference, money(session.difference)));
  }
  return out;
}

/** Renders a Z report as plain text for screens, logs and text printers. */
export function renderZReportText(report: ZReport, options: ReceiptOptions): string {
  const name = centerLines(cleanText(options.store.name), options.columns);
  return [...name, ...zReportLines(report, options, options.columns)].join("\n") + "\n";
}

/** Renders a Z report as an ESC/POS job for the profile's paper and code page. */
export function renderZReportEscPos(report: ZReport, options: EscPosReceiptOptions): Uint8Array {
  const columns = COLUMNS_BY_PAPER_WIDTH[options.printer.paperWidth];
  return renderLinesEscPos(options.store.name, zReportLines(report, { ...options, columns }, columns), options);
}

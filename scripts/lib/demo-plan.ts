/**
 * Deterministic plan of the demonstration store: which catalog product is the
 * contested SKU, and which tickets of the sales trace each terminal rings up,
 * with lines, quantities, totals and tenders computed before the run starts.
 */
import { readFile } from "node:fs/promises";
import { parseCatalogCsv } from "@mercora/crdt-model";
import type { ProductInput, Tender } from "@mercora/crdt-model";
import { compressTime, mapStockCodesToSkus, parseTraceCsv } from "./trace.ts";

/** A terminal of the demonstration store and the cashier who works it. */
export interface DemoTerminal {
  branch: string;
  id: string;
  cashier: string;
}

/** Branches and terminals of the demonstration store, in the order tickets are dealt to them. */
export const DEMO_BRANCHES = [
  { id: "A", name: "Sucursal Centro", timeZone: "America/Argentina/Buenos_Aires", terminals: ["T1", "T2", "T3"] },
  { id: "B", name: "Sucursal Norte", timeZone: "America/Argentina/Buenos_Aires", terminals: ["T1"] },
] as const;

export const DEMO_TERMINALS: DemoTerminal[] = [
  { branch: "A", id: "T1", cashier: "Lucía" },
  { branch: "A", id: "T2", cashier: "Martín" },
  { branch: "A", id: "T3", cashier: "Sofía" },
  { branch: "B", id: "T1", cashier: "Diego" },
];

/** Opening stock of every SKU in every branch, except the contested SKU in branch A. */
export const OPENING_STOCK = 40;
/** Branch whose WAN goes down and where two terminals sell the contested SKU's last unit. */
export const CONTESTED_BRANCH = "A";
export const CONTESTED_OPENING_STOCK = 1;
/** Opening float of each cash drawer, in centavos (ARS 5,000). */
export const OPENING_FLOAT = 500_000;

/** Maximum quantity of a replayed line, because the trace is wholesale and often sells dozens of units a line. */
export const MAX_UNITS_PER_LINE = 3;
export const MAX_LINES_PER_TICKET = 8;
/** The plan never sells a branch's stock of a SKU below this many units, so shelves are not emptied. */
export const STOCK_FLOOR = 5;
/**
 * Tickets per second of selling time that the default plan replays: 6 per second
 * replays the whole trace (478 tickets) in the default 80 seconds, and a shorter
 * run replays the earliest tickets.
 */
// NOTE: 6 tickets per second is an estimate of a sustainable load. Four terminals ringing up
// 40 eight-line tickets each, back to back, reached about 12 tickets per second on a 2-core
// machine in one trial, and this keeps to half of that.
export const DEFAULT_TICKETS_PER_SECOND = 6;

/** Cash is handed over rounded up to the next 10 pesos (1000 centavos). */
const CASH_ROUNDING = 1000;

export const CATALOG_PATH = new URL("../../data/catalog/precios-claros-25-1-1.csv", import.meta.url);
export const TRACE_PATH = new URL("../../data/trace/online-retail-uci-2011-10-03_2011-10-07.csv", import.meta.url);

/** Line of a planned ticket, priced from the catalog. */
export interface PlannedLine {
  sku: string;
  name: string;
  qty: number;
  /** Shelf price in centavos, tax included. */
  unitPrice: number;
}

/** Ticket that one terminal rings up at a fixed time after selling starts. */
export interface PlannedTicket {
  invoiceNo: string;
  /** Index into {@link DEMO_TERMINALS}. */
  terminal: number;
  offsetMs: number;
  lines: PlannedLine[];
  /** Ticket total in centavos. */
  total: number;
  tenders: Tender[];
  requestId: string;
}

/** Trading day of the trace and when its first planned ticket is rung up. */
export interface TraceDay {
  /** Date of the trace day, YYYY-MM-DD. */
  date: string;
  offsetMs: number;
  tickets: number;
}

export interface DemoPlan {
  catalogCsv: string;
  products: Map<string, ProductInput>;
  contested: ProductInput;
  tickets: PlannedTicket[];
  /** Trace days of the planned tickets, in order. */
  days: TraceDay[];
  trace: {
    tickets: number;
    cancellations: number;
    skippedLines: number;
    stockCodes: number;
  };
  /** Trace tickets left out because of the ticket cap. */
  overCap: number;
  /** Trace tickets left out because the stock floor removed all their lines. */
  emptied: number;
  /** Trace lines dropped from kept tickets by the line cap or the stock floor. */
  droppedLines: number;
}

/**
 * Reads the catalog and the trace and plans the replay: maps trace stock codes
 * onto catalog SKUs, picks the contested SKU, deals tickets to terminals by
 * invoice number and schedules them over `durationMs`.
 */
export async function planDemo(options: { durationMs: number; maxTickets: number | null }): Promise<DemoPlan> {
  const [catalogCsv, traceCsv] = await Promise.all([readFile(CATALOG_PATH, "utf8"), readFile(TRACE_PATH, "utf8")]);
  const catalog = parseCatalogCsv(catalogCsv);
  if (catalog.products.length === 0) throw new Error(`Catalog ${CATALOG_PATH.pathname} contains no valid product`);
  const products = new Map(catalog.products.map((product) => [product.sku, product]));

  const trace = parseTraceCsv(traceCsv);
  const stockCodes = trace.tickets.flatMap((ticket) => ticket.lines.map((line) => line.stockCode));
  const skuOf = mapStockCodesToSkus(stockCodes, [...products.keys()]);
  const contested = pickContested(catalog.products, new Set(skuOf.values()));

  const defaultCap = Math.max(1, Math.floor((options.durationMs / 1000) * DEFAULT_TICKETS_PER_SECOND));
  const cap = options.maxTickets ?? defaultCap;
  const chosen = [...trace.tickets].sort((a, b) => a.at.getTime() - b.at.getTime()).slice(0, cap);
  const overCap = trace.tickets.length - chosen.length;

  // Units the plan has left to sell per branch and SKU, above the stock floor.
  const sellable = new Map<string, Map<string, number>>(DEMO_BRANCHES.map((branch) => [branch.id, new Map()]));
  const tickets: PlannedTicket[] = [];
  const days: TraceDay[] = [];
  let emptied = 0;
  let droppedLines = 0;
  for (const { ticket, offsetMs } of compressTime(chosen, options.durationMs)) {
    const terminal = invoiceNumber(ticket.invoiceNo) % DEMO_TERMINALS.length;
    const branchStock = sellable.get(DEMO_TERMINALS[terminal]!.branch)!;

    // A stock code can appear on several lines of an invoice: sell it as one line.
    const quantities = new Map<string, number>();
    for (const line of ticket.lines) {
      const sku = skuOf.get(line.stockCode)!;
      quantities.set(sku, (quantities.get(sku) ?? 0) + line.quantity);
    }
    const lines: PlannedLine[] = [];
    for (const [sku, traceQty] of quantities) {
      if (lines.length === MAX_LINES_PER_TICKET) break;
      const left = branchStock.get(sku) ?? OPENING_STOCK - STOCK_FLOOR;
      const qty = Math.min(traceQty, MAX_UNITS_PER_LINE, left);
      if (qty <= 0) continue;
      branchStock.set(sku, left - qty);
      const product = products.get(sku)!;
      lines.push({ sku, name: product.name, qty, unitPrice: product.price });
    }
    droppedLines += quantities.size - lines.length;
    if (lines.length === 0) {
      emptied += 1;
      continue;
    }
    const date = ticket.at.toISOString().slice(0, 10);
    if (days.at(-1)?.date !== date) days.push({ date, offsetMs, tickets: 0 });
    days.at(-1)!.tickets += 1;
    const total = lines.reduce((sum, line) => sum + line.unitPrice * line.qty, 0);
    tickets.push({
      invoiceNo: ticket.invoiceNo,
      terminal,
      offsetMs,
      lines,
      total,
      tenders: tendersFor(invoiceNumber(ticket.invoiceNo), total),
      requestId: `demo-trace-${ticket.invoiceNo}`,
    });
  }

  return {
    catalogCsv,
    products,
    contested,
    tickets,
    days,
    trace: {
      tickets: trace.tickets.length,
      cancellations: trace.cancellations,
      skippedLines: trace.skippedLines.length,
      stockCodes: new Set(stockCodes).size,
    },
    overCap,
    emptied,
    droppedLines,
  };
}

/**
 * Picks the most expensive catalog product that no trace stock code maps to
 * (ties go to the lowest SKU), so the trace never sells it and only the two
 * contested sales touch its single unit.
 */
function pickContested(products: ProductInput[], tracedSkus: Set<string>): ProductInput {
  const candidates = products
    .filter((product) => !tracedSkus.has(product.sku) && product.active)
    .sort((a, b) => b.price - a.price || (a.sku < b.sku ? -1 : 1));
  const first = candidates[0];
  if (!first) throw new Error("Every catalog SKU is sold by the trace; no SKU is left to be the contested SKU");
  return first;
}

/** Reads the digits of an invoice number such as "569239", or returns a character sum for an invoice number without digits. */
function invoiceNumber(invoiceNo: string): number {
  const digits = invoiceNo.replace(/\D/g, "");
  if (digits !== "") return Number(digits.slice(-9));
  return [...invoiceNo].reduce((sum, char) => sum + char.charCodeAt(0), 0);
}

/**
 * Chooses the tenders of a ticket from its invoice number: 30% cash, 40% card,
 * 20% cash and card, 10% transfer. Cash alone is handed over rounded up to the
 * next 10 pesos and gets change. A split pays about half in 10-peso bills and
 * the rest by card.
 */
export function tendersFor(invoice: number, total: number): Tender[] {
  const mix = Math.floor(invoice / DEMO_TERMINALS.length) % 10;
  if (mix < 3) return [{ type: "cash", amount: Math.ceil(total / CASH_ROUNDING) * CASH_ROUNDING }];
  if (mix < 7) return [{ type: "card", amount: total }];
  if (mix < 9) {
    const cash = Math.floor(total / 2 / CASH_ROUNDING) * CASH_ROUNDING;
    if (cash === 0) return [{ type: "card", amount: total }];
    return [
      { type: "cash", amount: cash },
      { type: "card", amount: total - cash },
    ];
  }
  return [{ type: "transfer", amount: total }];
}

/** Cash that a sale leaves in the drawer: cash tendered minus change, in centavos. */
export function cashKept(tenders: Tender[], change: number): number {
  return tenders.filter((tender) => tender.type === "cash").reduce((sum, tender) => sum + tender.amount, 0) - change;
}

const PESOS = new Intl.NumberFormat("es-AR", { style: "currency", currency: "ARS" });

/** Formats centavos as Argentine pesos, e.g. "$ 1.016,99". */
export function formatPesos(centavos: number): string {
  return PESOS.format(centavos / 100);
}

/** Returns "A/T1" for a terminal. */
export function terminalLabel(terminal: { branch: string; id: string }): string {
  return `${terminal.branch}/${terminal.id}`;
}

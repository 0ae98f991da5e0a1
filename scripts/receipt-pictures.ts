/**
 * Makes docs/images/receipt-58mm.png and docs/images/receipt-80mm.png from
 * real ESC/POS bytes. It renders a sample sale with renderReceiptEscPos and
 * decodes the bytes with the test decoder (npos and iconv-lite). It lays the
 * printed lines out at one CSS pixel per printer dot (Font A is 12 x 24
 * dots, double width 24 x 24) and captures the page with Debian's headless
 * Chromium through playwright-core. Run it by hand, not by npm test:
 *
 *   apt-get install -y chromium
 *   node --import tsx scripts/receipt-pictures.ts
 */
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import QRCode from "qrcode";
import type { LedgerRecord } from "@mercora/crdt-model";
import { renderReceiptEscPos } from "@mercora/printer";
import type { EscPosReceiptOptions, PrinterProfile } from "@mercora/printer";
import { decodeEscPos } from "../packages/printer/test/helpers/escpos-decoder.ts";
import type { DecodedBlock, TextSegment } from "../packages/printer/test/helpers/escpos-decoder.ts";
import { saleLine, saleRecord } from "../packages/printer/test/helpers/records.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const IMAGES = join(ROOT, "docs", "images");
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Font A cell of a 203 dpi printer, in dots. */
const CELL_WIDTH = 12;
const LINE_HEIGHT = 24;
const PRINTABLE_DOTS: Record<PrinterProfile["paperWidth"], number> = { 58: 384, 80: 576 };

const SAMPLE: LedgerRecord = saleRecord({
  at: "2025-03-14T18:45:30.000Z",
  cashier: "María José",
  lines: [
    saleLine({ sku: "7790001", name: "Pan de campo “La Espiga” 1 Kg", unitPrice: 420000, total: 420000, tax: 72893 }),
    saleLine({
      sku: "7790002",
      name: "Medialunas de manteca — docena",
      qty: 2,
      unitPrice: 360000,
      taxCode: "IVA105",
      taxRateBp: 1050,
      total: 720000,
      tax: 68416,
    }),
    saleLine({ sku: "7790003", name: "Café con leche", unitPrice: 250000, total: 250000, tax: 43388 }),
  ],
  tenders: [{ type: "cash", amount: 1500000 }],
  total: 1390000,
  tax: 184697,
  change: 110000,
});

function options(paperWidth: PrinterProfile["paperWidth"]): EscPosReceiptOptions {
  return {
    currency: "ARS",
    minorUnitDigits: 2,
    store: { name: "Panadería La Espiga", address: "Av. Corrientes 1234, C1043 CABA", taxId: "CUIT 30-71234567-9" },
    folio: { number: "0001-00000042", provisional: true },
    hash: "9f2c61a04be37d15",
    printer: { paperWidth, codePage: "cp850", cutter: "partial", cashDrawer: true },
  };
}

function escapeHtml(text: string): string {
  return text.replace(/&/gu, "&amp;").replace(/</gu, "&lt;").replace(/>/gu, "&gt;").replace(/"/gu, "&quot;");
}

/** Builds one cell per printed character, so double-width characters take two cells as on paper. */
function segmentHtml(segment: TextSegment): string {
  const classes = ["c", segment.width === 2 ? "w2" : "", segment.bold ? "b" : ""].filter(Boolean).join(" ");
  return [...segment.text].map((character) => `<span class="${classes}">${escapeHtml(character)}</span>`).join("");
}

function qrSvg(data: string, moduleSize: number): string {
  const modules = QRCode.create(data, { errorCorrectionLevel: "M" }).modules;
  const rects: string[] = [];
  for (let row = 0; row < modules.size; row++) {
    for (let column = 0; column < modules.size; column++) {
      if (modules.get(row, column)) rects.push(`<rect x="${column}" y="${row}" width="1" height="1"/>`);
    }
  }
  const side = modules.size * moduleSize;
  return `<svg width="${side}" height="${side}" viewBox="0 0 ${modules.size} ${modules.size}" shape-rendering="crispEdges">${rects.join("")}</svg>`;
}

function blockHtml(block: DecodedBlock): string {
  switch (block.kind) {
    case "text":
      return `<div class="line" style="text-align:${block.align}">${block.segments.map(segmentHtml).join("")}</div>`;
    case "feed":
      return `<div style="height:${block.lines * LINE_HEIGHT}px"></div>`;
    case "qr":
      return `<div class="qr" style="text-align:${block.align}">${qrSvg(block.data, block.moduleSize ?? 3)}</div>`;
    case "cut":
      return `<div class="cut">${block.partial ? "partial cut" : "full cut"} (GS V)</div>`;
    case "pulse":
      return `<div class="note">drawer kick (ESC p, pin ${block.pin + 2}, ${block.onMs} ms)</div>`;
  }
}

function pageHtml(blocks: DecodedBlock[], paperWidth: PrinterProfile["paperWidth"]): string {
  const printable = PRINTABLE_DOTS[paperWidth];
  return `<!doctype html><html><head><meta charset="utf-8"><style>
    body { margin: 0; padding: 24px; background: #d9d9d9; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }
    .paper { width: ${printable}px; padding: 24px 16px 8px; background: #fff; box-shadow: 0 1px 4px rgba(0,0,0,.35); }
    .line { height: ${LINE_HEIGHT}px; line-height: ${LINE_HEIGHT}px; white-space: pre; font-size: 20px; }
    .c { display: inline-block; width: ${CELL_WIDTH}px; text-align: center; }
    .w2 { width: ${2 * CELL_WIDTH}px; transform: scaleX(2); }
    .b { font-weight: bold; }
    .qr { padding: 4px 0; }
    .qr svg { display: inline-block; }
    .cut { border-top: 2px dashed #888; margin: 4px -16px 0; padding: 4px 16px 0; color: #777; font: 13px sans-serif; }
    .note { color: #777; font: 13px sans-serif; padding: 2px 0; }
    h1 { font: bold 15px sans-serif; margin: 0 0 12px; }
  </style></head><body>
    <h1>${paperWidth} mm, ${printable} dots, ${printable / CELL_WIDTH} columns, code page PC850</h1>
    <div class="paper">${blocks.map(blockHtml).join("\n")}</div>
  </body></html>`;
}

async function main(): Promise<void> {
  await mkdir(IMAGES, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    for (const paperWidth of [58, 80] as const) {
      const bytes = renderReceiptEscPos(SAMPLE, options(paperWidth));
      const job = decodeEscPos(bytes);
      const page = await browser.newPage({ viewport: { width: PRINTABLE_DOTS[paperWidth] + 120, height: 600 } });
      await page.setContent(pageHtml(job.blocks, paperWidth));
      const path = join(IMAGES, `receipt-${paperWidth}mm.png`);
      await page.screenshot({ path, fullPage: true });
      await page.close();
      console.log(`wrote ${path} from ${bytes.length} bytes of ESC/POS`);
    }
  } finally {
    await browser.close();
  }
}

await main();

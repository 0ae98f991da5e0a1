import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { formatAmount, parseReceiptQrData } from "@mercora/printer";
import type { PrintSpoolStatus } from "@mercora/printer";
import { decodeEscPos } from "../packages/printer/test/helpers/escpos-decoder.ts";
import type { DecodedJob } from "../packages/printer/test/helpers/escpos-decoder.ts";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { TestPrinter } from "../scripts/lib/test-printer.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";
const COLUMNS_58_MM = 32;

describe("printer end to end", function () {
  const { csv, products } = smallCatalog(40);
  const product = products[3]!;
  const printer = new TestPrinter();
  let fixture: Awaited<ReturnType<typeof startStore>> | undefined;
  let http = "";

  before(async function () {
    await printer.start();
    fixture = await startStore(
      [{ id: "A", name: "Panadería La Espiga", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 20 } }],
      csv,
      ["--printer", printer.url, "--printer-width", "58", "--printer-code-page", "cp850"],
    );
    http = fixture.store.terminal("A", "T1").http;
  });

  after(async function () {
    await fixture?.stop();
    await printer.stop();
  });

  async function spoolFiles(): Promise<string[]> {
    const folder = join(fixture!.store.terminal("A", "T1").dataDir, "spool");
    return (await readdir(folder)).filter((name) => name.endsWith(".json"));
  }

  async function waitForFault(): Promise<PrintSpoolStatus> {
    return waitFor("the printer fault on /status", async () => {
      const status = await printerStatus();
      return status.state === "fault" ? status : undefined;
    }, 20_000);
  }

  async function printerStatus(): Promise<PrintSpoolStatus> {
    const status = await api<{ printer: PrintSpoolStatus }>(http, "/status");
    return status.body.printer;
  }

  function totalLine(job: DecodedJob): { text: string; width: number } {
    const index = job.lines.findIndex((line) => line.startsWith("TOTAL"));
    expect(index, `TOTAL line in ${JSON.stringify(job.lines)}`).to.be.greaterThan(-1);
    return { text: job.lines[index]!, width: job.lineWidths[index]! };
  }

  it("prints a cash sale", async function () {
    const sale = await sell(http, product, 2);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    await printer.waitFor("the sale's receipt", () => printer.completedJobs().length === 1, 30_000);

    const job = decodeEscPos(printer.completedJobs()[0]!);
    const total = formatAmount(product.price * 2, "ARS", 2, "es-419");
    const line = totalLine(job);
    expect(line.text.endsWith(total), `${line.text} ends with ${total}`).to.equal(true);
    expect(line.width, "TOTAL line width").to.equal(COLUMNS_58_MM);
    expect(job.blocks.filter((block) => block.kind === "pulse"), "drawer kick").to.have.length(1);
    expect(job.blocks.at(-1), "last block").to.deep.equal({ kind: "cut", partial: true });
    const qr = parseReceiptQrData(job.qrCodes[0]!.data);
    // The store's folio scheme numbers tickets at the terminal, so the QR code carries the folio and the hash.
    expect(qr.folio).to.equal((sale.body.record as unknown as { folio: string }).folio);
    expect(qr.hash).to.equal((sale.body.record as unknown as { hash: string }).hash);
    expect(qr.terminal).to.equal("T1");

    // The printer has the whole job before the terminal gets the printer's close, so /status can lag briefly.
    const status = await waitFor("the receipt to count as printed", async () => {
      const current = await printerStatus();
      return current.printed === 1 ? current : undefined;
    }, 10_000);
    expect(status).to.include({ state: "ok", target: printer.url, queued: 0 });
  });

  it("reprints a copy without a drawer kick", async function () {
    const sale = await sell(http, product, 1);
    await printer.waitFor("the sale's receipt", () => printer.completedJobs().length === 2, 30_000);
    const reprint = await api(http, `/records/${sale.body.record.id}/reprint`, { method: "POST" });
    expect(reprint.status).to.equal(202);
    await printer.waitFor("the copy", () => printer.completedJobs().length === 3, 30_000);
    const copy = decodeEscPos(printer.completedJobs()[2]!);
    expect(copy.lines.some((line) => line.includes("COPIA")), JSON.stringify(copy.lines)).to.equal(true);
    expect(copy.blocks.filter((block) => block.kind === "pulse"), "no drawer kick").to.have.length(0);
  });

  it("prints the Z report at the till", async function () {
    const status = await api<{ ledgers: { businessDay: string }[] }>(http, "/status");
    const day = status.body.ledgers[0]!.businessDay;
    const before = printer.completedJobs().length;
    const printed = await api(http, `/reports/z/print?day=${day}`, { method: "POST" });
    expect(printed.status, JSON.stringify(printed.body)).to.equal(202);
    await printer.waitFor("the Z report", () => printer.completedJobs().length === before + 1, 30_000);
    const job = decodeEscPos(printer.completedJobs().at(-1)!);
    expect(job.lines.some((line) => line.includes("REPORTE Z")), JSON.stringify(job.lines)).to.equal(true);
    expect(job.lines.some((line) => line.startsWith("Ventas (2)")), JSON.stringify(job.lines)).to.equal(true);
  });

  it("queues receipts while the printer is down", async function () {
    await printer.stop();
    const jobsBefore = printer.completedJobs().length;
    const printedBefore = (await printerStatus()).printed;
    const sale = await sell(http, product, 1);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    const stored = await api(http, `/records/${sale.body.record.id}`);
    expect(stored.status, "sale readable while the printer is down").to.equal(200);

    const fault = await waitForFault();
    expect(fault.queued, "queued receipts").to.equal(1);
    expect(await spoolFiles(), "job files in the spool folder").to.have.length(1);
    expect(fault.lastError).to.match(/connection refused/);
    expect(fault.lastError).to.include(printer.url);

    // From here on the test sends no request to the terminal until the receipt arrives.
    await printer.start();
    await printer.waitFor("the queued receipt", () => printer.completedJobs().length === jobsBefore + 1, 60_000);

    const job = decodeEscPos(printer.completedJobs().at(-1)!);
    expect(parseReceiptQrData(job.qrCodes[0]!.data).folio).to.equal((sale.body.record as unknown as { folio: string }).folio);
    expect(totalLine(job).text.endsWith(formatAmount(product.price, "ARS", 2, "es-419"))).to.equal(true);
    const recovered = await waitFor("the printer to be ok on /status", async () => {
      const status = await printerStatus();
      return status.state === "ok" && status.printed === printedBefore + 1 ? status : undefined;
    }, 10_000);
    expect(recovered).to.include({ queued: 0, failed: 0 });
    expect(await spoolFiles(), "job files after printing").to.deep.equal([]);
  });

  it("prints queued receipts after a crash", async function () {
    await printer.stop();
    const jobsBefore = printer.completedJobs().length;
    const sale = await sell(http, product, 1);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    await waitForFault();

    await fixture!.store.killTerminal("A", "T1");
    await printer.start();
    http = (await fixture!.store.restartTerminal("A", "T1")).http;
    await printer.waitFor("the receipt queued before the crash", () => printer.completedJobs().length === jobsBefore + 1, 60_000);
    const job = decodeEscPos(printer.completedJobs().at(-1)!);
    expect(parseReceiptQrData(job.qrCodes[0]!.data).folio).to.equal((sale.body.record as unknown as { folio: string }).folio);
  });
});

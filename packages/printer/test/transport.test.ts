import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { PrinterFault, describePrinterTarget, parsePrinterTarget, sendToPrinter } from "@mercora/printer";
import type { PrinterFaultKind } from "@mercora/printer";
import { TestPrinter } from "../../../scripts/lib/test-printer.ts";

const JOB = Uint8Array.from([0x1b, 0x40, 0x41, 0x0a, 0x1d, 0x56, 0x01]);

async function faultOf(promise: Promise<void>): Promise<PrinterFault> {
  try {
    await promise;
  } catch (error) {
    expect(error, "rejection").to.be.instanceOf(PrinterFault);
    return error as PrinterFault;
  }
  throw new Error("send succeeded, expected a PrinterFault");
}

describe("parsePrinterTarget", () => {
  it("reads the four forms", () => {
    expect(parsePrinterTarget("tcp://127.0.0.1:9100")).to.deep.equal({ kind: "tcp", host: "127.0.0.1", port: 9100 });
    expect(parsePrinterTarget("tcp://[::1]:9100")).to.deep.equal({ kind: "tcp", host: "::1", port: 9100 });
    expect(parsePrinterTarget("device:/dev/usb/lp0")).to.deep.equal({ kind: "device", path: "/dev/usb/lp0" });
    expect(parsePrinterTarget("file:receipts.bin")).to.deep.equal({ kind: "file", path: "receipts.bin" });
    expect(parsePrinterTarget("none")).to.equal(null);
  });

  it("requires an explicit port", () => {
    expect(() => parsePrinterTarget("tcp://127.0.0.1")).to.throw(RangeError, /9100/);
    expect(() => parsePrinterTarget("tcp://127.0.0.1:70000")).to.throw(RangeError, /70000/);
  });

  it("rejects other forms", () => {
    expect(() => parsePrinterTarget("127.0.0.1:9100")).to.throw(RangeError, /127\.0\.0\.1:9100/);
    expect(() => parsePrinterTarget("device:")).to.throw(RangeError, /no path/);
  });

  it("describes targets as parsed", () => {
    for (const value of ["tcp://127.0.0.1:9100", "tcp://[::1]:9100", "device:/dev/usb/lp0", "file:/tmp/x.bin"]) {
      expect(describePrinterTarget(parsePrinterTarget(value)!)).to.equal(value);
    }
  });
});

describe("sendToPrinter", () => {
  let printer: TestPrinter;
  let folder = "";

  beforeEach(async () => {
    printer = new TestPrinter();
    await printer.start();
    folder = await mkdtemp(join(tmpdir(), "mercora-transport-"));
  });

  afterEach(async () => {
    await printer.stop();
    await rm(folder, { recursive: true, force: true });
  });

  const tcp = () => ({ kind: "tcp" as const, host: "127.0.0.1", port: printer.port });

  it("delivers a job over TCP", async () => {
    await sendToPrinter(JOB, tcp(), { timeoutMs: 5000 });
    await printer.waitFor("the job to close", () => printer.completedJobs().length === 1, 5000);
    expect([...printer.completedJobs()[0]!]).to.deep.equal([...JOB]);
  });

  const faults: [string, (p: TestPrinter) => Promise<void> | void, PrinterFaultKind, RegExp][] = [
    ["reports a refused connection", (p) => p.stop(), "refused", /ECONNREFUSED/],
    ["reports an early close", (p) => void (p.mode = "reset"), "closed", /closed/],
    ["reports a stalled printer", (p) => void (p.mode = "stall"), "timeout", /within 300 ms/],
  ];
  for (const [name, breakPrinter, kind, message] of faults) {
    it(name, async () => {
      await breakPrinter(printer);
      const fault = await faultOf(sendToPrinter(JOB, tcp(), { timeoutMs: 300 }));
      expect(fault.kind, fault.message).to.equal(kind);
      expect(fault.message).to.match(message);
      expect(fault.message).to.include(`tcp://127.0.0.1:${printer.port}`);
    });
  }

  it("aborts a send in progress", async () => {
    printer.mode = "stall";
    const controller = new AbortController();
    const sending = sendToPrinter(JOB, tcp(), { timeoutMs: 5000, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const fault = await faultOf(sending);
    expect(fault.message).to.match(/aborted/);
  });

  it("appends jobs to a file", async () => {
    const path = join(folder, "out", "jobs.bin");
    await sendToPrinter(JOB, { kind: "file", path });
    await sendToPrinter(JOB, { kind: "file", path });
    expect([...(await readFile(path))]).to.deep.equal([...JOB, ...JOB]);
  });

  it("appends jobs to a device", async () => {
    // A regular file takes the place of /dev/usb/lp0, because the device must exist beforehand.
    const path = join(folder, "lp0");
    await writeFile(path, "");
    await sendToPrinter(JOB, { kind: "device", path });
    expect([...(await readFile(path))]).to.deep.equal([...JOB]);
  });

  it("reports a missing device", async () => {
    const path = join(folder, "lp9");
    const fault = await faultOf(sendToPrinter(JOB, { kind: "device", path }));
    expect(fault.kind).to.equal("io");
    expect(fault.message).to.include("ENOENT");
    const created = await access(path).then(() => true, () => false);
    expect(created, "device path created").to.equal(false);
  });
});

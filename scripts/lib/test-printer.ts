/**
 * A stand-in for a network receipt printer: a TCP server on 127.0.0.1 that
 * keeps every byte it receives, per connection, like a printer's raw port
 * (9100 on real printers). It can be stopped and started again on the same
 * port, and it can misbehave the way faulty printers do.
 *
 * Run by hand to watch what a terminal sends:
 *   node --import tsx scripts/lib/test-printer.ts [PORT]
 */
import net from "node:net";
import { pathToFileURL } from "node:url";

/**
 * Behaviour of the test printer on each connection. "print" reads the job
 * and closes after the sender's FIN. "reset" resets each connection as soon
 * as it is accepted, like a printer that closes early. "stall" accepts and
 * never reads or closes, like a printer that times out.
 */
export type TestPrinterMode = "print" | "reset" | "stall";

/** One connection the test printer accepted. */
export interface PrinterConnection {
  id: number;
  openedAt: Date;
  closedAt: Date | null;
  /** Every byte received on the connection, in order. */
  bytes: Buffer;
}

const HOST = "127.0.0.1";

export class TestPrinter {
  readonly connections: PrinterConnection[] = [];
  mode: TestPrinterMode = "print";
  #server: net.Server | null = null;
  #sockets = new Set<net.Socket>();
  #port: number;
  #waiters = new Set<() => void>();

  /** With `port` 0 the first start takes any free port, and later starts reuse that port. */
  constructor(port = 0) {
    this.#port = port;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `tcp://${HOST}:${this.#port}`;
  }

  get listening(): boolean {
    return this.#server !== null;
  }

  /** Starts listening on 127.0.0.1 and resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) return this.#port;
    const server = net.createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address === "object" && address) this.#port = address.port;
    this.#server = server;
    return this.#port;
  }

  /** Stops listening and drops open connections, so new connections are refused. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Returns all bytes received on every connection, in connection order. */
  received(): Buffer {
    return Buffer.concat(this.connections.map((connection) => connection.bytes));
  }

  /** Returns the bytes of each connection that ended with the sender's FIN, one complete job each. */
  completedJobs(): Buffer[] {
    return this.connections.filter((connection) => connection.closedAt !== null).map((connection) => connection.bytes);
  }

  /**
   * Waits until `condition` holds, checking after every change. Rejects
   * with `description` after `timeoutMs`.
   */
  async waitFor(description: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    if (condition()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`Test printer: timed out after ${timeoutMs} ms waiting for ${description}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #accept(socket: net.Socket): void {
    const connection: PrinterConnection = {
      id: this.connections.length + 1,
      openedAt: new Date(),
      closedAt: null,
      bytes: Buffer.alloc(0),
    };
    if (this.mode === "reset") {
      socket.resetAndDestroy();
      return;
    }
    this.connections.push(connection);
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => undefined);
    if (this.mode === "stall") {
      socket.pause();
      return;
    }
    socket.on("data", (chunk: Buffer) => {
      connection.bytes = Buffer.concat([connection.bytes, chunk]);
      this.#notify();
    });
    socket.on("end", () => {
      connection.closedAt = new Date();
      socket.end();
      this.#notify();
    });
  }
}

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 9100);
  const printer = new TestPrinter(port);
  await printer.start();
  console.log(`test printer listening on ${printer.url} (Ctrl+C stops it)`);
  let reported = 0;
  const timer = setInterval(() => {
    const jobs = printer.completedJobs();
    for (; reported < jobs.length; reported++) {
      const bytes = jobs[reported]!;
      console.log(`job ${reported + 1}: ${bytes.length} bytes, starts ${bytes.subarray(0, 8).toString("hex")}`);
    }
  }, 200);
  process.once("SIGINT", () => {
    clearInterval(timer);
    void printer.stop().then(() => process.exit(0));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) void main();

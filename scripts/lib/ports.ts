import { readFileSync } from "node:fs";
import net from "node:net";

/** Lowest port `freePort` returns. */
const LOWEST_PORT = 10_000;

/** Ports already returned in this process, which the processes they were meant for may not have bound yet. */
const handedOut = new Set<number>();

/**
 * Returns a port that is free on 127.0.0.1, for a process about to be
 * started to listen on it. The port is picked at random below the kernel's
 * range for outgoing connections. A port from that range, as `listen(0)`
 * gives, can be taken by an outgoing connection before the process binds
 * it, and a bench run failed with EADDRINUSE that way.
 */
export async function freePort(): Promise<number> {
  const highest = outgoingRangeStart() - 1;
  if (highest - LOWEST_PORT < 1000) return kernelPort();
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (highest - LOWEST_PORT + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`No free port on 127.0.0.1 between ${LOWEST_PORT} and ${highest} after 100 tries. Stop the processes that hold them and run again.`);
}

/** Returns the first port of the kernel's range for outgoing connections: Linux's setting, or its default 32768. */
function outgoingRangeStart(): number {
  try {
    const first = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Returns a port the kernel picks, for systems whose outgoing range leaves too few ports below it. */
async function kernelPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Websocket echo server on 127.0.0.1 for the loopback round-trip limit. It prints its port and exits on SIGTERM or after 30 minutes. */
import { WebSocketServer } from "ws";

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
server.on("listening", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});
server.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
setTimeout(() => process.exit(0), 30 * 60_000).unref();

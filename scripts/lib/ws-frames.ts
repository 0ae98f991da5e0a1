import { cbor } from "@automerge/automerge-repo";

/** One websocket frame as it crossed a link, with the automerge-repo message it carried. */
export interface LinkMessage {
  /** "up" from the dialing side (a terminal) to the target (the relay), "down" the other way. */
  direction: "up" | "down";
  /** automerge-repo message type ("sync", "request", "ephemeral", ...), or "control" and "unknown". */
  type: string;
  documentId: string | null;
  /** Size of the whole frame on the wire. */
  bytes: number;
}

export type MessageFilter = (message: LinkMessage) => "pass" | "drop";

const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * Splits one direction of a websocket connection into frames: first the
 * HTTP upgrade headers, then RFC 6455 frames. Each
 * whole frame goes to `decide`, and is forwarded unless it returns "drop".
 * Fragmented and compressed frames are passed without decoding, as type
 * "unknown". The relay and terminals compress sync messages when the client
 * offers permessage-deflate, so the splitter removes that offer from the
 * upgrade request: every frame stays readable, and dropping one does not
 * break a compression context.
 */
export class FrameSplitter {
  #buffer: Buffer = Buffer.alloc(0);
  #inHeaders = true;

  constructor(
    private readonly direction: LinkMessage["direction"],
    private readonly decide: (message: LinkMessage) => "pass" | "drop",
    private readonly forward: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#inHeaders) {
      const end = this.#buffer.indexOf(HEADER_END);
      if (end < 0) return;
      const headers = this.#buffer.subarray(0, end + HEADER_END.length);
      this.forward(this.direction === "up" ? withoutExtensions(headers) : headers);
      this.#buffer = this.#buffer.subarray(end + HEADER_END.length);
      this.#inHeaders = false;
    }
    for (;;) {
      const frame = readFrame(this.#buffer);
      if (!frame) return;
      const whole = this.#buffer.subarray(0, frame.length);
      this.#buffer = this.#buffer.subarray(frame.length);
      const message = { direction: this.direction, bytes: frame.length, ...describe(frame) };
      if (this.decide(message) === "pass") this.forward(whole);
    }
  }
}

interface Frame {
  length: number;
  fin: boolean;
  compressed: boolean;
  opcode: number;
  payload: Buffer;
}

function readFrame(buffer: Buffer): Frame | null {
  if (buffer.length < 2) return null;
  const fin = (buffer[0]! & 0x80) !== 0;
  const compressed = (buffer[0]! & 0x40) !== 0;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let size = buffer[1]! & 0x7f;
  let offset = 2;
  if (size === 126) {
    if (buffer.length < 4) return null;
    size = buffer.readUInt16BE(2);
    offset = 4;
  } else if (size === 127) {
    if (buffer.length < 10) return null;
    size = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + size) return null;
  const payload = Buffer.from(buffer.subarray(offset, offset + size));
  if (masked) {
    for (let i = 0; i < payload.length; i++) payload[i]! ^= buffer[maskOffset + (i % 4)]!;
  }
  return { length: offset + size, fin, compressed, opcode, payload };
}

function describe(frame: Frame): { type: string; documentId: string | null } {
  if (frame.opcode >= 8) return { type: "control", documentId: null };
  if (frame.opcode !== 2 || !frame.fin || frame.compressed) return { type: "unknown", documentId: null };
  try {
    const message = cbor.decode(frame.payload) as { type?: unknown; documentId?: unknown };
    return { type: String(message.type ?? "unknown"), documentId: typeof message.documentId === "string" ? message.documentId : null };
  } catch {
    return { type: "unknown", documentId: null };
  }
}

/** Removes the Sec-WebSocket-Extensions lines of an HTTP upgrade request, so no extension is negotiated. */
function withoutExtensions(headers: Buffer): Buffer {
  const text = headers.toString("latin1");
  const kept = text.split("\r\n").filter((line) => !/^sec-websocket-extensions\s*:/i.test(line));
  return Buffer.from(kept.join("\r\n"), "latin1");
}

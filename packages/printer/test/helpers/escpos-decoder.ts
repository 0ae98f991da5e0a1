/**
 * Decodes ESC/POS bytes independently of the encoder that made them: the
 * npos parser splits the bytes into commands and text runs, and iconv-lite
 * decodes the text in the code page that ESC t selected. Used by the
 * printer tests, the end-to-end printer test and scripts/receipt-pictures.ts.
 */
import { createRequire } from "node:module";
import iconv from "iconv-lite";

interface NposNode {
  code: number;
  ascii?: string;
  fn?: string;
  offset: number;
  length: number;
}

interface NposParser {
  analyze(raw: Buffer): { tree: NposNode[] | null; error?: Error };
}

type NposSplitter = number | string | ((buffer: Buffer, offset: number) => number);
type NposRules = Record<string, Record<string, NposSplitter | NposSplitter[]> | number>;

interface NposModule {
  Parser: new (rules: NposRules) => NposParser;
  rules: NposRules;
}

const npos = createRequire(import.meta.url)("npos") as NposModule;

const LF = 0x0a;
const CR = 0x0d;
const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DLE = 0x10;

/** Code pages by their ESC t number, as Epson numbers them. */
const CODE_PAGES_BY_NUMBER: Record<number, string> = { 0: "cp437", 2: "cp850", 16: "windows1252" };

/**
 * Length of GS V's parameters: one byte for functions A (m = 0, 1, 48, 49),
 * two for B (m = 65, 66, with the feed amount). npos's own rule reads past
 * the end when GS V is the last command.
 */
function cutParameterLength(buffer: Buffer, offset: number): number {
  const m = buffer[offset];
  const parameterCount = m === 65 || m === 66 ? 2 : 1;
  return Math.min(parameterCount, buffer.length - offset);
}

/**
 * npos's rules plus GS ( k, the 2D code command (QR codes), which npos
 * lacks: after "(k" come pL and pH, then pL + pH * 256 bytes, the same
 * layout as npos's "d16" splitter.
 */
function decoderRules(): NposRules {
  const rules = structuredClone(npos.rules);
  const gs = rules[GS];
  if (typeof gs !== "object") throw new Error("npos has no GS rules");
  gs["(k"] = [0, "d16"];
  gs["V"] = [0, cutParameterLength];
  return rules;
}

const parser = new npos.Parser(decoderRules());

export type Alignment = "left" | "center" | "right";

/** A run of text printed with one set of styles. */
export interface TextSegment {
  text: string;
  /** Width multiplier from GS !: 1 normal, 2 double width. */
  width: number;
  height: number;
  bold: boolean;
}

/** Something the printer puts on paper or does, in the order of the job. */
export type DecodedBlock =
  | { kind: "text"; segments: TextSegment[]; align: Alignment }
  | { kind: "feed"; lines: number }
  | { kind: "qr"; data: string; model: number | null; moduleSize: number | null; errorLevel: string | null; align: Alignment }
  | { kind: "cut"; partial: boolean }
  | { kind: "pulse"; pin: number; onMs: number; offMs: number };

/** One command or text run as npos split it. */
export interface DecodedCommand {
  /** "ESC @", "GS ( k", "GS V", … or "text". */
  name: string;
  offset: number;
  bytes: number[];
}

export interface DecodedJob {
  commands: DecodedCommand[];
  blocks: DecodedBlock[];
  /** Text of every printed line, segments joined, without trailing spaces. */
  lines: string[];
  /** Printed width of every line in columns: characters times their width multiplier. */
  lineWidths: number[];
  qrCodes: Extract<DecodedBlock, { kind: "qr" }>[];
}

const ALIGNMENTS: Record<number, Alignment> = { 0: "left", 1: "center", 2: "right", 48: "left", 49: "center", 50: "right" };
const QR_ERROR_LEVELS: Record<number, string> = { 0x30: "L", 0x31: "M", 0x32: "Q", 0x33: "H" };

function commandName(node: NposNode): string {
  if (node.ascii === "STX") return "text";
  const fn = (node.fn ?? "").split("").join(" ");
  return fn === "" ? (node.ascii ?? `0x${node.code.toString(16)}`) : `${node.ascii} ${fn}`;
}

/** Printed width of one line of segments, in columns of normal-width characters. */
export function segmentsWidth(segments: TextSegment[]): number {
  return segments.reduce((sum, segment) => sum + [...segment.text].length * segment.width, 0);
}

class JobDecoder {
  readonly blocks: DecodedBlock[] = [];
  #segments: TextSegment[] = [];
  #codePage = "cp437";
  #width = 1;
  #height = 1;
  #bold = false;
  #align: Alignment = "left";
  #lineAlign: Alignment = "left";
  #qrData: string | null = null;
  #qrModel: number | null = null;
  #qrSize: number | null = null;
  #qrLevel: string | null = null;

  reset(): void {
    this.#codePage = "cp437";
    this.#width = 1;
    this.#height = 1;
    this.#bold = false;
    this.#align = "left";
  }

  text(bytes: Buffer): void {
    let start = 0;
    for (let index = 0; index <= bytes.length; index++) {
      const byte = bytes[index];
      if (index < bytes.length && byte !== LF && byte !== CR) continue;
      if (index > start) this.#addText(bytes.subarray(start, index));
      if (byte === LF) this.flushLine(true);
      start = index + 1;
    }
  }

  #addText(bytes: Buffer): void {
    for (const byte of bytes) {
      if (byte < 0x20 || byte === 0x7f) throw new Error(`Control byte 0x${byte.toString(16)} inside text`);
    }
    if (this.#segments.length === 0) this.#lineAlign = this.#align;
    this.#segments.push({ text: iconv.decode(bytes, this.#codePage), width: this.#width, height: this.#height, bold: this.#bold });
  }

  /** Ends the current line. An empty line counts only when `always` is set, for a bare LF. */
  flushLine(always: boolean): void {
    if (this.#segments.length === 0 && !always) return;
    this.blocks.push({ kind: "text", segments: this.#segments, align: this.#segments.length ? this.#lineAlign : this.#align });
    this.#segments = [];
  }

  command(name: string, parameters: Buffer): void {
    switch (name) {
      case "ESC @":
        this.flushLine(false);
        this.reset();
        return;
      case "ESC t": {
        const page = CODE_PAGES_BY_NUMBER[parameters[0] ?? -1];
        if (!page) throw new Error(`ESC t ${parameters[0]} selects a code page this decoder does not know`);
        this.#codePage = page;
        return;
      }
      case "GS !":
        this.#width = ((parameters[0] ?? 0) >> 4) + 1;
        this.#height = ((parameters[0] ?? 0) & 0x0f) + 1;
        return;
      case "ESC E":
        this.#bold = ((parameters[0] ?? 0) & 1) === 1;
        return;
      case "ESC a":
        this.#align = ALIGNMENTS[parameters[0] ?? 0] ?? "left";
        return;
      case "ESC d":
        this.flushLine(false);
        this.blocks.push({ kind: "feed", lines: parameters[0] ?? 0 });
        return;
      case "ESC p":
        this.blocks.push({ kind: "pulse", pin: parameters[0] ?? 0, onMs: (parameters[1] ?? 0) * 2, offMs: (parameters[2] ?? 0) * 2 });
        return;
      case "GS V":
        this.flushLine(false);
        this.blocks.push({ kind: "cut", partial: [1, 49, 66].includes(parameters[0] ?? -1) });
        return;
      case "GS ( k":
        this.#twoDimensionalCode(parameters);
        return;
      case "FS .":
      case "ESC M":
        return;
      default:
        throw new Error(`Command ${name} is not expected in a receipt job`);
    }
  }

  /** Reads GS ( k pL pH cn fn [parameters], where only QR codes (cn = 49) are expected. */
  #twoDimensionalCode(parameters: Buffer): void {
    const length = (parameters[0] ?? 0) + (parameters[1] ?? 0) * 256;
    const body = parameters.subarray(2, 2 + length);
    if (body.length !== length) throw new Error(`GS ( k declares ${length} bytes but has ${body.length}`);
    const [cn, fn] = body;
    if (cn !== 0x31) throw new Error(`GS ( k for symbol type ${cn} is not a QR code`);
    switch (fn) {
      case 0x41:
        this.#qrModel = (body[2] ?? 0x32) - 0x30;
        return;
      case 0x43:
        this.#qrSize = body[2] ?? null;
        return;
      case 0x45:
        this.#qrLevel = QR_ERROR_LEVELS[body[2] ?? -1] ?? null;
        return;
      case 0x50:
        this.#qrData = body.subarray(3).toString("latin1");
        return;
      case 0x51:
        this.flushLine(false);
        if (this.#qrData === null) throw new Error("QR code printed before its data was stored");
        this.blocks.push({
          kind: "qr",
          data: this.#qrData,
          model: this.#qrModel,
          moduleSize: this.#qrSize,
          errorLevel: this.#qrLevel,
          align: this.#align,
        });
        return;
      default:
        throw new Error(`GS ( k QR function ${fn} is not expected`);
    }
  }
}

/**
 * Decodes one ESC/POS job into commands and printed blocks. Throws on bytes
 * npos cannot parse, on a command a receipt should not contain, and on
 * control bytes inside text.
 */
export function decodeEscPos(bytes: Uint8Array): DecodedJob {
  const buffer = Buffer.from(bytes);
  const { tree, error } = parser.analyze(buffer);
  if (error || !tree) throw new Error(`npos cannot parse the job: ${error?.message ?? "no tree"}`);
  const decoder = new JobDecoder();
  const commands: DecodedCommand[] = [];
  for (const node of tree) {
    const name = commandName(node);
    const nodeBytes = buffer.subarray(node.offset, node.offset + node.length);
    commands.push({ name, offset: node.offset, bytes: [...nodeBytes] });
    if (name === "text") {
      decoder.text(nodeBytes);
      continue;
    }
    if (![ESC, GS, FS, DLE].includes(node.code)) throw new Error(`Unexpected node ${name} at ${node.offset}`);
    decoder.command(name, nodeBytes.subarray(1 + (node.fn ?? "").length));
  }
  decoder.flushLine(false);
  const textBlocks = decoder.blocks.filter((block) => block.kind === "text");
  return {
    commands,
    blocks: decoder.blocks,
    lines: textBlocks.map((block) => block.segments.map((segment) => segment.text).join("").trimEnd()),
    lineWidths: textBlocks.map((block) => segmentsWidth(block.segments)),
    qrCodes: decoder.blocks.filter((block) => block.kind === "qr"),
  };
}

/** Formats bytes as uppercase hex pairs separated by spaces, e.g. "1B 40". */
export function hex(bytes: Uint8Array | number[]): string {
  return [...bytes].map((byte) => byte.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}

import { appendFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";

export type ReceiptTarget = { kind: "stdout" } | { kind: "file"; path: string };

const SEPARATOR_CHARACTER = "=";
const DEFAULT_SEPARATOR_WIDTH = 32;

function withFinalNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}

/** Builds the line that follows each receipt in a file: "=" repeated to the widest receipt line. */
function separatorFor(text: string): string {
  const widths = text.split("\n").map((line) => [...line].length);
  const width = Math.max(0, ...widths);
  return SEPARATOR_CHARACTER.repeat(width > 0 ? width : DEFAULT_SEPARATOR_WIDTH);
}

function writeToStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Writes a rendered receipt to standard output, or appends it to a file
 * followed by a separator line (no form feed), creating missing folders.
 * The file write is not flushed to disk with fsync.
 */
export async function writeReceipt(text: string, target: ReceiptTarget): Promise<void> {
  const receipt = withFinalNewline(text);
  if (target.kind === "stdout") {
    await writeToStdout(receipt);
    return;
  }
  if (target.kind !== "file" || typeof target.path !== "string" || target.path === "") {
    throw new TypeError('Receipt target is invalid. Use { kind: "stdout" } or { kind: "file", path }');
  }
  await mkdir(dirname(target.path), { recursive: true });
  await appendFile(target.path, `${receipt}${separatorFor(receipt)}\n`, "utf8");
}

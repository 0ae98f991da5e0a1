import type { LedgerRecord } from "@mercora/crdt-model";
import { toDecimalString } from "./format.ts";
import type { ReceiptContentOptions } from "./receipt.ts";

/** First field of every receipt QR code: the format name and its version. */
export const RECEIPT_QR_VERSION = "MRC1";

/** Characters that values keep as they are. Every other byte is percent-encoded. */
const UNRESERVED = /[A-Za-z0-9._~-]/u;
const UTF8 = new TextEncoder();

/**
 * Percent-encodes a value as UTF-8, keeping only RFC 3986 unreserved
 * characters, so "|", "=", "/" and non-ASCII text cannot break the fields.
 * `decodeURIComponent` reverses it.
 */
function escapeValue(value: string): string {
  let escaped = "";
  for (const character of value) {
    if (UNRESERVED.test(character)) {
      escaped += character;
      continue;
    }
    for (const byte of UTF8.encode(character)) {
      escaped += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return escaped;
}

/**
 * Builds the data of a sale's QR code, an ASCII string of fields joined by
 * "|", in this order:
 *
 *   MRC1|F=<folio>|P=1|TOT=<total>|CUR=<currency>|TRM=<branch>/<terminal>|H=<hash>
 *
 * `F=` is the folio number, or `ID=<ticket id>` takes its place when the
 * ticket has no folio. `P=1` appears only for a provisional folio and
 * `H=` only when a hash is given. TOT is the total as a decimal with "."
 * and the currency's minor digits ("5950.00"). Values are percent-encoded.
 */
export function receiptQrData(record: LedgerRecord, options: ReceiptContentOptions): string {
  const fields = [RECEIPT_QR_VERSION];
  const folio = options.folio;
  if (folio !== undefined && folio.number.trim() !== "") {
    fields.push(`F=${escapeValue(folio.number)}`);
    if (folio.provisional) fields.push("P=1");
  } else {
    fields.push(`ID=${escapeValue(record.id)}`);
  }
  fields.push(`TOT=${toDecimalString(record.total, options.minorUnitDigits)}`);
  fields.push(`CUR=${escapeValue(options.currency)}`);
  fields.push(`TRM=${escapeValue(record.branch)}/${escapeValue(record.terminal)}`);
  if (options.hash !== undefined && options.hash !== "") fields.push(`H=${escapeValue(options.hash)}`);
  return fields.join("|");
}

/** Fields of a receipt QR code, as `parseReceiptQrData` reads them. */
export interface ReceiptQrFields {
  folio: string | null;
  provisional: boolean;
  ticketId: string | null;
  total: string;
  currency: string;
  branch: string;
  terminal: string;
  hash: string | null;
}

/**
 * Reads the data of a receipt QR code back into its fields, for a verifier
 * or a test. Throws `SyntaxError` naming the problem for data in another
 * format.
 */
export function parseReceiptQrData(data: string): ReceiptQrFields {
  const [version, ...pairs] = data.split("|");
  if (version !== RECEIPT_QR_VERSION) {
    throw new SyntaxError(`QR data starts with ${JSON.stringify(version)}, expected ${RECEIPT_QR_VERSION}`);
  }
  const values = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) throw new SyntaxError(`QR field ${JSON.stringify(pair)} is not KEY=VALUE`);
    values.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  const required = (key: string): string => {
    const value = values.get(key);
    if (value === undefined) throw new SyntaxError(`QR data has no ${key}= field`);
    return value;
  };
  const optional = (key: string): string | null => {
    const value = values.get(key);
    return value === undefined ? null : decodeURIComponent(value);
  };
  const [branch, terminal, ...rest] = required("TRM").split("/");
  if (branch === undefined || terminal === undefined || rest.length > 0) {
    throw new SyntaxError(`QR field TRM=${values.get("TRM")} is not BRANCH/TERMINAL`);
  }
  const folio = optional("F");
  const ticketId = optional("ID");
  if ((folio === null) === (ticketId === null)) throw new SyntaxError("QR data needs exactly one of F= and ID=");
  return {
    folio,
    provisional: values.get("P") === "1",
    ticketId,
    total: required("TOT"),
    currency: decodeURIComponent(required("CUR")),
    branch: decodeURIComponent(branch),
    terminal: decodeURIComponent(terminal),
    hash: optional("H"),
  };
}

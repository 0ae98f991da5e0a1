import CodepageEncoder from "@point-of-sale/codepage-encoder";
import { cleanText } from "./text.ts";

/** Single-byte code pages that receipts can print in. */
export type CodePage = "cp850" | "windows1252";

export const CODE_PAGES: readonly CodePage[] = ["cp850", "windows1252"];

/**
 * Number that selects each code page with ESC t n, from Epson's ESC/POS
 * character code table list (page 2 is PC850 Multilingual, page 16 is
 * WPC1252). Most ESC/POS clones use the same numbers for these two pages.
 */
export const ESC_T_PAGE: Record<CodePage, number> = { cp850: 2, windows1252: 16 };

/**
 * Replacements for characters that are in neither code page, or that a code
 * page lacks. A character that the selected code page has prints as itself,
 * so WPC1252 keeps its curly quotes, dashes and ellipsis.
 */
const SUBSTITUTES: Record<string, string> = {
  "\u2018": "'", // ‘
  "\u2019": "'", // ’
  "\u201a": "'", // ‚
  "\u201b": "'", // ‛
  "\u2032": "'", // ′
  "\u201c": '"', // “
  "\u201d": '"', // ”
  "\u201e": '"', // „
  "\u201f": '"', // ‟
  "\u2033": '"', // ″
  "\u00ab": '"', // « (only where the code page lacks it)
  "\u00bb": '"', // »
  "\u2010": "-", // hyphen
  "\u2011": "-", // non-breaking hyphen
  "\u2012": "-", // figure dash
  "\u2013": "-", // –
  "\u2014": "-", // —
  "\u2015": "-", // horizontal bar
  "\u2212": "-", // minus sign
  "\u2026": "...", // …
  "\u2022": "*", // •
  "\u00b7": ".", // ·
  "\u20ac": "EUR", // € (cp850 lacks it, WPC1252 has it)
  "\u2122": "TM", // ™
  // Letters that have no decomposition to strip.
  "\u0141": "L", // Ł
  "\u0142": "l", // ł
  "\u0110": "D", // Đ
  "\u0111": "d", // đ
  "\u00d8": "O", // Ø
  "\u00f8": "o", // ø
  "\u0131": "i", // ı
  "\u0152": "OE", // Œ
  "\u0153": "oe", // œ
  "\u00c6": "AE", // Æ
  "\u00e6": "ae", // æ
  "\u00df": "ss", // ß
};

/**
 * The colón sign ₡ (U+20A1) is in no single-byte code page that ESC/POS
 * printers carry, so it prints as the ISO 4217 code "CRC", followed by a
 * space when an amount follows: "₡1,500.00" prints as "CRC 1,500.00".
 */
const COLON_SIGN_BEFORE_AMOUNT = /\u20a1(?=[\d-])/gu;
const COLON_SIGN = /\u20a1/gu;

const UNPRINTABLE = "?";
const COMBINING_MARK = /\p{M}/gu;

const printableSets = new Map<CodePage, ReadonlySet<string>>();

/**
 * Builds the characters a code page prints, from its table in
 * @point-of-sale/codepage-encoder. Bytes below 0x20 and 0x7F are left out:
 * the table gives them CP437 glyphs (0x1B is "←"), but a printer reads them
 * as commands.
 */
function printableSet(codePage: CodePage): ReadonlySet<string> {
  let set = printableSets.get(codePage);
  if (set) return set;
  const codePoints = CodepageEncoder.getCodepoints(codePage, true);
  const characters = new Set<string>();
  codePoints.forEach((codePoint, byte) => {
    if (byte < 0x20 || byte === 0x7f || codePoint === undefined || codePoint === 0xfffd) return;
    characters.add(String.fromCodePoint(codePoint));
  });
  set = characters;
  printableSets.set(codePage, set);
  return set;
}

function mapCharacter(character: string, printable: ReadonlySet<string>): string {
  if (printable.has(character)) return character;
  const substitute = SUBSTITUTES[character];
  if (substitute !== undefined && [...substitute].every((c) => printable.has(c))) return substitute;
  // Strip accents only when the code page lacks the accented letter, e.g. "ő" in cp850.
  const base = character.normalize("NFD").replace(COMBINING_MARK, "");
  if (base !== "" && base !== character && [...base].every((c) => printable.has(c))) return base;
  return UNPRINTABLE;
}

/**
 * Creates a function that rewrites text into characters the code page can
 * print, one printer column each. It first applies `cleanText` (NFC, control
 * characters and Unicode spaces to plain spaces), then keeps every character
 * the code page has, maps the rest through a fixed table or by stripping
 * accents, and prints "?" for anything left. Lay out text after this step,
 * because a substitute can be wider than its character ("…" becomes "...").
 */
export function createTextMapper(codePage: CodePage): (text: string) => string {
  if (!CODE_PAGES.includes(codePage)) {
    throw new RangeError(`Code page ${JSON.stringify(codePage)} is invalid. Use "cp850" or "windows1252"`);
  }
  const printable = printableSet(codePage);
  return (text: string): string => {
    const cleaned = cleanText(text).replace(COLON_SIGN_BEFORE_AMOUNT, "CRC ").replace(COLON_SIGN, "CRC");
    let mapped = "";
    for (const character of cleaned) mapped += mapCharacter(character, printable);
    return mapped;
  };
}

/**
 * Checks that text, as `createTextMapper` produced it for the same code
 * page, holds only characters printable there. Throws `RangeError` naming
 * the first other character, so a mapping mistake cannot send a control
 * byte or a "?" that the mapper did not choose.
 */
export function assertPrintable(text: string, codePage: CodePage): void {
  const printable = printableSet(codePage);
  for (const character of text) {
    if (!printable.has(character)) {
      const codePoint = character.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0");
      throw new RangeError(`Character U+${codePoint} is not printable in ${codePage}. Map the text with createTextMapper first`);
    }
  }
}

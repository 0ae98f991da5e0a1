/**
 * Fixed-width text helpers. Widths are counted in Unicode code points of
 * NFC-normalized text, which is one printer column per character for
 * Latin-script text.
 *
 * NOTE: a wide (East Asian) character or an emoji still counts as one column,
 * so a line with such characters can print wider than `width` cells.
 */

const CONTROL_OR_LINE_BREAK = /[\p{Cc}\p{Zl}\p{Zp}]/gu;
const SPACE_SEPARATOR = /\p{Zs}/gu;
const FORMAT_CHARACTER = /\p{Cf}/gu;

/**
 * Normalizes text to NFC and makes it safe for one receipt line. Control
 * characters and line breaks become spaces, so a name cannot inject printer
 * commands or break the layout. Every Unicode space, including the no-break
 * and narrow no-break spaces that `Intl` emits, becomes a plain space.
 * Invisible format characters such as bidi marks are removed.
 */
export function cleanText(text: string): string {
  return text
    .normalize("NFC")
    .replace(CONTROL_OR_LINE_BREAK, " ")
    .replace(SPACE_SEPARATOR, " ")
    .replace(FORMAT_CHARACTER, "");
}

/** Width of already cleaned text, in code points. */
export function textWidth(text: string): number {
  return [...text].length;
}

/** Splits text into chunks of at most `width` code points. */
export function splitToWidth(text: string, width: number): string[] {
  const codePoints = [...text];
  if (codePoints.length <= width) return [text];
  const chunks: string[] = [];
  for (let start = 0; start < codePoints.length; start += width) {
    chunks.push(codePoints.slice(start, start + width).join(""));
  }
  return chunks;
}

/**
 * Wraps text at word boundaries into lines of at most `width` code points.
 * Runs of spaces collapse to one, and a word longer than the width is split
 * across lines. Returns no lines for blank text.
 */
export function wrapWords(text: string, width: number): string[] {
  const words = text.split(" ").filter((word) => word !== "");
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    let remaining = word;
    if (textWidth(remaining) > width) {
      if (current !== "") lines.push(current);
      const chunks = splitToWidth(remaining, width);
      lines.push(...chunks.slice(0, -1));
      current = "";
      remaining = chunks[chunks.length - 1] ?? "";
    }
    if (current === "") {
      current = remaining;
    } else if (textWidth(current) + 1 + textWidth(remaining) <= width) {
      current = `${current} ${remaining}`;
    } else {
      lines.push(current);
      current = remaining;
    }
  }
  if (current !== "") lines.push(current);
  return lines;
}

/** Wraps text at word boundaries and centers each line, without trailing spaces. */
export function centerLines(text: string, width: number): string[] {
  return wrapWords(text, width).map((line) => {
    const padding = Math.floor((width - textWidth(line)) / 2);
    return " ".repeat(padding) + line;
  });
}

/**
 * Lays out a label on the left and a value flush right on one line, with
 * spaces or a dot leader between them. When both do not fit, the label gets
 * its own lines and the value goes right-aligned on the next one.
 */
export function alignPair(left: string, right: string, width: number, leader: " " | "." = " "): string[] {
  const gap = width - textWidth(left) - textWidth(right);
  if (gap >= 1) {
    const fill = leader === "." && gap >= 3 ? ` ${".".repeat(gap - 2)} ` : " ".repeat(gap);
    return [left + fill + right];
  }
  const leftLines = textWidth(left) <= width ? [left] : wrapWords(left, width);
  const rightLines = splitToWidth(right, width).map((chunk) => " ".repeat(width - textWidth(chunk)) + chunk);
  return [...leftLines, ...rightLines];
}

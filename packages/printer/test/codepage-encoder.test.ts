import { expect } from "chai";
import CodepageEncoder from "@point-of-sale/codepage-encoder";
import type { Codepage } from "@point-of-sale/codepage-encoder";
import { CODE_PAGES } from "@mercora/printer";

// patches/@point-of-sale+codepage-encoder+3.0.2.patch replaces the encoder's search of a code page's
// definition for every character with a lookup table built once. These tests hold the patched encoder
// to the rule of the unpatched one: a character prints as the first position of its codepoint in the
// code page, and as "?" (0x3f) where the code page lacks it.

/** Encodes `text` by the unpatched rule, searching the definition that the encoder returns. */
function referenceEncode(text: string, codePage: Codepage): number[] {
  const codepoints = CodepageEncoder.getEncoding(codePage).codepoints;
  const out: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const position = codepoints.findIndex((codepoint) => codepoint === text.codePointAt(index));
    out.push(position === -1 ? 0x3f : position);
  }
  return out;
}

/** Returns Spanish and Portuguese text and signs that receipts print, then every character from space to U+2FFF. */
function sampleText(): string {
  let text = "Año, acción, pão, ¿cuánto? ¡Sí! 1/2 € ₡ ₲ ½ ° ª º ";
  for (let codepoint = 0x20; codepoint <= 0x2fff; codepoint++) text += String.fromCodePoint(codepoint);
  return text;
}

describe("code page encoder (patched lookup)", () => {
  for (const codePage of CODE_PAGES) {
    it(`encodes like the unpatched search in ${codePage}`, () => {
      const text = sampleText();
      expect([...CodepageEncoder.encode(text, codePage)]).to.deep.equal(referenceEncode(text, codePage));
    });
  }

  it("encodes repeated text identically", () => {
    const first = [...CodepageEncoder.encode("Señor Muñoz, 1.500,00 €", "cp850")];
    expect([...CodepageEncoder.encode("Señor Muñoz, 1.500,00 €", "cp850")]).to.deep.equal(first);
    expect(first).to.deep.equal(referenceEncode("Señor Muñoz, 1.500,00 €", "cp850"));
  });

  it("splits text between candidate pages", () => {
    const text = "Peña “Ñandú” € ½";
    const candidates: Codepage[] = ["cp850", "windows1252"];
    const fragments = CodepageEncoder.autoEncode(text, candidates);
    // The reference walk: stay on the current code page while it has the character, else take the
    // first candidate that has it, else print "?" on the current one.
    const expected: { codepage: Codepage; bytes: number[] }[] = [];
    let current: Codepage | undefined;
    for (let index = 0; index < text.length; index++) {
      const codepoint = text.codePointAt(index);
      const positionIn = (page: Codepage) => CodepageEncoder.getEncoding(page).codepoints.findIndex((c) => c === codepoint);
      let page: Codepage | undefined;
      let byte = 0x3f;
      if (current !== undefined && positionIn(current) !== -1) {
        page = current;
        byte = positionIn(current);
      } else {
        page = candidates.find((candidate) => positionIn(candidate) !== -1);
        if (page !== undefined) byte = positionIn(page);
      }
      page ??= current ?? "cp850";
      if (page !== current) expected.push({ codepage: page, bytes: [] });
      expected.at(-1)!.bytes.push(byte);
      current = page;
    }
    expect(fragments.map((fragment) => ({ codepage: fragment.codepage, bytes: [...fragment.bytes] }))).to.deep.equal(expected);
    expect(new Set(expected.map((fragment) => fragment.codepage)).size).to.equal(2);
  });
});

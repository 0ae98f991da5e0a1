import { readFileSync } from "node:fs";
import { expect } from "chai";
import { isValidGtin, parseCatalogCsv, type CatalogImportError } from "../src/catalog-csv.ts";
import { ValidationError } from "../src/errors.ts";

const HEADER = "ean,marca,nombre,presentacion,precio_sucursal_25_1_1";
const STORE_COPY = new URL("../../../data/catalog/precios-claros-25-1-1.csv", import.meta.url);

/** Builds a catalog CSV from lines, so that array index + 1 is the line number. */
function csv(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

function priceOf(price: string, minorUnitDigits?: number): number {
  const text = csv(HEADER, `7791376000208,GOLD MUNDO,Galletitas,200.0 gr,${price}`);
  const result = parseCatalogCsv(text, minorUnitDigits === undefined ? {} : { minorUnitDigits });
  expect(result.errors, `errors for price ${price}`).to.deep.equal([]);
  expect(result.products, `products for price ${price}`).to.have.length(1);
  return result.products[0]!.price;
}

function onlyError(errors: CatalogImportError[]): CatalogImportError {
  expect(errors).to.have.length(1);
  return errors[0]!;
}

describe("isValidGtin", () => {
  it("accepts real EAN-13 codes", () => {
    expect(isValidGtin("7791376000208")).to.equal(true);
    expect(isValidGtin("7795323002437")).to.equal(true);
    expect(isValidGtin("0000026031101")).to.equal(true);
  });

  it("rejects corrupted EAN-13 check digit", () => {
    expect(isValidGtin("7791376000209")).to.equal(false);
    expect(isValidGtin("7791376000280")).to.equal(false);
  });

  it("checks UPC-A codes", () => {
    expect(isValidGtin("036000291452")).to.equal(true);
    expect(isValidGtin("036000291453")).to.equal(false);
  });

  it("checks EAN-8 codes", () => {
    expect(isValidGtin("96385074")).to.equal(true);
    expect(isValidGtin("96385075")).to.equal(false);
  });

  it("checks GTIN-14 codes", () => {
    expect(isValidGtin("10012345678902")).to.equal(true);
    expect(isValidGtin("10012345678903")).to.equal(false);
  });

  it("rejects other lengths and non-digits", () => {
    expect(isValidGtin("")).to.equal(false);
    expect(isValidGtin("1234567")).to.equal(false);
    expect(isValidGtin("77913760002")).to.equal(false);
    expect(isValidGtin("779137600020A")).to.equal(false);
    expect(isValidGtin(" 7791376000208")).to.equal(false);
    expect(isValidGtin("10-1-2300049000008")).to.equal(false);
  });
});

describe("parseCatalogCsv prices", () => {
  it("converts whole and decimal prices", () => {
    expect(priceOf("54")).to.equal(5400);
    expect(priceOf("264.99")).to.equal(26499);
    expect(priceOf("12.9")).to.equal(1290);
    expect(priceOf("0.5")).to.equal(50);
    expect(priceOf("0")).to.equal(0);
    expect(priceOf("1016.99")).to.equal(101699);
  });

  it("avoids floating point errors", () => {
    // Each of these is off by one when computed as Math.floor(Number(price) * 100).
    expect(priceOf("1.15")).to.equal(115);
    expect(priceOf("4.35")).to.equal(435);
    expect(priceOf("0.29")).to.equal(29);
  });

  it("keeps the largest safe price", () => {
    expect(priceOf("90071992547409.91")).to.equal(Number.MAX_SAFE_INTEGER);
  });

  it("rejects more decimals than the currency", () => {
    for (const price of ["264.991", "264.995", "0.005", "1.005"]) {
      const result = parseCatalogCsv(csv(HEADER, `7791376000208,GOLD MUNDO,Galletitas,200.0 gr,${price}`));
      expect(result.products, `products for ${price}`).to.deep.equal([]);
      expect(onlyError(result.errors).message, `error for ${price}`).to.include("decimals but the currency has 2");
      expect(onlyError(result.errors).line).to.equal(2);
    }
  });

  it("accepts trailing zero decimals", () => {
    expect(priceOf("264.990")).to.equal(26499);
    expect(priceOf("54.0000")).to.equal(5400);
  });

  it("applies minorUnitDigits", () => {
    expect(priceOf("54", 0)).to.equal(54);
    expect(priceOf("54.0", 0)).to.equal(54);
    expect(priceOf("1.234", 3)).to.equal(1234);
    expect(priceOf("1.2", 3)).to.equal(1200);
  });

  it("trims spaces around the price", () => {
    expect(priceOf(" 54 ")).to.equal(5400);
  });
});

describe("parseCatalogCsv codes", () => {
  it("keeps EAN-13 as SKU and barcode", () => {
    const result = parseCatalogCsv(csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas Pepitas,200.0 gr,54"));
    expect(result.products[0]!.sku).to.equal("7791376000208");
    expect(result.products[0]!.barcode).to.equal("7791376000208");
  });

  it("pads UPC-A to thirteen digits", () => {
    const result = parseCatalogCsv(csv(HEADER, "036000291452,ACME,Pañuelos,1.0 un,10"));
    expect(result.errors).to.deep.equal([]);
    expect(result.products[0]!.sku).to.equal("0036000291452");
    expect(result.products[0]!.barcode).to.equal("0036000291452");
  });

  it("keeps EAN-8 barcode as eight digits", () => {
    const result = parseCatalogCsv(csv(HEADER, "96385074,ACME,Chicles,1.0 un,10"));
    expect(result.errors).to.deep.equal([]);
    expect(result.products[0]!.sku).to.equal("0000096385074");
    expect(result.products[0]!.barcode).to.equal("96385074");
  });

  it("imports store-internal codes as PLUs", () => {
    const result = parseCatalogCsv(csv(HEADER, "10-1-2300049000008,SIN MARCA,Banana Ecuador,1.0 kg,89.99"));
    expect(result.errors).to.deep.equal([]);
    expect(result.products[0]!.sku).to.equal("10-1-2300049000008");
    expect(result.products[0]!.barcode).to.equal(null);
    expect(result.products[0]!.price).to.equal(8999);
  });

  it("applies tax code and stock buffer", () => {
    const text = csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54");
    const product = parseCatalogCsv(text, { taxCode: "IVA105", stockBuffer: 3 }).products[0]!;
    expect(product.taxCode).to.equal("IVA105");
    expect(product.stockBuffer).to.equal(3);
    expect(product.active).to.equal(true);
  });

  it("uses defaults for tax and buffer", () => {
    const text = csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54");
    const product = parseCatalogCsv(text).products[0]!;
    expect(product.taxCode).to.equal("IVA21");
    expect(product.stockBuffer).to.equal(0);
  });
});

describe("parseCatalogCsv invalid rows", () => {
  it("reports bad check digit", () => {
    const result = parseCatalogCsv(
      csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54", "7791376000209,GOLD MUNDO,Galletitas,200.0 gr,54"),
    );
    const error = onlyError(result.errors);
    expect(error.line).to.equal(3);
    expect(error.column).to.equal("ean");
    expect(error.value).to.equal("7791376000209");
    expect(error.message).to.contain("Line 3");
    expect(error.message).to.contain("expected 8, found 9");
    expect(result.products.map((p) => p.sku)).to.deep.equal(["7791376000208"]);
  });

  it("reports bad UPC-A and EAN-8", () => {
    const result = parseCatalogCsv(csv(HEADER, "036000291453,ACME,Pañuelos,1.0 un,10", "96385075,ACME,Chicles,1.0 un,10"));
    expect(result.errors.map((e) => [e.line, e.column, e.value])).to.deep.equal([
      [2, "ean", "036000291453"],
      [3, "ean", "96385075"],
    ]);
    expect(result.products).to.deep.equal([]);
  });

  it("reports unknown code shapes", () => {
    const result = parseCatalogCsv(
      csv(HEADER, "ABC123,ACME,Yerba,1.0 kg,10", "77913760002,ACME,Yerba,1.0 kg,10", ",ACME,Yerba,1.0 kg,10"),
    );
    expect(result.errors.map((e) => [e.line, e.column, e.value])).to.deep.equal([
      [2, "ean", "ABC123"],
      [3, "ean", "77913760002"],
      [4, "ean", ""],
    ]);
    expect(result.errors[2]!.message).to.contain("ean is empty");
    expect(result.products).to.deep.equal([]);
  });

  it("skips empty store price silently", () => {
    const result = parseCatalogCsv(csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,", "7795323002437,NUTRILÓN,Leche,800.0 gr,1016.99"));
    expect(result.errors).to.deep.equal([]);
    expect(result.rows).to.equal(2);
    expect(result.products.map((p) => p.sku)).to.deep.equal(["7795323002437"]);
  });

  it("reports empty price when requested", () => {
    const result = parseCatalogCsv(csv(HEADER, "7795323002437,NUTRILÓN,Leche,800.0 gr,1016.99", "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,"), {
      skipEmptyPrice: false,
    });
    const error = onlyError(result.errors);
    expect(error.line).to.equal(3);
    expect(error.column).to.equal("precio_sucursal_25_1_1");
    expect(error.value).to.equal("");
    expect(error.message).to.contain("is empty");
    expect(result.products.map((p) => p.sku)).to.deep.equal(["7795323002437"]);
  });

  it("reports empty non-store price by default", () => {
    const header = "ean,nombre,precio_mediana";
    const result = parseCatalogCsv(csv(header, "7791376000208,Galletitas,", "7795323002437,Leche,1050"), {
      priceColumn: "precio_mediana",
    });
    const error = onlyError(result.errors);
    expect(error.line).to.equal(2);
    expect(error.column).to.equal("precio_mediana");
    expect(result.products.map((p) => p.price)).to.deep.equal([105000]);
  });

  it("reports invalid and negative prices", () => {
    const result = parseCatalogCsv(
      csv(
        HEADER,
        "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,abc",
        '7795323002437,NUTRILÓN,Leche,800.0 gr,"12,50"',
        "0000026031101,ESTEBAN,Bolsas,1.0 un,-5",
        "4006381333931,ACME,Lápiz,1.0 un,1e3",
        "0036000291452,ACME,Pañuelos,1.0 un,.5",
      ),
    );
    expect(result.errors.map((e) => [e.line, e.column, e.value])).to.deep.equal([
      [2, "precio_sucursal_25_1_1", "abc"],
      [3, "precio_sucursal_25_1_1", "12,50"],
      [4, "precio_sucursal_25_1_1", "-5"],
      [5, "precio_sucursal_25_1_1", "1e3"],
      [6, "precio_sucursal_25_1_1", ".5"],
    ]);
    expect(result.errors[0]!.message).to.contain("is not a number");
    expect(result.errors[1]!.message).to.contain("comma as decimal separator");
    expect(result.errors[2]!.message).to.contain("is negative");
    expect(result.products).to.deep.equal([]);
  });

  it("reports prices beyond safe integers", () => {
    const result = parseCatalogCsv(csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,90071992547409.92"));
    const error = onlyError(result.errors);
    expect(error.line).to.equal(2);
    expect(error.message).to.contain("too large");
    expect(result.products).to.deep.equal([]);
  });

  it("reports empty name", () => {
    const result = parseCatalogCsv(csv(HEADER, "7791376000208,GOLD MUNDO,  ,200.0 gr,54"));
    const error = onlyError(result.errors);
    expect(error.line).to.equal(2);
    expect(error.column).to.equal("nombre");
    expect(error.value).to.equal("  ");
    expect(result.products).to.deep.equal([]);
  });

  it("reports every problem of a row", () => {
    const result = parseCatalogCsv(csv(HEADER, "7791376000209,GOLD MUNDO,,200.0 gr,-1"));
    expect(result.errors.map((e) => [e.line, e.column])).to.deep.equal([
      [2, "ean"],
      [2, "nombre"],
      [2, "precio_sucursal_25_1_1"],
    ]);
    expect(result.products).to.deep.equal([]);
  });

  it("reports second duplicate SKU", () => {
    const result = parseCatalogCsv(
      csv(
        HEADER,
        "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54",
        "7795323002437,NUTRILÓN,Leche,800.0 gr,1016.99",
        "7791376000208,GOLD MUNDO,Galletitas otra,200.0 gr,60",
      ),
    );
    const error = onlyError(result.errors);
    expect(error.line).to.equal(4);
    expect(error.column).to.equal("ean");
    expect(error.value).to.equal("7791376000208");
    expect(error.message).to.contain("already imported from line 2");
    expect(result.products.map((p) => [p.sku, p.price])).to.deep.equal([
      ["7791376000208", 5400],
      ["7795323002437", 101699],
    ]);
  });

  it("treats padded UPC-A as duplicate", () => {
    const result = parseCatalogCsv(csv(HEADER, "0036000291452,ACME,Pañuelos,1.0 un,10", "036000291452,ACME,Pañuelos,1.0 un,12"));
    const error = onlyError(result.errors);
    expect(error.line).to.equal(3);
    expect(error.value).to.equal("036000291452");
    expect(result.products.map((p) => p.price)).to.deep.equal([1000]);
  });

  it("ignores rejected row for duplicates", () => {
    const result = parseCatalogCsv(
      csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,abc", "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54"),
    );
    expect(onlyError(result.errors).line).to.equal(2);
    expect(result.products.map((p) => p.price)).to.deep.equal([5400]);
  });

  it("reports wrong field count", () => {
    const result = parseCatalogCsv(
      csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas, rellenas,200.0 gr,54", "7795323002437,NUTRILÓN,Leche,1016.99"),
    );
    expect(result.errors.map((e) => [e.line, e.column])).to.deep.equal([
      [2, null],
      [3, null],
    ]);
    expect(result.errors[0]!.message).to.contain("row has 6 fields but the header has 5");
    expect(result.products).to.deep.equal([]);
  });
});

describe("parseCatalogCsv header", () => {
  for (const missing of ["ean", "nombre", "precio_sucursal_25_1_1"]) {
    it(`throws without ${missing} column`, () => {
      const header = HEADER.split(",")
        .filter((name) => name !== missing)
        .join(",");
      const parseWithout = (): unknown => parseCatalogCsv(csv(header));
      expect(parseWithout).to.throw(ValidationError, `missing column "${missing}"`);
    });
  }

  it("throws without custom price column", () => {
    const parseWithout = (): unknown => parseCatalogCsv(csv(HEADER), { priceColumn: "precio_mediana" });
    expect(parseWithout).to.throw(ValidationError, 'missing column "precio_mediana"');
  });

  it("throws on empty text", () => {
    expect(() => parseCatalogCsv("")).to.throw(ValidationError, "Catalog CSV is empty");
  });

  it("throws on duplicate header column", () => {
    expect(() => parseCatalogCsv(csv("ean,nombre,nombre,precio_sucursal_25_1_1"))).to.throw(ValidationError, '"nombre" twice');
  });

  it("accepts reordered and quoted columns", () => {
    const text = csv('"precio_sucursal_25_1_1","nombre","ean"', '"54","Galletitas","7791376000208"');
    const result = parseCatalogCsv(text);
    expect(result.errors).to.deep.equal([]);
    expect(result.products[0]!.brand).to.equal("");
    expect(result.products[0]!.presentation).to.equal("");
    expect(result.products[0]!.price).to.equal(5400);
  });
});

describe("parseCatalogCsv CSV syntax", () => {
  it("reads quoted commas and accents", () => {
    const text = csv(
      '"ean","marca","nombre","presentacion","precio_sucursal_25_1_1"',
      '"7791376000208","CAÑUELAS","Pan Horneado, Cañuelas ñandú","1.0 kg","119.99"',
      '"7795323002437","NUTRILÓN","Leche en Polvo Nutrilón, lata","800.0 gr","1016.99"',
      '"7793008001614","ISSUE","Tintura Sachet N""1 Issue 1 Un","1.0 un","5.79"',
    );
    const result = parseCatalogCsv(text);
    expect(result.errors).to.deep.equal([]);
    expect(result.products.map((p) => [p.brand, p.name, p.price])).to.deep.equal([
      ["CAÑUELAS", "Pan Horneado, Cañuelas ñandú", 11999],
      ["NUTRILÓN", "Leche en Polvo Nutrilón, lata", 101699],
      ["ISSUE", 'Tintura Sachet N"1 Issue 1 Un', 579],
    ]);
  });

  it("trims names and keeps accents", () => {
    const result = parseCatalogCsv(csv(HEADER, '7791376000208, SIN MARCA ,"  Azúcar Común Ñ  ", 1.0 kg ,54'));
    expect(result.products[0]!.name).to.equal("Azúcar Común Ñ");
    expect(result.products[0]!.brand).to.equal("SIN MARCA");
    expect(result.products[0]!.presentation).to.equal("1.0 kg");
  });

  it("counts lines inside quoted fields", () => {
    const text = csv(
      HEADER,
      '7791376000208,GOLD MUNDO,"Galletitas\nPepitas",200.0 gr,54',
      "7795323002437,NUTRILÓN,Leche,800.0 gr,abc",
    );
    const result = parseCatalogCsv(text);
    expect(result.products[0]!.name).to.equal("Galletitas\nPepitas");
    expect(onlyError(result.errors).line).to.equal(4);
  });

  it("counts blank lines and CRLF", () => {
    const text = [
      HEADER,
      "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54",
      "",
      "7795323002437,NUTRILÓN,Leche,800.0 gr,abc",
      "",
      "",
      "0000026031101,ESTEBAN,,1.0 un,1.39",
    ].join("\r\n");
    const result = parseCatalogCsv(text);
    expect(result.rows).to.equal(3);
    expect(result.errors.map((e) => e.line)).to.deep.equal([4, 7]);
    expect(result.products.map((p) => p.sku)).to.deep.equal(["7791376000208"]);
  });

  it("strips a byte order mark", () => {
    const result = parseCatalogCsv("\ufeff" + csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54"));
    expect(result.errors).to.deep.equal([]);
    expect(result.products).to.have.length(1);
  });

  it("throws on unclosed quote with line", () => {
    const text = csv(HEADER, "7791376000208,GOLD MUNDO,Galletitas,200.0 gr,54", '7795323002437,NUTRILÓN,"Leche,800.0 gr,1016.99');
    expect(() => parseCatalogCsv(text)).to.throw(ValidationError, "could not be parsed at line 3");
  });

  it("throws on stray quote with line", () => {
    const text = csv(HEADER, '7791376000208,GOLD MUNDO,"Galletitas"x,200.0 gr,54');
    expect(() => parseCatalogCsv(text)).to.throw(ValidationError, "could not be parsed at line 2");
  });
});

describe("parseCatalogCsv options", () => {
  it("rejects invalid stock buffer", () => {
    const text = csv(HEADER);
    expect(() => parseCatalogCsv(text, { stockBuffer: -1 })).to.throw(RangeError, "stockBuffer -1");
    expect(() => parseCatalogCsv(text, { stockBuffer: 1.5 })).to.throw(RangeError, "stockBuffer 1.5");
  });

  it("rejects invalid minor unit digits", () => {
    const text = csv(HEADER);
    expect(() => parseCatalogCsv(text, { minorUnitDigits: 5 })).to.throw(RangeError, "minorUnitDigits 5");
    expect(() => parseCatalogCsv(text, { minorUnitDigits: -1 })).to.throw(RangeError, "minorUnitDigits -1");
  });

  it("rejects empty tax code", () => {
    expect(() => parseCatalogCsv(csv(HEADER), { taxCode: " " })).to.throw(RangeError, "taxCode is empty");
  });
});

describe("parseCatalogCsv real store copy", () => {
  const text = readFileSync(STORE_COPY, "utf8");
  const result = parseCatalogCsv(text);

  it("imports every store row", () => {
    expect(result.rows).to.equal(12513);
    expect(result.errors).to.deep.equal([]);
    expect(result.products).to.have.length(12513);
  });

  it("imports 233 PLUs without barcode", () => {
    const plus = result.products.filter((p) => p.barcode === null);
    expect(plus).to.have.length(233);
    expect(plus.every((p) => /^25-1-\d{13}$/.test(p.sku))).to.equal(true);
  });

  it("reads PLU row at line 101", () => {
    // Line 101: "25-1-0000000000002","SIN MARCA","Queso en Barra 1 Kg","1.0 kg",1,534.99,534.99,534.99,534.99
    expect(result.products[99]).to.deep.equal({
      sku: "25-1-0000000000002",
      barcode: null,
      name: "Queso en Barra 1 Kg",
      brand: "SIN MARCA",
      presentation: "1.0 kg",
      price: 53499,
      taxCode: "IVA21",
      active: true,
      stockBuffer: 0,
    });
  });

  it("reads EAN-13 row at line 8337", () => {
    expect(result.products[8335]).to.deep.equal({
      sku: "7795323002437",
      barcode: "7795323002437",
      name: "Leche en Polvo Infantil en Lata Nutrilon Profutura 2 800 Gr",
      brand: "NUTRILÓN",
      presentation: "800.0 gr",
      price: 101699,
      taxCode: "IVA21",
      active: true,
      stockBuffer: 0,
    });
  });

  it("reads doubled quote at line 6675", () => {
    expect(result.products[6673]!.sku).to.equal("7793008001614");
    expect(result.products[6673]!.name).to.equal('Tintura Sachet N"1 Issue 1 Un');
    expect(result.products[6673]!.price).to.equal(579);
  });

  it("finds no empty store price", () => {
    // Every row of the copy has a store price, so requiring one changes nothing.
    const strict = parseCatalogCsv(text, { skipEmptyPrice: false });
    expect(strict.errors).to.deep.equal([]);
    expect(strict.products).to.have.length(12513);
  });
});

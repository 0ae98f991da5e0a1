import { expect } from "chai";
import { quotePayment } from "../src/quotes.ts";

describe("payment quote", function () {
  it("reports change on exact cash and more", function () {
    const quote = quotePayment([{ type: "cash", amount: 20000 }], 13648, 0);
    expect(quote.complete).to.equal(true);
    expect(quote.due).to.equal(0);
    expect(quote.change).to.equal(6352);
  });

  it("reports what a short payment leaves due", function () {
    const quote = quotePayment([{ type: "cash", amount: 1000 }], 13648, 0);
    expect(quote.complete).to.equal(false);
    expect(quote.due).to.equal(12648);
    expect(quote.change).to.equal(0);
  });

  it("splits cash and card", function () {
    const quote = quotePayment([{ type: "cash", amount: 1000 }, { type: "card", amount: 12648 }], 13648, 0);
    expect(quote.complete).to.equal(true);
    expect(quote.due).to.equal(0);
    expect(quote.change).to.equal(0);
  });

  it("rejects card over the total", function () {
    const quote = quotePayment([{ type: "card", amount: 14000 }], 13648, 0);
    expect(quote.complete).to.equal(false);
    expect(quote.nonCashOver).to.equal(352);
  });

  it("rounds cash to the store's increment", function () {
    // A store that rounds cash to 5 units (500 minor units), as Costa Rica does.
    const quote = quotePayment([{ type: "cash", amount: 13500 }], 13648, 500);
    expect(quote.cashRounding).to.equal(-148);
    expect(quote.due).to.equal(0);
    expect(quote.complete).to.equal(true);
    expect(quotePayment([], 13648, 500).dueInCash).to.equal(13500);
    expect(quotePayment([{ type: "card", amount: 13648 }], 13648, 500).complete).to.equal(true);
  });

  it("needs at least one tender", function () {
    expect(quotePayment([], 13648, 0).complete).to.equal(false);
  });
});

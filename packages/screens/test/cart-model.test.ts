import { expect } from "chai";
import { EMPTY_CART, addToCart, changeSelectedQty, moveSelection, removeSelected } from "../src/app/cashier/cart-model.ts";

const milk = { sku: "7790001", name: "Leche", price: 1500 };
const bread = { sku: "7790002", name: "Pan", price: 900 };

describe("cart", function () {
  it("adds a new product as a line", function () {
    const cart = addToCart(addToCart(EMPTY_CART, milk, 1), bread, 2);
    expect(cart.lines.map((line) => [line.sku, line.qty])).to.deep.equal([
      [milk.sku, 1],
      [bread.sku, 2],
    ]);
    expect(cart.selected).to.equal(1);
  });

  it("adds units to a product's line", function () {
    const cart = addToCart(addToCart(addToCart(EMPTY_CART, milk, 1), bread, 1), milk, 3);
    expect(cart.lines).to.have.length(2);
    expect(cart.lines[0]!.qty).to.equal(4);
    expect(cart.selected).to.equal(0);
  });

  it("removes a line at zero units", function () {
    const cart = changeSelectedQty(addToCart(EMPTY_CART, milk, 1), -1);
    expect(cart.lines).to.deep.equal([]);
    expect(cart.selected).to.equal(-1);
  });

  it("keeps a selection after removal", function () {
    let cart = addToCart(addToCart(EMPTY_CART, milk, 1), bread, 1);
    cart = removeSelected(cart);
    expect(cart.lines.map((line) => line.sku)).to.deep.equal([milk.sku]);
    expect(cart.selected).to.equal(0);
  });

  it("wraps the selection around", function () {
    const cart = addToCart(addToCart(EMPTY_CART, milk, 1), bread, 1);
    expect(moveSelection(cart, 1).selected).to.equal(0);
    expect(moveSelection(cart, -1).selected).to.equal(0);
    expect(moveSelection(EMPTY_CART, 1)).to.equal(EMPTY_CART);
  });
});

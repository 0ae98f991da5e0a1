import type { CartLine, Product } from "./types.ts";

/** A cart and its selected line (-1 when empty). */
export interface Cart {
  lines: CartLine[];
  selected: number;
}

export const EMPTY_CART: Cart = { lines: [], selected: -1 };

/** Adds units of a product: a product already in the cart gets more units on its line, which becomes the selected one. */
export function addToCart(cart: Cart, product: Pick<Product, "sku" | "name" | "price">, qty: number): Cart {
  const index = cart.lines.findIndex((line) => line.sku === product.sku);
  if (index >= 0) {
    return { lines: cart.lines.map((line, i) => (i === index ? { ...line, qty: line.qty + qty } : line)), selected: index };
  }
  const lines = [...cart.lines, { sku: product.sku, name: product.name, qty, unitPrice: product.price }];
  return { lines, selected: lines.length - 1 };
}

/** Removes the selected line; the selection moves to the line that takes its place. */
export function removeSelected(cart: Cart): Cart {
  if (!cart.lines[cart.selected]) return cart;
  const lines = cart.lines.filter((_, i) => i !== cart.selected);
  return { lines, selected: Math.min(cart.selected, lines.length - 1) };
}

/** Changes the selected line's quantity; a line that reaches zero units is removed. */
export function changeSelectedQty(cart: Cart, delta: number): Cart {
  const line = cart.lines[cart.selected];
  if (!line) return cart;
  if (line.qty + delta <= 0) return removeSelected(cart);
  return { ...cart, lines: cart.lines.map((l, i) => (i === cart.selected ? { ...l, qty: l.qty + delta } : l)) };
}

/** Moves the selection up or down, wrapping around. */
export function moveSelection(cart: Cart, delta: number): Cart {
  if (cart.lines.length === 0) return cart;
  return { ...cart, selected: (cart.selected + delta + cart.lines.length) % cart.lines.length };
}

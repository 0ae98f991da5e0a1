import { css, html } from "lit";
import { formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { CartLine, SaleQuote } from "./types.ts";

/**
 * The cart: one row per product with quantity, unit price and line total
 * (from the terminal's quote once it arrives). The selected row takes
 * + and - and Delete; touch screens get the same as buttons.
 */
export class CartView extends ScreenElement {
  static override properties = {
    lines: { attribute: false },
    quote: { attribute: false },
    selected: { type: Number },
    money: { attribute: false },
  };
  static override styles = [
    baseStyles,
    css`
      tr[aria-selected="true"] td {
        background: #e3eefa;
      }
      tbody tr {
        cursor: pointer;
      }
      td.name {
        overflow-wrap: anywhere;
      }
      .empty {
        padding: 1.5rem 0.5rem;
        text-align: center;
      }
      .actions {
        display: flex;
        gap: 0.4rem;
        margin-top: 0.5rem;
        flex-wrap: wrap;
      }
      .actions button {
        min-width: 3rem;
      }
      @media (max-width: 480px) {
        th.unit,
        td.unit {
          display: none;
        }
      }
    `,
  ];

  declare lines: CartLine[];
  declare quote: SaleQuote | null;
  declare selected: number;
  declare money: CurrencySettings;

  constructor() {
    super();
    this.lines = [];
    this.quote = null;
    this.selected = -1;
  }

  #emit(name: string, detail: unknown = null): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  #lineTotal(line: CartLine, index: number): number {
    const quoted = this.quote?.lines[index];
    return quoted && quoted.sku === line.sku && quoted.qty === line.qty ? quoted.total : line.unitPrice * line.qty;
  }

  override render() {
    if (this.lines.length === 0) return html`<p class="empty muted" data-testid="cart-empty">${t("cart.empty")}</p>`;
    return html`<div class="table-wrap">
        <table data-testid="cart">
          <thead>
            <tr>
              <th>${t("cart.product")}</th>
              <th class="num">${t("cart.qty")}</th>
              <th class="num unit">${t("cart.unitPrice")}</th>
              <th class="num">${t("cart.lineTotal")}</th>
            </tr>
          </thead>
          <tbody>
            ${this.lines.map(
              (line, index) => html`<tr
                aria-selected=${index === this.selected ? "true" : "false"}
                data-sku=${line.sku}
                @click=${() => this.#emit("select-line", index)}
              >
                <td class="name">${line.name}</td>
                <td class="num" data-testid="line-qty">${line.qty}</td>
                <td class="num unit">${formatMoney(line.unitPrice, this.money)}</td>
                <td class="num">${formatMoney(this.#lineTotal(line, index), this.money)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div class="actions" aria-label=${t("cart.selectedLine")}>
        <button type="button" @click=${() => this.#emit("change-qty", -1)} aria-label=${t("cart.less")}>−</button>
        <button type="button" @click=${() => this.#emit("change-qty", 1)} aria-label=${t("cart.more")}>+</button>
        <button type="button" @click=${() => this.#emit("remove-line")}>${t("cart.remove")}</button>
      </div>`;
  }
}

customElements.define("mercora-cart", CartView);

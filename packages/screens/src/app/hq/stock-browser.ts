import { css, html, nothing } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatCount, formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { StockPage } from "./types.ts";

/** Rows per page of the stock table. */
const PAGE_SIZE = 25;
/** Quiet time after typing before a search runs. */
const SEARCH_DELAY_MS = 300;

/**
 * Stock per SKU of every branch, searched and paged by the relay (the
 * catalog has thousands of SKUs), with stock below zero in red and at or
 * below the SKU's buffer in amber.
 */
export class StockBrowser extends ScreenElement {
  static override properties = { api: { attribute: false }, money: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      .pager {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        flex-wrap: wrap;
        margin-top: 0.5rem;
      }
      td.negative {
        color: var(--bad);
        font-weight: 700;
      }
      td.low {
        color: var(--warn);
      }
      td.name {
        overflow-wrap: anywhere;
      }
    `,
  ];

  declare api: ApiClient;
  declare money: CurrencySettings;
  #query = "";
  #offset = 0;
  #page: StockPage | null = null;
  #error: ShownError | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #seq = 0;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
  }

  /** Loads the current page again, e.g. after new records arrived. */
  async refresh(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const page = await this.api.get<StockPage>(`/api/hq/stock?q=${encodeURIComponent(this.#query)}&offset=${this.#offset}&limit=${PAGE_SIZE}`);
      if (seq !== this.#seq) return;
      this.#page = page;
      this.#error = null;
    } catch (error) {
      if (seq === this.#seq) this.#error = describeError(error);
    }
    this.requestUpdate();
  }

  #onInput(event: Event): void {
    this.#query = (event.target as HTMLInputElement).value;
    this.#offset = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refresh(), SEARCH_DELAY_MS);
  }

  #go(offset: number): void {
    this.#offset = Math.max(0, offset);
    void this.refresh();
  }

  #cell(stock: number | null, buffer: number) {
    if (stock === null) return html`<td class="num muted">—</td>`;
    let state = "";
    if (stock < 0) state = "negative";
    else if (stock <= buffer) state = "low";
    return html`<td class="num ${state}">${formatCount(stock)}</td>`;
  }

  override render() {
    const page = this.#page;
    const pages = page ? Math.max(1, Math.ceil(page.total / PAGE_SIZE)) : 1;
    const current = Math.floor(this.#offset / PAGE_SIZE) + 1;
    return html`<section class="panel" aria-labelledby="stock-title" data-testid="stock-browser">
      <h2 id="stock-title">${t("stock.title")}</h2>
      <div class="field">
        <label for="stock-search">${t("stock.search")}</label>
        <input id="stock-search" type="search" autocomplete="off" .value=${this.#query} @input=${this.#onInput} placeholder=${t("stock.placeholder")} />
      </div>
      ${errorView(this.#error)}
      ${page
        ? html`<p class="muted" data-testid="stock-count">${t("stock.count", { total: formatCount(page.total) })}</p>
            <div class="table-wrap">
              <table data-testid="stock-table">
                <thead>
                  <tr>
                    <th>SKU</th><th>${t("stock.product")}</th><th class="num">${t("stock.price")}</th>
                    ${page.branches.map((branch) => html`<th class="num">${branch}</th>`)}
                  </tr>
                </thead>
                <tbody>
                  ${page.items.map(
                    (item) => html`<tr data-sku=${item.sku}>
                      <td>${item.sku}</td>
                      <td class="name">${item.name}</td>
                      <td class="num">${item.price === null ? "—" : formatMoney(item.price, this.money)}</td>
                      ${page.branches.map((branch) => this.#cell(item.stock[branch] ?? null, item.stockBuffer))}
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            <div class="pager">
              <button type="button" ?disabled=${this.#offset === 0} @click=${() => this.#go(this.#offset - PAGE_SIZE)}>${t("stock.previous")}</button>
              <span data-testid="stock-page">${t("stock.page", { page: current, pages })}</span>
              <button type="button" ?disabled=${current >= pages} @click=${() => this.#go(this.#offset + PAGE_SIZE)}>${t("stock.next")}</button>
            </div>`
        : nothing}
    </section>`;
  }
}

customElements.define("mercora-stock-browser", StockBrowser);

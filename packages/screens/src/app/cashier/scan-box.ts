import { css, html, nothing } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { Product } from "./types.ts";

/** Results a name search lists. */
const SEARCH_LIMIT = 8;
/** Quiet time after typing before a name search runs. */
const SEARCH_DELAY_MS = 250;

/** Splits "3*7790060054954" into a quantity and a code; a plain code has quantity 1. */
export function parseScan(text: string): { qty: number; code: string } | null {
  const match = /^\s*(?:(\d{1,4})\s*[*xX]\s*)?(.+?)\s*$/.exec(text);
  if (!match || !match[2]) return null;
  const qty = match[1] ? Number(match[1]) : 1;
  return qty > 0 ? { qty, code: match[2] } : null;
}

/**
 * The field a scanner types into: digits then Enter add the product with
 * that barcode or SKU, "3*code" adds three. Words search the catalog by
 * name; arrows pick a result and Enter adds it. With the field empty, the
 * arrows, + and - and Delete act on the cart's selected line. An unknown
 * code shows a message and stays in the field, selected, so the next scan
 * replaces it.
 */
export class ScanBox extends ScreenElement {
  static override properties = { api: { attribute: false }, money: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      .scan {
        position: relative;
      }
      input {
        font-size: 1.15rem;
        padding: 0.6rem 0.7rem;
      }
      ul {
        list-style: none;
        margin: 0.25rem 0 0;
        padding: 0;
        border: 1px solid var(--line);
        border-radius: 6px;
        background: #fff;
        max-height: 18rem;
        overflow-y: auto;
      }
      li {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
        padding: 0.4rem 0.6rem;
        cursor: pointer;
        border-bottom: 1px solid var(--line);
      }
      li[aria-selected="true"] {
        background: #e3eefa;
      }
      li span:first-child {
        min-width: 0;
        overflow-wrap: anywhere;
      }
    `,
  ];

  declare api: ApiClient;
  declare money: CurrencySettings;
  #text = "";
  #results: Product[] = [];
  #active = 0;
  #error: ShownError | null = null;
  #searchTimer: ReturnType<typeof setTimeout> | null = null;
  #searchSeq = 0;

  /** Puts the cursor in the field. */
  override focus(): void {
    void this.updateComplete.then(() => this.#input()?.focus());
  }

  #input(): HTMLInputElement | null {
    return this.renderRoot.querySelector("input");
  }

  #emit(name: string, detail: unknown = null): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  #onInput(event: Event): void {
    this.#text = (event.target as HTMLInputElement).value;
    this.#error = null;
    if (this.#searchTimer) clearTimeout(this.#searchTimer);
    const words = this.#text.trim();
    if (/\p{L}/u.test(words) && words.length >= 2) {
      this.#searchTimer = setTimeout(() => void this.#search(words), SEARCH_DELAY_MS);
    } else {
      this.#results = [];
    }
    this.requestUpdate();
  }

  async #search(query: string): Promise<void> {
    const seq = ++this.#searchSeq;
    try {
      const results = await this.api.get<Product[]>(`/products?q=${encodeURIComponent(query)}&limit=${SEARCH_LIMIT}`);
      if (seq !== this.#searchSeq) return;
      this.#results = results;
      this.#active = 0;
      this.#error = results.length === 0 ? { code: "NO_RESULTS", field: null, headline: t("scan.noResults", { query }), detail: null } : null;
    } catch (error) {
      if (seq === this.#searchSeq) this.#error = describeError(error);
    }
    this.requestUpdate();
  }

  #onKeyDown(event: KeyboardEvent): void {
    const empty = this.#text.trim() === "";
    if (this.#results.length > 0 && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.#active = (this.#active + step + this.#results.length) % this.#results.length;
      this.requestUpdate();
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault();
      void this.#submit();
      return;
    }
    if (event.key === "Escape" && (this.#results.length > 0 || !empty)) {
      event.preventDefault();
      event.stopPropagation();
      this.#clear();
      return;
    }
    if (!empty) return;
    const cartKeys: Record<string, () => void> = {
      ArrowDown: () => this.#emit("move-selection", 1),
      ArrowUp: () => this.#emit("move-selection", -1),
      "+": () => this.#emit("change-qty", 1),
      "-": () => this.#emit("change-qty", -1),
      Delete: () => this.#emit("remove-line"),
    };
    const action = cartKeys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  #clear(): void {
    this.#text = "";
    this.#results = [];
    this.#error = null;
    this.requestUpdate();
  }

  async #submit(): Promise<void> {
    if (this.#results.length > 0) {
      const product = this.#results[this.#active]!;
      const qty = parseScan(this.#text)?.qty ?? 1;
      this.#clear();
      this.#emit("add-product", { product, qty });
      return;
    }
    const scan = parseScan(this.#text);
    if (!scan) return;
    if (/\p{L}/u.test(scan.code)) {
      await this.#search(scan.code);
      return;
    }
    try {
      const product = await this.api.get<Product>(`/products/${encodeURIComponent(scan.code)}`);
      this.#clear();
      this.#emit("add-product", { product, qty: scan.qty });
    } catch (error) {
      const shown = describeError(error);
      this.#error = shown.code === "SKU_UNKNOWN" ? { ...shown, headline: t("scan.unknownCode", { code: scan.code }) } : shown;
      this.requestUpdate();
      await this.updateComplete;
      this.#input()?.select();
    }
  }

  override render() {
    return html`<div class="scan">
      <label for="scan">${t("scan.label")}</label>
      <input
        id="scan"
        data-testid="scan"
        autocomplete="off"
        enterkeyhint="enter"
        placeholder=${t("scan.placeholder")}
        aria-invalid=${this.#error && this.#error.code !== "NO_RESULTS" ? "true" : "false"}
        aria-controls="results"
        .value=${this.#text}
        @input=${this.#onInput}
        @keydown=${this.#onKeyDown}
      />
      ${errorView(this.#error, "scan-error")}
      ${this.#results.length > 0
        ? html`<ul id="results" role="listbox" aria-label=${t("scan.results")} data-testid="search-results">
            ${this.#results.map(
              (product, index) =>
                html`<li
                  role="option"
                  aria-selected=${index === this.#active ? "true" : "false"}
                  @click=${() => {
                    this.#active = index;
                    void this.#submit();
                  }}
                >
                  <span>${product.name}</span><span class="money">${formatMoney(product.price, this.money)}</span>
                </li>`,
            )}
          </ul>`
        : nothing}
    </div>`;
  }
}

customElements.define("mercora-scan-box", ScanBox);

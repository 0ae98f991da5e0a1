import { css, html, nothing } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { amountForInput, formatMoney, parseAmount } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { TENDER_TYPES } from "./types.ts";
import type { CartLine, SaleQuote, TenderEntry, TenderType, UserEntry } from "./types.ts";

/** Payload of `pay`: the tenders and, after a stock buffer rejection, a manager's override. */
export interface PayRequest {
  tenders: TenderEntry[];
  override: { manager: string; pin: string } | null;
}

/**
 * Split tenders with change. The amount field starts at what is still due;
 * Enter adds it as a tender of the chosen type (arrows change the type),
 * and Enter on an empty field, or F4, records the sale. A payment that
 * leaves an amount due shows it and keeps the tenders. Sends `pay`.
 */
export class PaymentPanel extends ScreenElement {
  static override properties = {
    api: { attribute: false },
    lines: { attribute: false },
    money: { attribute: false },
    managers: { attribute: false },
    serverError: { attribute: false },
    busy: { type: Boolean },
  };
  static override styles = [
    baseStyles,
    css`
      .types {
        display: flex;
        gap: 0.35rem;
        flex-wrap: wrap;
        margin-bottom: 0.5rem;
      }
      .types button[aria-pressed="true"] {
        background: var(--ink);
        color: #fff;
        border-color: var(--ink);
      }
      input.amount {
        font-size: 1.3rem;
        text-align: right;
      }
      dl {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 0.2rem 0.75rem;
        margin: 0.5rem 0;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        text-align: right;
        font-variant-numeric: tabular-nums;
      }
      dd.due {
        font-weight: 700;
        color: var(--bad);
      }
      dd.change {
        font-weight: 700;
        font-size: 1.2rem;
        color: var(--ok);
      }
      ul.tenders {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      ul.tenders li {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 0.5rem;
        padding: 0.2rem 0;
        border-bottom: 1px solid var(--line);
      }
      ul.tenders button {
        min-height: 2rem;
        padding: 0.1rem 0.5rem;
      }
    `,
  ];

  declare api: ApiClient;
  declare lines: CartLine[];
  declare money: CurrencySettings;
  declare managers: UserEntry[];
  declare serverError: ShownError | null;
  declare busy: boolean;
  #type: TenderType = "cash";
  #tenders: TenderEntry[] = [];
  #amount = "";
  #quote: SaleQuote | null = null;
  #error: ShownError | null = null;
  #overrideManager = "";
  #overridePin = "";
  #quoteSeq = 0;
  #pending: Promise<void> = Promise.resolve();

  constructor() {
    super();
    this.lines = [];
    this.managers = [];
    this.serverError = null;
    this.busy = false;
  }

  /** Starts a new payment for the current cart: no tenders, the full amount due in the field. */
  reset(): void {
    this.#tenders = [];
    this.#type = "cash";
    this.#error = null;
    this.#overridePin = "";
    this.#amount = "";
    // Focus at once, so keys typed before the amount due arrives reach the field.
    this.focus();
    void this.#requote(true);
  }

  override focus(): void {
    void this.updateComplete.then(() => {
      const input = this.renderRoot.querySelector("input.amount") as HTMLInputElement | null;
      input?.focus();
      input?.select();
    });
  }

  /** Tries to record the sale with the tenders entered so far (F4 or Enter on an empty field). */
  async finish(): Promise<void> {
    if (this.#amount.trim() !== "" && !(await this.#addTender())) return;
    await this.#pending;
    const quote = this.#quote;
    if (!quote) return;
    if (!quote.complete) {
      const due = formatMoney(quote.due || quote.dueInCash, this.money);
      this.#error = quote.nonCashOver > 0
        ? { code: "TENDERS_OVER", field: "tenders", headline: t("pay.nonCashOver", { amount: formatMoney(quote.nonCashOver, this.money) }), detail: null }
        : { code: "TENDERS_SHORT", field: "tenders", headline: t("pay.stillDue", { amount: due }), detail: null };
      this.requestUpdate();
      this.focus();
      return;
    }
    const override = this.serverError?.code === "STOCK_BUFFER" && this.#overrideManager ? { manager: this.#overrideManager, pin: this.#overridePin } : null;
    const request: PayRequest = { tenders: [...this.#tenders], override };
    this.dispatchEvent(new CustomEvent("pay", { detail: request, bubbles: true, composed: true }));
  }

  /** Asks the terminal for totals, due and change of the cart with the tenders so far. */
  #requote(fillAmount: boolean): Promise<void> {
    this.#pending = this.#fetchQuote(fillAmount);
    return this.#pending;
  }

  async #fetchQuote(fillAmount: boolean): Promise<void> {
    const seq = ++this.#quoteSeq;
    // The amount due fills the field only if the cashier typed nothing while the quote was on its way.
    const typed = this.#amount;
    let filled = false;
    try {
      const quote = await this.api.post<SaleQuote>("/sales/quote", {
        lines: this.lines.map((line) => ({ sku: line.sku, qty: line.qty })),
        tenders: this.#tenders,
      });
      if (seq !== this.#quoteSeq) return;
      this.#quote = quote;
      if (fillAmount && this.#amount === typed) {
        this.#fillAmount();
        filled = true;
      }
    } catch (error) {
      if (seq === this.#quoteSeq) this.#error = describeError(error);
    }
    this.requestUpdate();
    // Focusing selects the field's text, so it happens only when that text is the amount just filled in.
    if (filled) this.focus();
  }

  /** Puts what is still due, for the chosen type, in the amount field. */
  #fillAmount(): void {
    const quote = this.#quote;
    if (!quote) return;
    const due = this.#type === "cash" ? quote.dueInCash : Math.max(0, quote.total - quote.tendered);
    this.#amount = due > 0 && !quote.complete ? amountForInput(due, this.money.minorUnitDigits) : "";
  }

  /** Adds the amount field as a tender of `type` and waits for the new quote. Returns false when the amount is invalid. */
  async #addTender(type: TenderType = this.#type): Promise<boolean> {
    const amount = parseAmount(this.#amount, this.money.minorUnitDigits);
    if (amount === null || amount <= 0) {
      this.#error = { code: "AMOUNT_INVALID", field: "amount", headline: t("pay.amountInvalid", { text: this.#amount }), detail: null };
      this.requestUpdate();
      this.focus();
      return false;
    }
    this.#tenders = [...this.#tenders, { type, amount }];
    this.#amount = "";
    this.#error = null;
    // The field stays empty: Enter on it finishes, and a short payment says what is due.
    await this.#requote(false);
    this.focus();
    return true;
  }

  #removeTender(index: number): void {
    this.#tenders = this.#tenders.filter((_, i) => i !== index);
    void this.#requote(false);
  }

  #setType(type: TenderType): void {
    this.#type = type;
    this.#fillAmount();
    this.requestUpdate();
    this.focus();
    void this.#fillWhenQuoted(type);
  }

  /** Fills the empty field for `type` once no quote is on its way, as after a tender was added. */
  async #fillWhenQuoted(type: TenderType): Promise<void> {
    let pending: Promise<void>;
    do {
      pending = this.#pending;
      await pending;
    } while (pending !== this.#pending);
    if (this.#type !== type || this.#amount !== "") return;
    this.#fillAmount();
    this.requestUpdate();
    this.focus();
  }

  #onKeyDown(event: KeyboardEvent): void {
    if (event.key === "ArrowDown" || event.key === "ArrowUp" || event.key === "PageDown" || event.key === "PageUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" || event.key === "PageDown" ? 1 : -1;
      const index = (TENDER_TYPES.indexOf(this.#type) + step + TENDER_TYPES.length) % TENDER_TYPES.length;
      this.#setType(TENDER_TYPES[index]!);
    } else if (event.key === "Enter") {
      event.preventDefault();
      void this.#onEnter();
    }
  }

  /** Adds the amount as a tender, or records the sale on an empty field, once the amount due has arrived. */
  async #onEnter(): Promise<void> {
    // An Enter pressed right after the panel opens would otherwise find the field still empty and be lost.
    // The tender type is the one chosen when Enter was pressed, not after keys pressed while waiting.
    const type = this.#type;
    await this.#pending;
    if (this.#amount.trim() === "") await this.finish();
    else await this.#addTender(type);
  }

  #overrideFields() {
    if (this.serverError?.code !== "STOCK_BUFFER") return nothing;
    if (!this.#overrideManager && this.managers[0]) this.#overrideManager = this.managers[0].id;
    return html`<div class="row">
      <div class="field">
        <label for="override-manager">${t("pay.overrideManager")}</label>
        <select id="override-manager" @change=${(e: Event) => (this.#overrideManager = (e.target as HTMLSelectElement).value)}>
          ${this.managers.map((m) => html`<option value=${m.id} ?selected=${m.id === this.#overrideManager}>${m.name}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="override-pin">${t("pay.overridePin")}</label>
        <input id="override-pin" type="password" inputmode="numeric" .value=${this.#overridePin}
          @input=${(e: Event) => (this.#overridePin = (e.target as HTMLInputElement).value)}
          @keydown=${(e: KeyboardEvent) => {
            if (e.key === "Enter") {
              e.preventDefault();
              void this.finish();
            }
          }} />
      </div>
    </div>`;
  }

  override render() {
    const quote = this.#quote;
    return html`<section class="panel" data-testid="payment" aria-labelledby="pay-title">
      <h2 id="pay-title">${t("pay.title")}</h2>
      <div class="types" role="group" aria-label=${t("pay.type")}>
        ${TENDER_TYPES.map(
          (type) => html`<button type="button" data-type=${type} aria-pressed=${type === this.#type ? "true" : "false"} @click=${() => this.#setType(type)}>
            ${tDynamic(`tender.${type}`)}
          </button>`,
        )}
      </div>
      <div class="field">
        <label for="amount">${t("pay.amount", { type: tDynamic(`tender.${this.#type}`) })}</label>
        <input id="amount" class="amount" data-testid="tender-amount" inputmode="decimal" autocomplete="off"
          aria-invalid=${this.#error?.field === "amount" ? "true" : "false"}
          .value=${this.#amount}
          @input=${(e: Event) => (this.#amount = (e.target as HTMLInputElement).value)}
          @keydown=${this.#onKeyDown} />
      </div>
      ${this.#tenders.length > 0
        ? html`<ul class="tenders" data-testid="tenders">
            ${this.#tenders.map(
              (tender, index) => html`<li data-type=${tender.type}>
                <span>${tDynamic(`tender.${tender.type}`)}</span>
                <span class="money">${formatMoney(tender.amount, this.money)}</span>
                <button type="button" aria-label=${t("pay.removeTender")} @click=${() => this.#removeTender(index)}>×</button>
              </li>`,
            )}
          </ul>`
        : nothing}
      ${quote
        ? html`<dl>
            <dt>${t("pay.total")}</dt><dd data-testid="pay-total">${formatMoney(quote.total, this.money)}</dd>
            <dt>${t("pay.tendered")}</dt><dd>${formatMoney(quote.tendered, this.money)}</dd>
            ${quote.cashRounding !== 0 ? html`<dt>${t("pay.rounding")}</dt><dd>${formatMoney(quote.cashRounding, this.money)}</dd>` : nothing}
            <dt>${t("pay.due")}</dt><dd class=${quote.due > 0 ? "due" : ""} data-testid="pay-due">${formatMoney(quote.due, this.money)}</dd>
            <dt>${t("pay.change")}</dt><dd class="change" data-testid="pay-change">${formatMoney(quote.change, this.money)}</dd>
          </dl>`
        : nothing}
      ${errorView(this.#error ?? this.serverError, "payment-error")}
      ${this.#overrideFields()}
      <div class="row">
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent("close", { bubbles: true, composed: true }))}>${t("common.back")} <kbd>Esc</kbd></button>
        <button type="button" class="primary" data-testid="pay-finish" ?disabled=${this.busy} @click=${() => void this.finish()}>${t("pay.finish")} <kbd>F4</kbd></button>
      </div>
    </section>`;
  }
}

customElements.define("mercora-payment", PaymentPanel);

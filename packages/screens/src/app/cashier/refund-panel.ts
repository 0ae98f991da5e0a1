import { css, html, nothing } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { TENDER_TYPES } from "./types.ts";
import type { RecordResponse, RefundQuote, TenderType, UserEntry } from "./types.ts";

/** Quiet time after a quantity changes before the refund is priced again. */
const QUOTE_DELAY_MS = 200;

/**
 * Refund of a previous ticket with a manager's PIN. The ticket number and
 * Enter load its lines, a quantity per line sets what comes back, and the
 * manager's PIN and Enter record it. Asking for more than was sold, or a
 * wrong PIN, shows the terminal's message and keeps everything typed.
 * Sends `refunded` with the refund.
 */
export class RefundPanel extends ScreenElement {
  static override properties = {
    api: { attribute: false },
    money: { attribute: false },
    managers: { attribute: false },
    ticket: { type: String },
  };
  static override styles = [
    baseStyles,
    css`
      input.qty {
        width: 4.5rem;
        text-align: right;
      }
      .total {
        font-size: 1.2rem;
        font-weight: 700;
      }
      td.name {
        overflow-wrap: anywhere;
      }
    `,
  ];

  declare api: ApiClient;
  declare money: CurrencySettings;
  declare managers: UserEntry[];
  declare ticket: string;
  #ticketText = "";
  #quote: RefundQuote | null = null;
  #qty = new Map<number, string>();
  #manager = "";
  #pin = "";
  #payout: TenderType = "cash";
  #reason = "";
  #error: ShownError | null = null;
  #quoteTimer: ReturnType<typeof setTimeout> | null = null;
  #busy = false;

  constructor() {
    super();
    this.managers = [];
    this.ticket = "";
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("ticket") && this.ticket && !this.#ticketText) this.#ticketText = this.ticket;
    if (!this.#manager && this.managers[0]) this.#manager = this.managers[0].id;
  }

  override focus(): void {
    void this.updateComplete.then(() => {
      const input = this.renderRoot.querySelector("#refund-ticket") as HTMLInputElement | null;
      input?.focus();
      input?.select();
    });
  }

  #requestedLines(): { line: number; qty: number }[] {
    return [...this.#qty]
      .map(([line, text]) => ({ line, qty: Number(text) }))
      .filter((entry) => entry.qty !== 0 || Number.isNaN(entry.qty));
  }

  async #load(lines: { line: number; qty: number }[] = []): Promise<void> {
    try {
      this.#quote = await this.api.post<RefundQuote>("/refunds/quote", { original: this.#ticketText.trim(), lines });
      this.#error = null;
    } catch (error) {
      this.#error = describeError(error);
    }
    this.requestUpdate();
  }

  async #loadTicket(event: KeyboardEvent): Promise<void> {
    if (event.key !== "Enter") return;
    event.preventDefault();
    this.#qty = new Map();
    this.#quote = null;
    await this.#load();
    await this.updateComplete;
    const first = this.renderRoot.querySelector("input.qty") as HTMLInputElement | null;
    first?.focus();
    first?.select();
  }

  /** Enter in a quantity moves on to the manager's PIN, so a refund needs no mouse. */
  #qtyKeyDown(event: KeyboardEvent): void {
    if (event.key !== "Enter") return;
    event.preventDefault();
    (this.renderRoot.querySelector("#refund-pin") as HTMLInputElement | null)?.focus();
  }

  #onQty(line: number, text: string): void {
    this.#qty.set(line, text);
    if (this.#quoteTimer) clearTimeout(this.#quoteTimer);
    this.#quoteTimer = setTimeout(() => {
      this.#quoteTimer = null;
      void this.#load(this.#requestedLines());
    }, QUOTE_DELAY_MS);
  }

  #payoutAmount(): number {
    if (!this.#quote) return 0;
    return this.#payout === "cash" ? this.#quote.cashPayout : this.#quote.total;
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.#busy || !this.#quote) return;
    this.#busy = true;
    this.requestUpdate();
    // Price the quantities as typed right now, not as of the last pause in typing.
    if (this.#quoteTimer) clearTimeout(this.#quoteTimer);
    this.#quoteTimer = null;
    await this.#load(this.#requestedLines());
    if (this.#error || this.#quote.lines.length === 0) {
      this.#error ??= { code: "LINES_MISSING", field: "lines", headline: t("error.LINES_MISSING"), detail: null };
      this.#busy = false;
      this.requestUpdate();
      return;
    }
    try {
      const refund = await this.api.post<RecordResponse>("/refunds", {
        original: this.#quote.original.id,
        lines: this.#requestedLines(),
        tenders: [{ type: this.#payout, amount: this.#payoutAmount() }],
        manager: this.#manager,
        pin: this.#pin,
        reason: this.#reason.trim() || null,
        requestId: crypto.randomUUID(),
      });
      this.#reset();
      this.dispatchEvent(new CustomEvent("refunded", { detail: refund, bubbles: true, composed: true }));
    } catch (error) {
      this.#error = describeError(error);
      await this.updateComplete;
      if (this.#error.code.startsWith("PIN")) (this.renderRoot.querySelector("#refund-pin") as HTMLInputElement | null)?.select();
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  #reset(): void {
    this.#ticketText = "";
    this.#quote = null;
    this.#qty = new Map();
    this.#pin = "";
    this.#reason = "";
    this.#error = null;
  }

  #linesTable(quote: RefundQuote) {
    const invalid = this.#error?.code === "REFUND_EXCEEDS_SOLD" || this.#error?.code === "LINE_UNKNOWN";
    return html`<div class="table-wrap">
      <table data-testid="refund-lines">
        <thead>
          <tr>
            <th>${t("refund.line")}</th>
            <th class="num">${t("refund.sold")}</th>
            <th class="num">${t("refund.alreadyRefunded")}</th>
            <th class="num">${t("refund.qty")}</th>
          </tr>
        </thead>
        <tbody>
          ${quote.refundable.map(
            (line) => html`<tr>
              <td class="name">${line.line}. ${line.name}</td>
              <td class="num">${line.qty}</td>
              <td class="num">${line.refunded}</td>
              <td class="num">
                <input class="qty" data-line=${line.line} inputmode="numeric" aria-label=${t("refund.qtyOf", { name: line.name })}
                  aria-invalid=${invalid ? "true" : "false"}
                  .value=${this.#qty.get(line.line) ?? "0"}
                  @keydown=${this.#qtyKeyDown}
                  @input=${(e: Event) => this.#onQty(line.line, (e.target as HTMLInputElement).value)} />
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }

  #authorization() {
    return html`<div class="row">
        <div class="field">
          <label for="refund-payout">${t("refund.payout")}</label>
          <select id="refund-payout" @change=${(e: Event) => { this.#payout = (e.target as HTMLSelectElement).value as TenderType; this.requestUpdate(); }}>
            ${TENDER_TYPES.map((type) => html`<option value=${type} ?selected=${type === this.#payout}>${tDynamic(`tender.${type}`)}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="refund-reason">${t("refund.reason")}</label>
          <input id="refund-reason" .value=${this.#reason} @input=${(e: Event) => (this.#reason = (e.target as HTMLInputElement).value)} />
        </div>
      </div>
      <div class="row">
        <div class="field">
          <label for="refund-manager">${t("refund.manager")}</label>
          <select id="refund-manager" @change=${(e: Event) => (this.#manager = (e.target as HTMLSelectElement).value)}>
            ${this.managers.map((m) => html`<option value=${m.id} ?selected=${m.id === this.#manager}>${m.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="refund-pin">${t("refund.pin")}</label>
          <input id="refund-pin" type="password" inputmode="numeric" autocomplete="off" .value=${this.#pin}
            aria-invalid=${this.#error?.code.startsWith("PIN") ? "true" : "false"}
            @input=${(e: Event) => (this.#pin = (e.target as HTMLInputElement).value)} />
        </div>
      </div>`;
  }

  override render() {
    const quote = this.#quote;
    return html`<form class="panel" data-testid="refund-panel" @submit=${this.#submit}>
      <h2>${t("refund.title")}</h2>
      <div class="field">
        <label for="refund-ticket">${t("refund.ticket")}</label>
        <input id="refund-ticket" autocomplete="off" .value=${this.#ticketText}
          aria-invalid=${this.#error?.code === "ORIGINAL_UNKNOWN" ? "true" : "false"}
          @input=${(e: Event) => (this.#ticketText = (e.target as HTMLInputElement).value)}
          @keydown=${this.#loadTicket} />
      </div>
      ${quote ? this.#linesTable(quote) : nothing}
      ${quote
        ? html`<p>${t("refund.total")} <span class="total" data-testid="refund-total">${formatMoney(this.#payoutAmount(), this.money)}</span></p>
            ${this.#authorization()}`
        : nothing}
      ${errorView(this.#error, "refund-error")}
      <div class="row">
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent("close", { bubbles: true, composed: true }))}>${t("common.back")} <kbd>Esc</kbd></button>
        <button type="submit" class="primary" data-testid="refund-submit" ?disabled=${this.#busy || !quote}>${t("refund.submit")} <kbd>Enter</kbd></button>
      </div>
    </form>`;
  }
}

customElements.define("mercora-refund-panel", RefundPanel);

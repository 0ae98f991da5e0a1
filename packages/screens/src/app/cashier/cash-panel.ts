import { html } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView, noticeView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatMoney, parseAmount } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { RecordResponse } from "./types.ts";

const REASONS = ["opening-float", "cash-in", "cash-out", "closing-count"] as const;
type Reason = (typeof REASONS)[number];

/** Cash movements of the drawer: opening float, cash in, cash out and the closing count. */
export class CashPanel extends ScreenElement {
  static override properties = { api: { attribute: false }, money: { attribute: false } };
  static override styles = [baseStyles];

  declare api: ApiClient;
  declare money: CurrencySettings;
  #reason: Reason = "opening-float";
  #amount = "";
  #error: ShownError | null = null;
  #done: string | null = null;
  #busy = false;

  override focus(): void {
    void this.updateComplete.then(() => (this.renderRoot.querySelector("#cash-reason") as HTMLElement | null)?.focus());
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.#busy) return;
    const amount = parseAmount(this.#amount, this.money.minorUnitDigits);
    if (amount === null) {
      this.#error = { code: "AMOUNT_INVALID", field: "amount", headline: t("pay.amountInvalid", { text: this.#amount }), detail: null };
      this.requestUpdate();
      return;
    }
    this.#busy = true;
    this.requestUpdate();
    try {
      const { record } = await this.api.post<RecordResponse>("/cash-movements", { reason: this.#reason, amount });
      this.#error = null;
      this.#done = t("cash.done", { reason: tDynamic(`cash.${this.#reason}`), amount: formatMoney(amount, this.money), id: record.id });
      this.#amount = "";
    } catch (error) {
      this.#error = describeError(error);
      this.#done = null;
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  override render() {
    return html`<form class="panel" data-testid="cash-panel" @submit=${this.#submit}>
      <h2>${t("cash.title")}</h2>
      <div class="field">
        <label for="cash-reason">${t("cash.reason")}</label>
        <select id="cash-reason" @change=${(e: Event) => (this.#reason = (e.target as HTMLSelectElement).value as Reason)}>
          ${REASONS.map((reason) => html`<option value=${reason} ?selected=${reason === this.#reason}>${tDynamic(`cash.${reason}`)}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="cash-amount">${t("cash.amount")}</label>
        <input id="cash-amount" inputmode="decimal" autocomplete="off" .value=${this.#amount}
          aria-invalid=${this.#error ? "true" : "false"}
          @input=${(e: Event) => (this.#amount = (e.target as HTMLInputElement).value)} />
      </div>
      ${errorView(this.#error, "cash-error")} ${noticeView(this.#done)}
      <div class="row">
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent("close", { bubbles: true, composed: true }))}>${t("common.back")} <kbd>Esc</kbd></button>
        <button type="submit" class="primary" ?disabled=${this.#busy}>${t("cash.submit")} <kbd>Enter</kbd></button>
      </div>
    </form>`;
  }
}

customElements.define("mercora-cash-panel", CashPanel);

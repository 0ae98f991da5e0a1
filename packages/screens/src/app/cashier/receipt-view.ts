import { css, html, nothing } from "lit";
import { formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { RecordResponse } from "./types.ts";

/** The last recorded ticket: total, change in large type, and the receipt text as it printed. */
export class ReceiptView extends ScreenElement {
  static override properties = { sale: { attribute: false }, money: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      .change {
        font-size: 2rem;
        font-weight: 700;
        color: var(--ok);
        font-variant-numeric: tabular-nums;
      }
      pre {
        font-size: 0.72rem;
        background: #fafafa;
        border: 1px dashed var(--line);
        padding: 0.5rem;
        max-height: 16rem;
        overflow: auto;
        white-space: pre;
      }
    `,
  ];

  declare sale: RecordResponse | null;
  declare money: CurrencySettings;

  override render() {
    const sale = this.sale;
    if (!sale) return nothing;
    const record = sale.record;
    const folio = record.folio ?? record.provisionalFolio;
    return html`<section class="panel" data-testid="receipt" aria-live="polite">
      <h2>${record.kind === "refund" ? t("receipt.refundDone") : t("receipt.saleDone")}</h2>
      <p>
        ${t("receipt.ticket")} <strong data-testid="receipt-ticket">${record.id}</strong>
        ${folio ? html`· ${t("receipt.folio")} ${folio}` : nothing}
        ${record.offline ? html`<span class="badge offline">${t("receipt.offline")}</span>` : nothing}
      </p>
      <p>${t("receipt.total")} <strong>${formatMoney(record.total, this.money)}</strong></p>
      ${record.kind === "sale"
        ? html`<p>${t("receipt.change")}</p><p class="change" data-testid="receipt-change">${formatMoney(record.change, this.money)}</p>`
        : nothing}
      ${sale.receipt ? html`<pre aria-label=${t("receipt.text")}>${sale.receipt}</pre>` : nothing}
    </section>`;
  }
}

customElements.define("mercora-receipt", ReceiptView);

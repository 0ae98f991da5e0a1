import { css, html } from "lit";
import { formatMoney, formatTime } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { FeedRecord } from "./types.ts";

/** The records the relay ingested most recently, newest first, with those recorded offline marked. */
export class RecordsFeed extends ScreenElement {
  static override properties = { records: { attribute: false }, money: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      .head {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
      label.toggle {
        display: inline-flex;
        align-items: center;
        gap: 0.35rem;
        color: var(--ink);
        font-size: 0.85rem;
      }
      label.toggle input {
        width: auto;
      }
      tr.fresh td {
        animation: flash 2s ease-out;
      }
      @keyframes flash {
        from {
          background: #fff3c4;
        }
        to {
          background: transparent;
        }
      }
    `,
  ];

  declare records: FeedRecord[];
  declare money: CurrencySettings;
  #offlineOnly = false;

  constructor() {
    super();
    this.records = [];
  }

  override render() {
    const shown = this.records.filter((record) => !this.#offlineOnly || record.offline);
    return html`<section class="panel" aria-labelledby="feed-title">
      <div class="head">
        <h2 id="feed-title">${t("feed.title")}</h2>
        <label class="toggle"><input type="checkbox" .checked=${this.#offlineOnly}
          @change=${(e: Event) => { this.#offlineOnly = (e.target as HTMLInputElement).checked; this.requestUpdate(); }} />${t("feed.offlineOnly")}</label>
      </div>
      ${shown.length === 0
        ? html`<p class="muted">${t("feed.empty")}</p>`
        : html`<div class="table-wrap"><table class="stack" data-testid="records-feed">
            <thead><tr><th>${t("feed.time")}</th><th>${t("feed.record")}</th><th>${t("feed.kind")}</th><th class="num">${t("feed.total")}</th><th>${t("feed.origin")}</th></tr></thead>
            <tbody>
              ${shown.map(
                (record) => html`<tr data-record=${record.id}>
                  <td data-label=${t("feed.time")}>${formatTime(record.at)}</td>
                  <td data-label=${t("feed.record")}>${record.id}</td>
                  <td data-label=${t("feed.kind")}>${tDynamic(`recordKind.${record.kind}`)}</td>
                  <td class="num" data-label=${t("feed.total")}>${record.kind === "sale" || record.kind === "refund" ? formatMoney(record.total, this.money) : "—"}</td>
                  <td data-label=${t("feed.origin")}>${record.offline ? html`<span class="badge offline">${t("feed.offline")}</span>` : html`<span class="badge ok">${t("feed.online")}</span>`}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`}
    </section>`;
  }
}

customElements.define("mercora-records-feed", RecordsFeed);

import { css, html, nothing, svg } from "lit";
import { formatCount, formatMoney } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { WidthObserver } from "../shared/width-observer.ts";
import type { Dashboard } from "./types.ts";

const HEIGHT = 200;
const BOTTOM = 26;
const TOP = 14;

/**
 * Sales per hour of the business day as bars; the share of tickets sold
 * offline is striped at the bottom of each bar.
 */
export class SalesChart extends ScreenElement {
  static override properties = { dashboard: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      svg {
        width: 100%;
        height: auto;
        display: block;
      }
      .legend {
        font-size: 0.8rem;
        display: flex;
        gap: 1rem;
        flex-wrap: wrap;
      }
      .swatch {
        display: inline-block;
        width: 0.9rem;
        height: 0.9rem;
        vertical-align: middle;
        margin-right: 0.3rem;
        background: #0b5cad;
      }
      .swatch.offline {
        background: #7c3aed;
      }
    `,
  ];

  declare dashboard: Dashboard | null;
  readonly #size = new WidthObserver(this, 1000);

  override render() {
    const dashboard = this.dashboard;
    if (!dashboard) return nothing;
    const money = { currency: dashboard.currency, minorUnitDigits: dashboard.minorUnitDigits };
    const hours = dashboard.salesPerHour;
    const max = Math.max(1, ...hours.map((h) => h.sales));
    const width = Math.max(300, this.#size.width - 26);
    const slot = width / hours.length;
    const labelEvery = width < 600 ? 6 : 3;
    const plot = HEIGHT - BOTTOM - TOP;
    const tickets = hours.reduce((sum, h) => sum + h.tickets, 0);
    const sales = hours.reduce((sum, h) => sum + h.sales, 0);
    return html`<section class="panel" aria-labelledby="sales-title">
      <h2 id="sales-title">${t("manager.salesPerHour", { day: dashboard.businessDay })}</h2>
      <p class="muted">${t("manager.salesTotal", { tickets: formatCount(tickets), amount: formatMoney(sales, money) })}</p>
      <svg viewBox="0 0 ${width} ${HEIGHT}" role="img" aria-label=${t("manager.salesPerHour", { day: dashboard.businessDay })} data-testid="sales-chart">
        <line x1="0" x2=${width} y1=${HEIGHT - BOTTOM} y2=${HEIGHT - BOTTOM} stroke="#9aa3ad"></line>
        ${hours.map((h, index) => {
          const barHeight = (h.sales / max) * plot;
          const offlineHeight = h.tickets > 0 ? (barHeight * h.offlineTickets) / h.tickets : 0;
          const x = index * slot + slot * 0.15;
          const width = slot * 0.7;
          const title = t("manager.hourTitle", { hour: String(h.hour).padStart(2, "0"), tickets: h.tickets, offline: h.offlineTickets, amount: formatMoney(h.sales, money) });
          return svg`<g>
            <title>${title}</title>
            <rect x=${x} y=${HEIGHT - BOTTOM - barHeight} width=${width} height=${barHeight} fill="#0b5cad"></rect>
            <rect x=${x} y=${HEIGHT - BOTTOM - offlineHeight} width=${width} height=${offlineHeight} fill="#7c3aed"></rect>
            ${index % labelEvery === 0 ? svg`<text x=${index === 0 ? x : x + width / 2} y=${HEIGHT - 8} font-size="13" text-anchor=${index === 0 ? "start" : "middle"} fill="#5b6570">${String(h.hour).padStart(2, "0")}h</text>` : nothing}
          </g>`;
        })}
      </svg>
      <div class="legend">
        <span><span class="swatch"></span>${t("manager.legendSales")}</span>
        <span><span class="swatch offline"></span>${t("manager.legendOfflineSales")}</span>
      </div>
    </section>`;
  }
}

customElements.define("mercora-sales-chart", SalesChart);

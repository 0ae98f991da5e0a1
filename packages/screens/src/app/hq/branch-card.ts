import { css, html, nothing } from "lit";
import { formatCount, formatDateTime, formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { findFiscalDeadlines } from "../manager/fiscal-panel.ts";
import type { BranchSummary } from "./types.ts";

/** Business days a branch card lists. */
const DAYS_SHOWN = 7;

/** Today's business day in a time zone, as YYYY-MM-DD. */
export function todayIn(timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

/**
 * One branch at HQ: its terminals with last contact, sales per business
 * day with the tickets sold offline, open conflicts, folio alerts and
 * fiscal deadlines, and a link to its manager dashboard.
 */
export class BranchCard extends ScreenElement {
  static override properties = { summary: { attribute: false }, money: { attribute: false }, token: { type: String } };
  static override styles = [
    baseStyles,
    css`
      .head {
        display: flex;
        justify-content: space-between;
        align-items: baseline;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
      .stats {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(7.5rem, 1fr));
        gap: 0.5rem;
        margin: 0.5rem 0;
      }
      .stat {
        background: #f6f7f9;
        border-radius: 6px;
        padding: 0.4rem 0.5rem;
        min-width: 0;
      }
      .stat strong {
        display: block;
        font-size: 1.15rem;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }
      .stat span {
        font-size: 0.78rem;
        color: var(--muted);
      }
      ul {
        margin: 0.25rem 0 0.5rem;
        padding-left: 1.1rem;
      }
      li {
        overflow-wrap: anywhere;
      }
    `,
  ];

  declare summary: BranchSummary;
  declare money: CurrencySettings;
  declare token: string;

  #terminals() {
    const zone = this.summary.timeZone;
    return html`<div class="table-wrap"><table class="stack" data-testid="hq-terminals">
      <thead><tr><th>${t("hq.terminal")}</th><th>${t("hq.link")}</th><th>${t("hq.lastContact")}</th><th class="num">${t("hq.acked")}</th></tr></thead>
      <tbody>
        ${this.summary.terminals.map(
          (terminal) => html`<tr data-terminal=${terminal.id}>
            <td data-label=${t("hq.terminal")}><span>${terminal.name} <span class="muted">(${terminal.id})</span></span></td>
            <td data-label=${t("hq.link")}>${terminal.connected ? html`<span class="badge ok">${t("hq.connected")}</span>` : html`<span class="badge offline">${t("hq.disconnected")}</span>`}</td>
            <td data-label=${t("hq.lastContact")}>${formatDateTime(terminal.lastContact, zone)}</td>
            <td class="num" data-label=${t("hq.acked")}>${terminal.ackedSeq}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  #days() {
    const days = [...this.summary.days].slice(-DAYS_SHOWN).reverse();
    if (days.length === 0) return html`<p class="muted">${t("hq.noSales")}</p>`;
    return html`<div class="table-wrap"><table data-testid="hq-days">
      <thead><tr><th>${t("hq.day")}</th><th class="num">${t("hq.tickets")}</th><th class="num">${t("hq.sales")}</th><th class="num">${t("hq.offlineTickets")}</th></tr></thead>
      <tbody>
        ${days.map(
          (day) => html`<tr data-day=${day.businessDay}>
            <td>${day.businessDay}</td>
            <td class="num">${formatCount(day.tickets)}</td>
            <td class="num">${formatMoney(day.sales, this.money)}</td>
            <td class="num">${day.offlineTickets > 0 ? html`<span class="badge offline">${formatCount(day.offlineTickets)}</span>` : "0"}</td>
          </tr>`,
        )}
      </tbody>
    </table></div>`;
  }

  #conflicts() {
    const open = this.summary.conflicts.filter((c) => (c.status ?? "open") === "open");
    if (open.length === 0) return html`<p class="muted">${t("conflict.noneOpen")}</p>`;
    return html`<ul data-testid="hq-conflicts">
      ${open.map((c) => html`<li>${tDynamic(`conflictKind.${c.kind}`)}${c.sku ? ` · ${c.sku}` : ""}${c.kind === "oversell" ? ` · ${t("conflict.shortfallShort", { count: c.shortfall })}` : ""}${c.tickets.length > 0 ? ` · ${c.tickets.join(", ")}` : ""}</li>`)}
    </ul>`;
  }

  #fiscal() {
    const alerts = this.summary.folios?.alerts ?? [];
    const deadlines = findFiscalDeadlines(this.summary);
    if (alerts.length === 0 && !deadlines) return nothing;
    return html`<h3>${t("fiscal.title")}</h3>
      <ul>
        ${alerts.map((alert) => html`<li class="muted">${alert}</li>`)}
        ${(deadlines ?? []).map((d) => html`<li>${d.label}: ${formatDateTime(d.dueAt, this.summary.timeZone)}</li>`)}
      </ul>`;
  }

  override render() {
    const summary = this.summary;
    const today = summary.days.find((day) => day.businessDay === todayIn(summary.timeZone));
    const open = summary.conflicts.filter((c) => (c.status ?? "open") === "open").length;
    const connected = summary.terminals.filter((terminal) => terminal.connected).length;
    const dashboard = `/hq/gerencia?branch=${encodeURIComponent(summary.branch)}&token=${encodeURIComponent(this.token)}`;
    return html`<article class="panel" data-testid="branch-card" data-branch=${summary.branch}>
      <div class="head">
        <h2>${summary.name} <span class="muted">(${summary.branch})</span></h2>
        <a href=${dashboard}>${t("hq.managerDashboard")}</a>
      </div>
      <div class="stats">
        <div class="stat"><strong data-testid="today-tickets">${formatCount(today?.tickets ?? 0)}</strong><span>${t("hq.ticketsToday")}</span></div>
        <div class="stat"><strong data-testid="today-sales">${formatMoney(today?.sales ?? 0, this.money)}</strong><span>${t("hq.salesToday")}</span></div>
        <div class="stat"><strong>${formatCount(today?.offlineTickets ?? 0)}</strong><span>${t("hq.offlineToday")}</span></div>
        <div class="stat"><strong>${connected}/${summary.terminals.length}</strong><span>${t("hq.terminalsConnected")}</span></div>
        <div class="stat"><strong data-testid="open-conflicts">${open}</strong><span>${t("hq.openConflicts")}</span></div>
      </div>
      <h3>${t("hq.terminals")}</h3>
      ${this.#terminals()}
      <h3>${t("hq.salesPerDay")}</h3>
      ${this.#days()}
      <h3>${t("conflict.title")}</h3>
      ${this.#conflicts()}
      ${this.#fiscal()}
    </article>`;
  }
}

customElements.define("mercora-branch-card", BranchCard);

import { html, nothing } from "lit";
import { formatDateTime, formatDuration } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { Dashboard } from "./types.ts";

/** Per terminal of the branch: pending queue, offline now, offline time today and this month. */
export class TerminalsTable extends ScreenElement {
  static override properties = { dashboard: { attribute: false }, atHq: { type: Boolean } };
  static override styles = [baseStyles];

  declare dashboard: Dashboard | null;
  declare atHq: boolean;

  override render() {
    const dashboard = this.dashboard;
    if (!dashboard) return nothing;
    const zone = dashboard.timeZone;
    return html`<section class="panel" aria-labelledby="terminals-title">
      <h2 id="terminals-title">${t("manager.terminals")}</h2>
      <div class="table-wrap">
        <table class="stack" data-testid="terminals">
          <thead>
            <tr>
              <th>${t("manager.terminal")}</th>
              <th>${t("manager.connection")}</th>
              <th class="num">${t("manager.pending")}</th>
              <th class="num">${t("manager.acked")}</th>
              <th class="num">${t("manager.offlineToday")}</th>
              <th class="num">${t("manager.offlineMonth")}</th>
              <th>${this.atHq ? t("manager.lastContact") : t("manager.lastRecord")}</th>
            </tr>
          </thead>
          <tbody>
            ${dashboard.terminals.map(
              (terminal) => html`<tr data-terminal=${terminal.id}>
                <td data-label=${t("manager.terminal")}><span>${terminal.name} <span class="muted">(${terminal.id})</span></span></td>
                <td data-label=${t("manager.connection")}><span>
                  ${terminal.offline.offlineNow
                    ? html`<span class="badge offline">${t("manager.offlineSince", { time: formatDateTime(terminal.offline.offlineSince, zone) })}</span>`
                    : html`<span class="badge ok">${t("status.online")}</span>`}
                  ${this.atHq && terminal.connected === false ? html`<span class="badge warn">${t("manager.notConnected")}</span>` : nothing}
                </span></td>
                <td class="num" data-testid="pending" data-label=${t("manager.pending")}>${terminal.pending ?? "—"}</td>
                <td class="num" data-label=${t("manager.acked")}>${terminal.ackedSeq}</td>
                <td class="num" data-label=${t("manager.offlineToday")}>${formatDuration(terminal.offline.todayMs)}</td>
                <td class="num" data-label=${t("manager.offlineMonth")}>${formatDuration(terminal.offline.monthMs)}</td>
                <td data-label=${this.atHq ? t("manager.lastContact") : t("manager.lastRecord")}>${formatDateTime((this.atHq ? terminal.lastContact : terminal.lastRecordAt) ?? null, zone)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>`;
  }
}

customElements.define("mercora-terminals-table", TerminalsTable);

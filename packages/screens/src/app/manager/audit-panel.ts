import { html, nothing } from "lit";
import { formatDateTime, formatMoney } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { AuditEntry, Dashboard } from "./types.ts";

interface AuditRow {
  at: string;
  kind: string;
  who: string;
  what: string;
  where: string;
}

/** Rows the audit trail lists at most. */
const ROWS = 60;

/**
 * The audit trail: conflict resolutions (when the server keeps them),
 * refunds and stock buffer overrides a manager authorized, and manual
 * offline switches, newest first.
 */
export class AuditPanel extends ScreenElement {
  static override properties = { dashboard: { attribute: false }, entries: { attribute: false } };
  static override styles = [baseStyles];

  declare dashboard: Dashboard | null;
  /** Conflict resolutions from `GET /audit`, or null when the server has no such route. */
  declare entries: AuditEntry[] | null;

  #rows(dashboard: Dashboard): AuditRow[] {
    const money = { currency: dashboard.currency, minorUnitDigits: dashboard.minorUnitDigits };
    const rows: AuditRow[] = [];
    for (const entry of this.entries ?? []) {
      rows.push({
        at: entry.at,
        kind: t("audit.resolution"),
        who: entry.managerName ?? entry.manager,
        what: `${tDynamic(`conflictAction.${entry.action}`)} · ${entry.conflictId}${entry.reason ? ` · ${entry.reason}` : ""}`,
        where: entry.replica,
      });
    }
    for (const auth of dashboard.authorizations) {
      rows.push({
        at: auth.at,
        kind: auth.kind === "refund" ? t("audit.refund") : t("audit.override"),
        who: auth.manager,
        what: `${auth.record}${auth.refundOf ? ` ← ${auth.refundOf}` : ""} · ${formatMoney(auth.total, money)}${auth.reason ? ` · ${auth.reason}` : ""}`,
        where: auth.terminal,
      });
    }
    for (const change of dashboard.manualSwitches) {
      rows.push({
        at: change.start,
        kind: t("audit.manualOffline"),
        who: change.by ?? "—",
        what: `${change.reason ?? ""}${change.end ? ` · ${t("audit.until", { time: formatDateTime(change.end, dashboard.timeZone) })}` : ` · ${t("audit.stillOffline")}`}`,
        where: change.terminal,
      });
    }
    rows.sort((a, b) => b.at.localeCompare(a.at));
    return rows.slice(0, ROWS);
  }

  override render() {
    const dashboard = this.dashboard;
    if (!dashboard) return nothing;
    const rows = this.#rows(dashboard);
    return html`<section class="panel" aria-labelledby="audit-title">
      <h2 id="audit-title">${t("audit.title")}</h2>
      ${this.entries === null ? html`<p class="muted">${t("audit.noConflictAudit")}</p>` : nothing}
      ${rows.length === 0
        ? html`<p class="muted">${t("audit.empty")}</p>`
        : html`<div class="table-wrap">
            <table class="stack" data-testid="audit">
              <thead>
                <tr><th>${t("audit.when")}</th><th>${t("audit.kind")}</th><th>${t("audit.who")}</th><th>${t("audit.what")}</th><th>${t("audit.where")}</th></tr>
              </thead>
              <tbody>
                ${rows.map(
                  (row) => html`<tr>
                    <td data-label=${t("audit.when")}>${formatDateTime(row.at, dashboard.timeZone)}</td>
                    <td data-label=${t("audit.kind")}>${row.kind}</td>
                    <td data-label=${t("audit.who")}>${row.who}</td>
                    <td data-label=${t("audit.what")}>${row.what}</td>
                    <td data-label=${t("audit.where")}>${row.where}</td>
                  </tr>`,
                )}
              </tbody>
            </table>
          </div>`}
    </section>`;
  }
}

customElements.define("mercora-audit-panel", AuditPanel);

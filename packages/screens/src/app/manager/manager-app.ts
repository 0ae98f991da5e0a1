import { css, html, nothing } from "lit";
import { ApiError } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatDateTime } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import "../shared/lang-switch.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import "../shared/status-badge.ts";
import { baseStyles } from "../shared/styles.ts";
import "./audit-panel.ts";
import "./conflicts-panel.ts";
import { sourceFromLocation } from "./dashboard-source.ts";
import "./fiscal-panel.ts";
import { findFiscalDeadlines } from "./fiscal-panel.ts";
import type { FiscalDeadline } from "./fiscal-panel.ts";
import "./offline-switch.ts";
import "./offline-timeline.ts";
import "./sales-chart.ts";
import "./terminals-table.ts";
import type { AuditEntry, Dashboard, UserEntry } from "./types.ts";

/** Time between refreshes of the dashboard figures. */
const REFRESH_MS = 5000;

/**
 * The manager dashboard of one branch, on any terminal (`/gerencia`) and
 * at HQ (`/hq/gerencia?branch=B`). It shows the pending queue and offline
 * time per terminal, offline periods on a timeline, sales per hour,
 * conflicts with their resolution, the audit trail, fiscal deadlines and
 * the manual offline switch, and refreshes them in the background.
 */
export class ManagerApp extends ScreenElement {
  static override styles = [
    baseStyles,
    css`
      header {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1rem;
        align-items: center;
        justify-content: space-between;
        padding: 0.5rem 0.75rem;
        background: #1b1f24;
        color: #fff;
      }
      header h1 {
        margin: 0;
        font-size: 1.05rem;
      }
      header .tools {
        display: flex;
        gap: 0.6rem;
        align-items: center;
        flex-wrap: wrap;
      }
      header a {
        color: #fff;
      }
      main {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 0.75rem;
        padding: 0.75rem;
        max-width: 1280px;
        margin: 0 auto;
      }
      .wide {
        grid-column: 1 / -1;
      }
      .updated {
        font-size: 0.8rem;
        color: #cfd5db;
      }
      @media (max-width: 760px) {
        main {
          grid-template-columns: minmax(0, 1fr);
        }
      }
    `,
  ];

  readonly #source = sourceFromLocation(window.location);
  #dashboard: Dashboard | null = null;
  #managers: UserEntry[] = [];
  #audit: AuditEntry[] | null = null;
  #deadlines: FiscalDeadline[] | null = null;
  #manualOffline = false;
  #error: ShownError | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#refresh();
    void this.#loadManagers();
    this.#timer = setInterval(() => void this.#refresh(), REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearInterval(this.#timer);
  }

  async #loadManagers(): Promise<void> {
    try {
      const users = await this.#source.api.get<UserEntry[]>(this.#source.users);
      this.#managers = users.filter((user) => user.role === "manager");
      this.requestUpdate();
    } catch {
      // The forms fall back to typing the manager's user id.
    }
  }

  async #refresh(): Promise<void> {
    try {
      this.#dashboard = await this.#source.api.get<Dashboard>(this.#source.dashboard);
      document.title = `Mercora · ${t("manager.title")} · ${this.#dashboard.name}`;
      this.#error = null;
    } catch (error) {
      this.#error = describeError(error);
    }
    await Promise.all([this.#refreshAudit(), this.#refreshSummary()]);
    this.requestUpdate();
  }

  async #refreshAudit(): Promise<void> {
    try {
      this.#audit = await this.#source.api.get<AuditEntry[]>(this.#source.audit);
    } catch (error) {
      // A server without conflict review has no audit route yet.
      if (error instanceof ApiError && error.status === 404) this.#audit = null;
    }
  }

  /** Reads fiscal deadlines (and at HQ nothing else) from the relay's branch summary. */
  async #refreshSummary(): Promise<void> {
    if (!this.#source.summary) return;
    try {
      this.#deadlines = findFiscalDeadlines(await this.#source.api.get<Record<string, unknown>>(this.#source.summary));
    } catch {
      // Keep the last deadlines shown.
    }
  }

  /** Takes the manual switch and fiscal deadlines from each status poll of the terminal. */
  #onStatus(event: CustomEvent<Record<string, unknown>>): void {
    this.#manualOffline = event.detail.manualOffline === true;
    this.#deadlines = findFiscalDeadlines(event.detail);
    this.requestUpdate();
  }

  override render() {
    const dashboard = this.#dashboard;
    const where = this.#source.kind === "hq" ? t("manager.atHq") : "";
    return html`<header>
        <h1>${t("manager.title")} · ${dashboard ? `${dashboard.name} (${dashboard.branch})` : "…"} ${where}</h1>
        <div class="tools">
          ${this.#source.kind === "terminal" ? html`<mercora-status-badge @status=${this.#onStatus}></mercora-status-badge>` : nothing}
          ${dashboard ? html`<span class="updated">${t("manager.updated", { time: formatDateTime(dashboard.generatedAt, dashboard.timeZone) })}</span>` : nothing}
          <a href=${this.#source.home}>${this.#source.kind === "hq" ? "HQ" : t("nav.cashier")}</a>
          <mercora-lang-switch></mercora-lang-switch>
        </div>
      </header>
      <main>
        ${this.#error ? html`<div class="wide">${errorView(this.#error)}</div>` : nothing}
        <mercora-terminals-table class="wide" .dashboard=${dashboard} ?atHq=${this.#source.kind === "hq"}></mercora-terminals-table>
        <mercora-offline-timeline class="wide" .dashboard=${dashboard}></mercora-offline-timeline>
        <mercora-sales-chart class=${this.#deadlines ? "" : "wide"} .dashboard=${dashboard}></mercora-sales-chart>
        ${this.#deadlines ? html`<mercora-fiscal-panel .deadlines=${this.#deadlines} timeZone=${dashboard?.timeZone ?? "UTC"}></mercora-fiscal-panel>` : nothing}
        <mercora-conflicts-panel class="wide" .source=${this.#source} .managers=${this.#managers} timeZone=${dashboard?.timeZone ?? "UTC"}></mercora-conflicts-panel>
        <mercora-audit-panel class="wide" .dashboard=${dashboard} .entries=${this.#audit}></mercora-audit-panel>
        <mercora-offline-switch class="wide" .source=${this.#source} .managers=${this.#managers} ?manualOffline=${this.#manualOffline}></mercora-offline-switch>
      </main>`;
  }
}

customElements.define("mercora-manager", ManagerApp);

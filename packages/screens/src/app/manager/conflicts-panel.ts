import { css, html, nothing } from "lit";
import { describeError, errorView, noticeView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatDateTime } from "../shared/format.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { normalizeConflict } from "./dashboard-source.ts";
import type { DashboardSource } from "./dashboard-source.ts";
import "./resolve-form.ts";
import type { AuditEntry, Conflict, UserEntry } from "./types.ts";

/** Time between refreshes of the conflict list. */
const REFRESH_MS = 5000;

/**
 * Open and resolved conflicts of the branch: a list per status, the
 * detail of the chosen one with its audit, and the form that resolves
 * it. Without conflict review on the server, the list shows today's open
 * conflicts and the form shows the server's error in place.
 */
export class ConflictsPanel extends ScreenElement {
  static override properties = { source: { attribute: false }, managers: { attribute: false }, timeZone: { type: String } };
  static override styles = [
    baseStyles,
    css`
      .tabs {
        display: flex;
        gap: 0.35rem;
        margin-bottom: 0.5rem;
      }
      .tabs button[aria-selected="true"] {
        background: var(--ink);
        color: #fff;
      }
      .layout {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1.2fr);
        gap: 0.75rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li button {
        width: 100%;
        text-align: left;
        margin-bottom: 0.35rem;
        display: block;
      }
      li button[aria-current="true"] {
        border-color: var(--accent);
        box-shadow: 0 0 0 2px var(--accent) inset;
      }
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 0.2rem 0.75rem;
        margin: 0 0 0.75rem;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      @media (max-width: 760px) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
        }
      }
    `,
  ];

  declare source: DashboardSource;
  declare managers: UserEntry[];
  declare timeZone: string;
  #conflicts: Conflict[] = [];
  #tab: "open" | "resolved" = "open";
  #selected: string | null = null;
  #error: ShownError | null = null;
  #notice: string | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    super();
    this.managers = [];
    this.timeZone = "UTC";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Reloads every conflict, open and resolved. */
  async refresh(): Promise<void> {
    try {
      const raw = await this.source.api.get<Conflict[]>(this.source.conflicts("all"));
      this.#conflicts = raw.map(normalizeConflict);
      this.#error = null;
    } catch (error) {
      this.#error = describeError(error);
    }
    this.requestUpdate();
  }

  #resolved(event: CustomEvent<{ conflict: Conflict; entry: AuditEntry }>): void {
    const updated = normalizeConflict(event.detail.conflict);
    this.#conflicts = this.#conflicts.map((c) => (c.id === updated.id ? updated : c));
    this.#notice = t("conflict.resolvedNotice", { action: tDynamic(`conflictAction.${event.detail.entry.action}`) });
    this.requestUpdate();
  }

  #detail(conflict: Conflict) {
    const zone = this.timeZone;
    return html`<article data-testid="conflict-detail" data-conflict=${conflict.id}>
      <h3>${tDynamic(`conflictKind.${conflict.kind}`)} ${conflict.sku ? html`· SKU ${conflict.sku}` : nothing}</h3>
      <dl>
        <dt>${t("conflict.status")}</dt><dd data-testid="conflict-status">${tDynamic(`conflictStatus.${conflict.status}`)}</dd>
        ${conflict.kind === "oversell" ? html`<dt>${t("conflict.shortfall")}</dt><dd>${conflict.shortfall}</dd>` : nothing}
        ${conflict.tickets.length > 0 ? html`<dt>${t("conflict.tickets")}</dt><dd>${conflict.tickets.join(", ")}</dd>` : nothing}
        ${conflict.subject ? html`<dt>${t("conflict.subject")}</dt><dd>${conflict.subject}</dd>` : nothing}
        <dt>${t("conflict.detail")}</dt><dd>${conflict.detail}</dd>
        <dt>${t("conflict.detected")}</dt><dd>${formatDateTime(conflict.firstDetectedAt, zone)} · ${conflict.detectedByAll.join(", ") || conflict.detectedBy}</dd>
        ${conflict.resolution
          ? html`<dt>${t("conflict.resolution")}</dt>
              <dd>${tDynamic(`conflictAction.${conflict.resolution.action}`)} · ${conflict.resolution.managerName ?? conflict.resolution.manager} · ${formatDateTime(conflict.resolution.at, zone)} · ${conflict.resolution.reason}</dd>`
          : nothing}
      </dl>
      ${conflict.audit.length > 0
        ? html`<h3>${t("conflict.audit")}</h3>
            <ul>
              ${conflict.audit.map(
                (entry) => html`<li>${formatDateTime(entry.at, zone)} · ${tDynamic(`conflictAction.${entry.action}`)} · ${entry.managerName ?? entry.manager} · ${entry.reason}
                  ${entry.outcome === "superseded" ? html`<span class="badge warn">${t("conflict.superseded")}</span>` : nothing}</li>`,
              )}
            </ul>`
        : nothing}
      ${conflict.status === "open"
        ? html`<mercora-resolve-form .source=${this.source} .conflict=${conflict} .managers=${this.managers} @resolved=${this.#resolved}></mercora-resolve-form>`
        : nothing}
    </article>`;
  }

  override render() {
    const shown = this.#conflicts.filter((c) => c.status === this.#tab);
    const selected = this.#conflicts.find((c) => c.id === this.#selected) ?? shown[0] ?? null;
    const count = (status: string) => this.#conflicts.filter((c) => c.status === status).length;
    const tab = (status: "open" | "resolved") => html`<button type="button" role="tab" aria-selected=${this.#tab === status ? "true" : "false"}
      data-testid=${`conflicts-tab-${status}`}
      @click=${() => { this.#tab = status; this.#selected = null; this.requestUpdate(); }}>
      ${tDynamic(`conflictTab.${status}`)} (${count(status)})</button>`;
    return html`<section class="panel" aria-labelledby="conflicts-title" data-testid="conflicts">
      <h2 id="conflicts-title">${t("conflict.title")}</h2>
      <div class="tabs" role="tablist">${tab("open")}${tab("resolved")}</div>
      ${errorView(this.#error, "conflicts-error")} ${noticeView(this.#notice, null, "conflict-notice")}
      ${shown.length === 0
        ? html`<p class="muted">${this.#tab === "open" ? t("conflict.noneOpen") : t("conflict.noneResolved")}</p>`
        : html`<div class="layout">
            <ul data-testid="conflict-list">
              ${shown.map(
                (c) => html`<li>
                  <button type="button" aria-current=${selected?.id === c.id ? "true" : "false"} data-conflict=${c.id}
                    @click=${() => { this.#selected = c.id; this.#notice = null; this.requestUpdate(); }}>
                    <strong>${tDynamic(`conflictKind.${c.kind}`)}</strong> ${c.sku ? html`· ${c.sku}` : nothing}
                    ${c.kind === "oversell" ? html`· ${t("conflict.shortfallShort", { count: c.shortfall })}` : nothing}
                    <br /><small class="muted">${formatDateTime(c.firstDetectedAt, this.timeZone)}</small>
                  </button>
                </li>`,
              )}
            </ul>
            ${selected ? this.#detail(selected) : nothing}
          </div>`}
    </section>`;
  }
}

customElements.define("mercora-conflicts-panel", ConflictsPanel);

import { css, html, nothing } from "lit";
import { formatDateTime, formatDuration } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";

/** One fiscal deadline as the panel shows it. */
export interface FiscalDeadline {
  label: string;
  dueAt: string;
  count: number | null;
}

/**
 * Reads the fiscal records still owed from a terminal's `/status` or a
 * relay branch summary: `fiscal.records`, each with the record or its
 * folio and its `transmitBy` instant. Returns null when the source has no
 * `fiscal` field, and the panel stays hidden.
 */
export function findFiscalDeadlines(source: Record<string, unknown> | null): FiscalDeadline[] | null {
  const fiscal = source?.fiscal as { records?: unknown } | undefined;
  if (!fiscal || !Array.isArray(fiscal.records)) return null;
  const deadlines: FiscalDeadline[] = [];
  for (const raw of fiscal.records) {
    if (typeof raw !== "object" || raw === null) continue;
    const item = raw as { record?: unknown; folio?: unknown; transmitBy?: unknown };
    if (typeof item.transmitBy !== "string" || Number.isNaN(Date.parse(item.transmitBy))) continue;
    const label = typeof item.folio === "string" && item.folio !== "" ? item.folio : String(item.record ?? "—");
    deadlines.push({ label, dueAt: item.transmitBy, count: null });
  }
  return deadlines.sort((a, b) => (a.dueAt < b.dueAt ? -1 : 1));
}

/** Fiscal transmission deadlines with a live countdown; overdue ones in red. Hidden without deadlines. */
export class FiscalPanel extends ScreenElement {
  static override properties = { deadlines: { attribute: false }, timeZone: { type: String } };
  static override styles = [
    baseStyles,
    css`
      .overdue {
        color: var(--bad);
        font-weight: 700;
      }
      .soon {
        color: var(--warn);
        font-weight: 700;
      }
    `,
  ];

  declare deadlines: FiscalDeadline[] | null;
  declare timeZone: string;
  #timer: ReturnType<typeof setInterval> | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#timer = setInterval(() => this.requestUpdate(), 1000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer) clearInterval(this.#timer);
  }

  override render() {
    if (!this.deadlines) return nothing;
    const now = Date.now();
    return html`<section class="panel" aria-labelledby="fiscal-title" data-testid="fiscal">
      <h2 id="fiscal-title">${t("fiscal.title")}</h2>
      ${this.deadlines.length === 0
        ? html`<p class="muted">${t("fiscal.none")}</p>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th>${t("fiscal.what")}</th><th>${t("fiscal.due")}</th><th class="num">${t("fiscal.left")}</th></tr></thead>
            <tbody>
              ${this.deadlines.map((d) => {
                const left = Date.parse(d.dueAt) - now;
                let state = "";
                if (left < 0) state = "overdue";
                else if (left < 3_600_000) state = "soon";
                return html`<tr>
                  <td>${d.label}${d.count !== null ? html` <span class="muted">(${d.count})</span>` : nothing}</td>
                  <td>${formatDateTime(d.dueAt, this.timeZone)}</td>
                  <td class="num ${state}">${left < 0 ? t("fiscal.overdue", { time: formatDuration(-left) }) : formatDuration(left)}</td>
                </tr>`;
              })}
            </tbody>
          </table></div>`}
    </section>`;
  }
}

customElements.define("mercora-fiscal-panel", FiscalPanel);

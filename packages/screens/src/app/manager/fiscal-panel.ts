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

const DUE_FIELDS = ["dueAt", "deadline", "deadlineAt", "due", "expiresAt"];
const LABEL_FIELDS = ["label", "description", "kind", "folio", "record", "id"];

function firstString(item: Record<string, unknown>, fields: string[]): string | null {
  for (const field of fields) {
    const value = item[field];
    if (typeof value === "string" && value !== "") return value;
  }
  return null;
}

/**
 * Finds fiscal deadlines in a terminal status or a relay branch summary.
 * NOTE: the field's shape is not fixed yet, so this accepts a list under
 * `fiscalDeadlines`, `fiscal.deadlines` or `deadlines` whose items have a
 * due instant (`dueAt`, `deadline`, ...) and a label. It returns null when
 * there is no list, and the panel stays hidden.
 */
export function findFiscalDeadlines(source: Record<string, unknown> | null): FiscalDeadline[] | null {
  if (!source) return null;
  const fiscal = source.fiscal as Record<string, unknown> | undefined;
  const list = source.fiscalDeadlines ?? fiscal?.deadlines ?? source.deadlines;
  if (!Array.isArray(list)) return null;
  const deadlines: FiscalDeadline[] = [];
  for (const raw of list) {
    if (typeof raw !== "object" || raw === null) continue;
    const item = raw as Record<string, unknown>;
    const dueAt = firstString(item, DUE_FIELDS);
    if (!dueAt || Number.isNaN(Date.parse(dueAt))) continue;
    let count: number | null = null;
    if (typeof item.count === "number") count = item.count;
    else if (typeof item.records === "number") count = item.records;
    deadlines.push({ label: firstString(item, LABEL_FIELDS) ?? "—", dueAt, count });
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

import { css, html, nothing, svg } from "lit";
import { startOfNextZonedMonth, startOfZonedDay, startOfZonedMonth, zonedParts } from "@mercora/crdt-model/zoned-time";
import { formatDuration, formatTime } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import { WidthObserver } from "../shared/width-observer.ts";
import type { Dashboard } from "./types.ts";

const LABEL = 56;
const ROW = 30;
const AXIS = 26;

/**
 * Offline periods of every terminal on a timeline, today or this month,
 * in the branch time zone: one row per terminal, a bar per period
 * (striped when a manager switched it by hand), and a line at now.
 */
export class OfflineTimeline extends ScreenElement {
  static override properties = { dashboard: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      svg {
        width: 100%;
        height: auto;
        display: block;
      }
      :host {
        min-width: 0;
      }
      .head {
        display: flex;
        justify-content: space-between;
        align-items: center;
        gap: 0.5rem;
        flex-wrap: wrap;
      }
      .range button[aria-pressed="true"] {
        background: var(--ink);
        color: #fff;
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
        background: #7c3aed;
      }
      .swatch.manual {
        background: repeating-linear-gradient(45deg, #d97706 0 3px, #fbbf24 3px 6px);
      }
    `,
  ];

  declare dashboard: Dashboard | null;
  #range: "day" | "month" = "day";
  readonly #size = new WidthObserver(this, 1000);

  #bounds(now: number, zone: string): { start: number; end: number } {
    if (this.#range === "day") {
      const start = startOfZonedDay(now, zone);
      return { start, end: startOfZonedDay(start + 36 * 3_600_000, zone) };
    }
    return { start: startOfZonedMonth(now, zone), end: startOfNextZonedMonth(now, zone) };
  }

  #ticks(start: number, end: number, zone: string): { at: number; label: string }[] {
    const ticks: { at: number; label: string }[] = [];
    if (this.#range === "day") {
      const step = this.#size.width < 600 ? 6 : 3;
      for (let hour = 0; hour <= 24; hour += step) {
        const at = start + hour * 3_600_000;
        if (at <= end) ticks.push({ at, label: `${String(zonedParts(at, zone).hour).padStart(2, "0")}h` });
      }
      return ticks;
    }
    for (let at = start; at < end; at = startOfZonedDay(at + 36 * 3_600_000, zone)) {
      const day = zonedParts(at, zone).day;
      if (day === 1 || day % (this.#size.width < 600 ? 10 : 5) === 0) ticks.push({ at, label: String(day) });
    }
    return ticks;
  }

  #chart(dashboard: Dashboard) {
    const zone = dashboard.timeZone;
    const now = Date.parse(dashboard.generatedAt);
    const { start, end } = this.#bounds(now, zone);
    const width = Math.max(300, this.#size.width - 26);
    const plot = width - LABEL - 14;
    const x = (at: number) => LABEL + ((Math.min(Math.max(at, start), end) - start) / (end - start)) * plot;
    const height = AXIS + dashboard.terminals.length * ROW + 6;
    return html`<svg viewBox="0 0 ${width} ${height}" role="img" aria-label=${t("manager.timelineLabel")} data-testid="offline-timeline">
      <defs>
        <pattern id="manual" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="8" height="8" fill="#fbbf24"></rect><rect width="4" height="8" fill="#d97706"></rect>
        </pattern>
      </defs>
      ${this.#ticks(start, end, zone).map(
        (tick) => svg`<line x1=${x(tick.at)} x2=${x(tick.at)} y1=${AXIS - 4} y2=${height} stroke="#d5d9de"></line>
          <text x=${x(tick.at)} y=${AXIS - 8} font-size="13" text-anchor="middle" fill="#5b6570">${tick.label}</text>`,
      )}
      ${dashboard.terminals.map((terminal, row) => {
        const y = AXIS + row * ROW;
        return svg`<text x="0" y=${y + ROW / 2 + 5} font-size="14" fill="#1b1f24">${terminal.id}</text>
          <rect x=${LABEL} y=${y + 4} width=${plot} height=${ROW - 8} fill="#eef7f1"></rect>
          ${terminal.periods
            .filter((p) => Date.parse(p.start) < end && (p.end === null || Date.parse(p.end) > start))
            .map((p) => {
              const from = Date.parse(p.start);
              const to = p.end === null ? now : Date.parse(p.end);
              const width = Math.max(2, x(to) - x(from));
              const label = `${terminal.id}: ${formatTime(p.start, zone)}–${p.end ? formatTime(p.end, zone) : t("manager.now")} (${formatDuration(to - from)})${p.manual ? ` · ${t("manager.manualBy", { who: p.by ?? "?" })}` : ""}${p.reason ? ` · ${p.reason}` : ""}`;
              return svg`<rect class="period" x=${x(from)} y=${y + 4} width=${width} height=${ROW - 8} fill=${p.manual ? "url(#manual)" : "#7c3aed"}><title>${label}</title></rect>`;
            })}`;
      })}
      ${now >= start && now <= end ? svg`<line x1=${x(now)} x2=${x(now)} y1=${AXIS - 4} y2=${height} stroke="#b3261e" stroke-width="2"><title>${t("manager.now")}</title></line>` : nothing}
    </svg>`;
  }

  override render() {
    const dashboard = this.dashboard;
    if (!dashboard) return nothing;
    const setRange = (range: "day" | "month") => {
      this.#range = range;
      this.requestUpdate();
    };
    return html`<section class="panel" aria-labelledby="timeline-title">
      <div class="head">
        <h2 id="timeline-title">${t("manager.timeline")}</h2>
        <div class="range" role="group" aria-label=${t("manager.range")}>
          <button type="button" aria-pressed=${this.#range === "day" ? "true" : "false"} @click=${() => setRange("day")}>${t("manager.today")}</button>
          <button type="button" aria-pressed=${this.#range === "month" ? "true" : "false"} @click=${() => setRange("month")}>${t("manager.thisMonth")}</button>
        </div>
      </div>
      ${this.#chart(dashboard)}
      <div class="legend">
        <span><span class="swatch"></span>${t("manager.legendOffline")}</span>
        <span><span class="swatch manual"></span>${t("manager.legendManual")}</span>
      </div>
    </section>`;
  }
}

customElements.define("mercora-offline-timeline", OfflineTimeline);

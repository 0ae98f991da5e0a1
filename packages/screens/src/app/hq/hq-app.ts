import { css, html, nothing } from "lit";
import { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatCount, formatMoney, formatTime } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import "../shared/lang-switch.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import "./branch-card.ts";
import { todayIn } from "./branch-card.ts";
import "./records-feed.ts";
import "./stock-browser.ts";
import type { StockBrowser } from "./stock-browser.ts";
import type { BranchEvent, BranchSummary, FeedRecord, Overview } from "./types.ts";

/** Records the live feed keeps. */
const FEED_SIZE = 50;

/**
 * The HQ dashboard, served by the relay at `/hq?token=...`: every branch
 * merged, with its terminals, sales per business day, conflicts and
 * records from offline periods, stock per SKU with search and paging, and
 * a feed of incoming records. It follows the relay's event stream and
 * updates in place as records arrive.
 */
export class HqApp extends ScreenElement {
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
      .tools {
        display: flex;
        gap: 0.6rem;
        align-items: center;
        flex-wrap: wrap;
      }
      .live {
        font-size: 0.85rem;
      }
      main {
        display: grid;
        grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
        gap: 0.75rem;
        padding: 0.75rem;
        max-width: 1400px;
        margin: 0 auto;
      }
      .wide {
        grid-column: 1 / -1;
      }
      .totals {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr));
        gap: 0.5rem;
      }
      .totals div {
        background: #fff;
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.5rem 0.75rem;
        min-width: 0;
      }
      .totals strong {
        display: block;
        font-size: 1.3rem;
        font-variant-numeric: tabular-nums;
        overflow-wrap: anywhere;
      }
      .totals span {
        font-size: 0.8rem;
        color: var(--muted);
      }
      @media (max-width: 900px) {
        main {
          grid-template-columns: minmax(0, 1fr);
        }
      }
    `,
  ];

  readonly #token = new URLSearchParams(window.location.search).get("token") ?? "";
  readonly #api = new ApiClient(this.#token);
  #overview: Overview | null = null;
  #records: FeedRecord[] = [];
  #fresh = new Set<string>();
  #live = false;
  #lastEventAt: string | null = null;
  #error: ShownError | null = null;
  #events: EventSource | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
    this.#follow();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#events?.close();
  }

  get #money(): CurrencySettings {
    return { currency: this.#overview?.currency ?? "USD", minorUnitDigits: this.#overview?.minorUnitDigits ?? 2 };
  }

  async #load(): Promise<void> {
    try {
      const [overview, records] = await Promise.all([
        this.#api.get<Overview>("/api/hq/overview"),
        this.#api.get<FeedRecord[]>(`/api/hq/records/recent?limit=${FEED_SIZE}`),
      ]);
      this.#overview = overview;
      this.#records = records;
      this.#error = null;
    } catch (error) {
      this.#error = describeError(error);
    }
    this.requestUpdate();
  }

  /** Opens the relay's event stream; EventSource reconnects by itself, and each reconnection reloads the state. */
  #follow(): void {
    const events = new EventSource(`/api/hq/events?token=${encodeURIComponent(this.#token)}`);
    this.#events = events;
    let opened = false;
    events.addEventListener("ready", () => {
      if (opened) void this.#load();
      opened = true;
      this.#live = true;
      this.requestUpdate();
    });
    events.addEventListener("branch", (event) => this.#onBranch(JSON.parse((event as MessageEvent<string>).data) as BranchEvent));
    events.addEventListener("error", () => {
      this.#live = false;
      this.requestUpdate();
    });
  }

  #onBranch(event: BranchEvent): void {
    const overview = this.#overview;
    if (overview) {
      const known = overview.branches.some((b) => b.branch === event.summary.branch);
      overview.branches = known
        ? overview.branches.map((b) => (b.branch === event.summary.branch ? event.summary : b))
        : [...overview.branches, event.summary];
      this.#overview = { ...overview };
    }
    if (event.records.length > 0) {
      const incoming = [...event.records].reverse();
      this.#fresh = new Set(incoming.map((record) => record.id));
      const ids = this.#fresh;
      this.#records = [...incoming, ...this.#records.filter((record) => !ids.has(record.id))].slice(0, FEED_SIZE);
      void (this.renderRoot.querySelector("mercora-stock-browser") as StockBrowser | null)?.refresh();
    }
    this.#lastEventAt = new Date().toISOString();
    this.requestUpdate();
  }

  #totals(branches: BranchSummary[]) {
    let tickets = 0;
    let sales = 0;
    let offline = 0;
    for (const branch of branches) {
      const today = branch.days.find((day) => day.businessDay === todayIn(branch.timeZone));
      tickets += today?.tickets ?? 0;
      sales += today?.sales ?? 0;
      offline += today?.offlineTickets ?? 0;
    }
    const terminals = branches.flatMap((b) => b.terminals);
    const conflicts = branches.reduce((sum, b) => sum + b.conflicts.filter((c) => (c.status ?? "open") === "open").length, 0);
    return html`<section class="totals wide" aria-label=${t("hq.totals")}>
      <div><strong data-testid="total-tickets">${formatCount(tickets)}</strong><span>${t("hq.ticketsToday")}</span></div>
      <div><strong>${formatMoney(sales, this.#money)}</strong><span>${t("hq.salesToday")}</span></div>
      <div><strong>${formatCount(offline)}</strong><span>${t("hq.offlineToday")}</span></div>
      <div><strong>${terminals.filter((x) => x.connected).length}/${terminals.length}</strong><span>${t("hq.terminalsConnected")}</span></div>
      <div><strong>${conflicts}</strong><span>${t("hq.openConflicts")}</span></div>
    </section>`;
  }

  override render() {
    const overview = this.#overview;
    return html`<header>
        <h1>Mercora HQ</h1>
        <div class="tools">
          <span class="live badge ${this.#live ? "ok" : "warn"}" data-testid="live" data-live=${this.#live ? "true" : "false"} style="color:${this.#live ? "#7ee2a0" : "#ffd27a"}">
            ${this.#live ? t("hq.live") : t("hq.reconnecting")}${this.#lastEventAt ? ` · ${formatTime(this.#lastEventAt)}` : ""}
          </span>
          <mercora-lang-switch></mercora-lang-switch>
        </div>
      </header>
      <main>
        ${this.#error ? html`<div class="wide">${errorView(this.#error)}</div>` : nothing}
        ${overview ? this.#totals(overview.branches) : html`<p>${t("common.loading")}</p>`}
        ${(overview?.branches ?? []).map(
          (summary) => html`<mercora-branch-card .summary=${summary} .money=${this.#money} token=${this.#token}></mercora-branch-card>`,
        )}
        <mercora-records-feed class="wide" .records=${this.#records} .money=${this.#money}></mercora-records-feed>
        ${overview ? html`<mercora-stock-browser class="wide" .api=${this.#api} .money=${this.#money}></mercora-stock-browser>` : nothing}
      </main>`;
  }
}

customElements.define("mercora-hq", HqApp);

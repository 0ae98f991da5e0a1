import { css, html } from "lit";
import { ApiClient } from "./api-client.ts";
import { t } from "./i18n.ts";
import { ScreenElement } from "./screen-element.ts";
import { baseStyles } from "./styles.ts";

/** Time between status polls of the terminal. */
const POLL_MS = 2000;
/** A poll slower than this counts as failed; it never blocks the screen. */
const POLL_TIMEOUT_MS = 1500;

type Mode = "online" | "lan-only" | "offline" | "unknown";

interface StatusBody {
  mode: "online" | "lan-only" | "offline";
  pending: number;
  [extra: string]: unknown;
}

/**
 * Small indicator of the terminal's connection (online, LAN only,
 * offline) and its pending records. It polls `GET /status` in the
 * background; a failed poll shows "offline" and nothing else changes.
 * Each poll result is also sent as a `status` event.
 */
export class StatusBadge extends ScreenElement {
  static override styles = [
    baseStyles,
    css`
      :host {
        display: inline-block;
      }
      .status {
        display: inline-flex;
        align-items: center;
        gap: 0.4rem;
        font-size: 0.85rem;
        padding: 0.15rem 0.6rem;
        border-radius: 999px;
        background: #fff;
        border: 1px solid var(--line);
        white-space: nowrap;
      }
      .dot {
        width: 0.7rem;
        height: 0.7rem;
        border-radius: 50%;
        background: #9aa3ad;
      }
      [data-mode="online"] .dot {
        background: var(--ok);
      }
      [data-mode="lan-only"] .dot {
        background: var(--warn);
      }
      [data-mode="offline"] .dot {
        background: var(--offline);
      }
    `,
  ];

  readonly #api = new ApiClient();
  #mode: Mode = "unknown";
  #pending: number | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#running = true;
    void this.#poll();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Polls now instead of at the next tick, e.g. after a sale. */
  refresh(): void {
    if (this.#timer) clearTimeout(this.#timer);
    void this.#poll();
  }

  async #poll(): Promise<void> {
    try {
      const status = await this.#api.get<StatusBody>("/status", POLL_TIMEOUT_MS);
      this.#mode = status.mode;
      this.#pending = status.pending;
      this.dispatchEvent(new CustomEvent("status", { detail: status }));
    } catch {
      // The screen keeps working with what it has; only the indicator changes.
      this.#mode = "offline";
    }
    this.requestUpdate();
    if (this.#running) this.#timer = setTimeout(() => void this.#poll(), POLL_MS);
  }

  override render() {
    const label = {
      online: t("status.online"),
      "lan-only": t("status.lanOnly"),
      offline: t("status.offline"),
      unknown: t("status.unknown"),
    }[this.#mode];
    const pending = this.#pending === null ? "" : ` · ${t("status.pending", { count: this.#pending })}`;
    return html`<span class="status" data-testid="status-badge" data-mode=${this.#mode} role="status" aria-live="polite">
      <span class="dot" aria-hidden="true"></span><span>${label}${pending}</span>
    </span>`;
  }
}

customElements.define("mercora-status-badge", StatusBadge);

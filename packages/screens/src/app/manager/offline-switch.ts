import { html, nothing } from "lit";
import { describeError, errorView, noticeView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { DashboardSource } from "./dashboard-source.ts";
import type { UserEntry } from "./types.ts";

/**
 * The manual offline switch of this terminal (`POST /wan/offline`), for a
 * planned outage: a manager's PIN and a reason, logged by the terminal.
 */
export class OfflineSwitch extends ScreenElement {
  static override properties = { source: { attribute: false }, managers: { attribute: false }, manualOffline: { type: Boolean } };
  static override styles = [baseStyles];

  declare source: DashboardSource;
  declare managers: UserEntry[];
  declare manualOffline: boolean;
  #manager = "";
  #pin = "";
  #reason = "";
  #error: ShownError | null = null;
  #notice: string | null = null;

  constructor() {
    super();
    this.managers = [];
    this.manualOffline = false;
  }

  override willUpdate(): void {
    if (!this.#manager && this.managers[0]) this.#manager = this.managers[0].id;
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    const offline = !this.manualOffline;
    try {
      const result = await this.source.api.post<{ manualOffline: boolean }>("/wan/offline", { offline, manager: this.#manager, pin: this.#pin, reason: this.#reason.trim() || null });
      this.manualOffline = result.manualOffline;
      this.#error = null;
      this.#pin = "";
      this.#notice = result.manualOffline ? t("switch.nowOffline") : t("switch.nowOnline");
      this.dispatchEvent(new CustomEvent("switched", { detail: result, bubbles: true, composed: true }));
    } catch (error) {
      this.#error = describeError(error);
      this.#notice = null;
    }
    this.requestUpdate();
  }

  override render() {
    if (this.source.kind !== "terminal") return nothing;
    return html`<form class="panel" @submit=${this.#submit} data-testid="offline-switch">
      <h2>${t("switch.title")}</h2>
      <p>${this.manualOffline ? t("switch.isOffline") : t("switch.isAutomatic")}</p>
      <div class="field">
        <label for="switch-reason">${t("switch.reason")}</label>
        <input id="switch-reason" .value=${this.#reason} @input=${(e: Event) => (this.#reason = (e.target as HTMLInputElement).value)} />
      </div>
      <div class="row">
        <div class="field">
          <label for="switch-manager">${t("conflict.manager")}</label>
          <select id="switch-manager" @change=${(e: Event) => (this.#manager = (e.target as HTMLSelectElement).value)}>
            ${this.managers.map((m) => html`<option value=${m.id} ?selected=${m.id === this.#manager}>${m.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="switch-pin">${t("conflict.pin")}</label>
          <input id="switch-pin" type="password" inputmode="numeric" autocomplete="off" .value=${this.#pin}
            @input=${(e: Event) => (this.#pin = (e.target as HTMLInputElement).value)} />
        </div>
      </div>
      ${errorView(this.#error, "switch-error")} ${noticeView(this.#notice)}
      <button type="submit" class=${this.manualOffline ? "primary" : "danger"}>${this.manualOffline ? t("switch.goOnline") : t("switch.goOffline")}</button>
    </form>`;
  }
}

customElements.define("mercora-offline-switch", OfflineSwitch);

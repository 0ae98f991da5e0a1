import { html, nothing } from "lit";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { DashboardSource } from "./dashboard-source.ts";
import type { AuditEntry, Conflict, UserEntry } from "./types.ts";

/**
 * Resolves one conflict with a manager's PIN: the action (the ones the
 * server lists for its kind), a quantity or a value when the action needs
 * one, and a reason. The server's error shows in place and everything
 * typed stays. Sends `resolved` with the updated conflict.
 */
export class ResolveForm extends ScreenElement {
  static override properties = {
    source: { attribute: false },
    conflict: { attribute: false },
    managers: { attribute: false },
  };
  static override styles = [baseStyles];

  declare source: DashboardSource;
  declare conflict: Conflict;
  declare managers: UserEntry[];
  #action = "";
  #quantity = "";
  #value = "";
  #reason = "";
  #manager = "";
  #pin = "";
  #error: ShownError | null = null;
  #busy = false;

  constructor() {
    super();
    this.managers = [];
  }

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("conflict") && !this.conflict.actions.some((spec) => spec.action === this.#action)) {
      this.#action = this.conflict.actions[0]?.action ?? "";
    }
    if (!this.#manager && this.managers[0]) this.#manager = this.managers[0].id;
  }

  get #spec() {
    return this.conflict.actions.find((spec) => spec.action === this.#action) ?? null;
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.#busy) return;
    const spec = this.#spec;
    const body: Record<string, unknown> = { manager: this.#manager.trim(), pin: this.#pin, action: this.#action, reason: this.#reason.trim() };
    if (spec?.needs.includes("quantity")) body.quantity = this.#quantity.trim() === "" ? null : Number(this.#quantity);
    if (spec?.needs.includes("value")) body.value = this.#value || spec.values?.[0] || null;
    this.#busy = true;
    this.requestUpdate();
    try {
      const result = await this.source.api.post<{ conflict: Conflict; entry: AuditEntry }>(this.source.resolutions(this.conflict.id), body);
      this.#error = null;
      this.#pin = "";
      this.dispatchEvent(new CustomEvent("resolved", { detail: result, bubbles: true, composed: true }));
    } catch (error) {
      this.#error = describeError(error);
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  #managerField() {
    if (this.managers.length === 0) {
      return html`<input id="resolve-manager" autocomplete="off" .value=${this.#manager} @input=${(e: Event) => (this.#manager = (e.target as HTMLInputElement).value)} />`;
    }
    return html`<select id="resolve-manager" @change=${(e: Event) => (this.#manager = (e.target as HTMLSelectElement).value)}>
      ${this.managers.map((m) => html`<option value=${m.id} ?selected=${m.id === this.#manager}>${m.name}</option>`)}
    </select>`;
  }

  override render() {
    const spec = this.#spec;
    const field = this.#error?.field;
    return html`<form @submit=${this.#submit} data-testid="resolve-form" aria-labelledby="resolve-title">
      <h3 id="resolve-title">${t("conflict.resolveTitle")}</h3>
      <div class="field">
        <label for="resolve-action">${t("conflict.action")}</label>
        <select id="resolve-action" aria-invalid=${field === "action" ? "true" : "false"}
          @change=${(e: Event) => { this.#action = (e.target as HTMLSelectElement).value; this.requestUpdate(); }}>
          ${this.conflict.actions.map((a) => html`<option value=${a.action} ?selected=${a.action === this.#action}>${tDynamic(`conflictAction.${a.action}`)}</option>`)}
        </select>
      </div>
      ${spec?.needs.includes("quantity")
        ? html`<div class="field">
            <label for="resolve-quantity">${t("conflict.quantity")}</label>
            <input id="resolve-quantity" inputmode="numeric" aria-invalid=${field === "quantity" ? "true" : "false"} .value=${this.#quantity}
              @input=${(e: Event) => (this.#quantity = (e.target as HTMLInputElement).value)} />
          </div>`
        : nothing}
      ${spec?.needs.includes("value")
        ? html`<div class="field">
            <label for="resolve-value">${spec.action === "refund-customer" ? t("conflict.ticketToRefund") : t("conflict.value")}</label>
            <select id="resolve-value" aria-invalid=${field === "value" ? "true" : "false"} @change=${(e: Event) => (this.#value = (e.target as HTMLSelectElement).value)}>
              ${(spec.values ?? []).map((v) => html`<option value=${v} ?selected=${v === this.#value}>${v}</option>`)}
            </select>
          </div>`
        : nothing}
      <div class="field">
        <label for="resolve-reason">${t("conflict.reason")}</label>
        <textarea id="resolve-reason" rows="2" aria-invalid=${field === "reason" ? "true" : "false"} .value=${this.#reason}
          @input=${(e: Event) => (this.#reason = (e.target as HTMLTextAreaElement).value)}></textarea>
      </div>
      <div class="row">
        <div class="field">
          <label for="resolve-manager">${t("conflict.manager")}</label>
          ${this.#managerField()}
        </div>
        <div class="field">
          <label for="resolve-pin">${t("conflict.pin")}</label>
          <input id="resolve-pin" type="password" inputmode="numeric" autocomplete="off" .value=${this.#pin}
            aria-invalid=${field === "pin" || this.#error?.code.startsWith("PIN") ? "true" : "false"}
            @input=${(e: Event) => (this.#pin = (e.target as HTMLInputElement).value)} />
        </div>
      </div>
      ${errorView(this.#error, "resolve-error")}
      <button type="submit" class="primary" data-testid="resolve-submit" ?disabled=${this.#busy}>${t("conflict.resolve")}</button>
    </form>`;
  }
}

customElements.define("mercora-resolve-form", ResolveForm);

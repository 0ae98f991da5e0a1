import { css, html } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { t, tDynamic } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";
import type { Session, UserEntry } from "./types.ts";

/**
 * Sign-in with a PIN: the user from the branch's list, then the PIN and
 * Enter. A wrong PIN shows the terminal's message and keeps the user and
 * the PIN typed (selected, so typing again replaces it). Sends
 * `signed-in` with the session.
 */
export class SignInForm extends ScreenElement {
  static override properties = { api: { attribute: false }, users: { attribute: false } };
  static override styles = [
    baseStyles,
    css`
      form {
        max-width: 24rem;
        margin: 2rem auto;
      }
    `,
  ];

  declare api: ApiClient;
  declare users: UserEntry[];
  #user = "";
  #pin = "";
  #error: ShownError | null = null;
  #busy = false;

  constructor() {
    super();
    this.users = [];
  }

  override firstUpdated(): void {
    this.#focus(this.users.length > 0 ? "#pin" : "#user");
  }

  override willUpdate(): void {
    if (!this.#user && this.users.length > 0) this.#user = (this.users.find((u) => u.role === "cashier") ?? this.users[0]!).id;
  }

  #focus(selector: string): void {
    void this.updateComplete.then(() => (this.renderRoot.querySelector(selector) as HTMLInputElement | null)?.focus());
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.#busy) return;
    this.#busy = true;
    this.requestUpdate();
    try {
      const session = await this.api.post<Session>("/sessions", { user: this.#user, pin: this.#pin });
      this.#error = null;
      this.#pin = "";
      this.dispatchEvent(new CustomEvent("signed-in", { detail: session, bubbles: true, composed: true }));
    } catch (error) {
      this.#error = describeError(error);
      await this.updateComplete;
      const pin = this.renderRoot.querySelector("#pin") as HTMLInputElement | null;
      pin?.focus();
      pin?.select();
    } finally {
      this.#busy = false;
      this.requestUpdate();
    }
  }

  override render() {
    const invalid = this.#error?.field === "pin" || this.#error?.code.startsWith("PIN");
    return html`<form class="panel" @submit=${this.#submit} data-testid="sign-in">
      <h1>${t("signIn.title")}</h1>
      <div class="field">
        <label for="user">${t("signIn.user")}</label>
        ${this.users.length > 0
          ? html`<select id="user" .value=${this.#user} @change=${(e: Event) => (this.#user = (e.target as HTMLSelectElement).value)}>
              ${this.users.map((u) => html`<option value=${u.id} ?selected=${u.id === this.#user}>${u.name} (${tDynamic(`role.${u.role}`)})</option>`)}
            </select>`
          : html`<input id="user" autocomplete="username" .value=${this.#user} @input=${(e: Event) => (this.#user = (e.target as HTMLInputElement).value)} />`}
      </div>
      <div class="field">
        <label for="pin">${t("signIn.pin")}</label>
        <input
          id="pin"
          type="password"
          inputmode="numeric"
          autocomplete="current-password"
          aria-invalid=${invalid ? "true" : "false"}
          .value=${this.#pin}
          @input=${(e: Event) => (this.#pin = (e.target as HTMLInputElement).value)}
        />
      </div>
      ${errorView(this.#error, "sign-in-error")}
      <button class="primary" type="submit" ?disabled=${this.#busy}>${t("signIn.submit")}</button>
      <p class="muted">${t("signIn.hint")}</p>
    </form>`;
  }
}

customElements.define("mercora-sign-in", SignInForm);

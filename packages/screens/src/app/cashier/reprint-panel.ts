import { css, html, nothing } from "lit";
import type { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView, noticeView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";

/** Reprints a ticket (the last one unless another number is typed); the copy is marked COPIA. */
export class ReprintPanel extends ScreenElement {
  static override properties = { api: { attribute: false }, ticket: { type: String } };
  static override styles = [
    baseStyles,
    css`
      pre {
        font-size: 0.72rem;
        background: #fafafa;
        border: 1px dashed var(--line);
        padding: 0.5rem;
        max-height: 16rem;
        overflow: auto;
      }
    `,
  ];

  declare api: ApiClient;
  declare ticket: string;
  #text = "";
  #error: ShownError | null = null;
  #done: string | null = null;
  #receipt: string | null = null;

  override willUpdate(changed: Map<string, unknown>): void {
    if (changed.has("ticket") && this.ticket) this.#text = this.ticket;
  }

  override focus(): void {
    void this.updateComplete.then(() => {
      const input = this.renderRoot.querySelector("input") as HTMLInputElement | null;
      input?.focus();
      input?.select();
    });
  }

  async #submit(event: Event): Promise<void> {
    event.preventDefault();
    const id = this.#text.trim();
    try {
      await this.api.post(`/records/${encodeURIComponent(id)}/reprint`, {});
      this.#receipt = await fetch(`/records/${encodeURIComponent(id)}/receipt`).then((r) => (r.ok ? r.text() : null));
      this.#error = null;
      this.#done = t("reprint.done", { id });
    } catch (error) {
      this.#error = describeError(error);
      this.#done = null;
    }
    this.requestUpdate();
  }

  override render() {
    return html`<form class="panel" data-testid="reprint-panel" @submit=${this.#submit}>
      <h2>${t("reprint.title")}</h2>
      <div class="field">
        <label for="reprint-ticket">${t("reprint.ticket")}</label>
        <input id="reprint-ticket" autocomplete="off" .value=${this.#text} aria-invalid=${this.#error ? "true" : "false"}
          @input=${(e: Event) => (this.#text = (e.target as HTMLInputElement).value)} />
      </div>
      ${errorView(this.#error, "reprint-error")} ${noticeView(this.#done)}
      ${this.#receipt ? html`<pre>${this.#receipt}</pre>` : nothing}
      <div class="row">
        <button type="button" @click=${() => this.dispatchEvent(new CustomEvent("close", { bubbles: true, composed: true }))}>${t("common.back")} <kbd>Esc</kbd></button>
        <button type="submit" class="primary">${t("reprint.submit")} <kbd>Enter</kbd></button>
      </div>
    </form>`;
  }
}

customElements.define("mercora-reprint-panel", ReprintPanel);

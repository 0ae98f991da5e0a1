import { css, html } from "lit";
import { language, setLanguage } from "./i18n.ts";
import { ScreenElement } from "./screen-element.ts";

/** Two buttons that switch the screens between Spanish and English; the choice is remembered. */
export class LangSwitch extends ScreenElement {
  static override styles = css`
    :host {
      display: inline-flex;
      gap: 2px;
    }
    button {
      font: inherit;
      font-size: 0.8rem;
      padding: 2px 8px;
      border: 1px solid #9aa3ad;
      background: #fff;
      color: #1b1f24;
      border-radius: 4px;
      cursor: pointer;
    }
    button[aria-pressed="true"] {
      background: #1b1f24;
      color: #fff;
      border-color: #1b1f24;
    }
  `;

  override render() {
    const current = language();
    return html`
      <button type="button" lang="es-419" aria-pressed=${current === "es"} @click=${() => setLanguage("es")}>ES</button>
      <button type="button" lang="en" aria-pressed=${current === "en"} @click=${() => setLanguage("en")}>EN</button>
    `;
  }
}

customElements.define("mercora-lang-switch", LangSwitch);

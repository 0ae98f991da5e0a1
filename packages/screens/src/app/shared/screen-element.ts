import { LitElement } from "lit";
import { onLanguageChange } from "./i18n.ts";

/**
 * Base class of every screen component: it renders again when the user
 * switches the language.
 */
export class ScreenElement extends LitElement {
  #stopListening: (() => void) | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.#stopListening = onLanguageChange(() => this.requestUpdate());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#stopListening?.();
    this.#stopListening = null;
  }
}

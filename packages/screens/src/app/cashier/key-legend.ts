import { css, html } from "lit";
import { t } from "../shared/i18n.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import { baseStyles } from "../shared/styles.ts";

/** The keys that ring a sale without the mouse, shown on screen. */
export const CASHIER_KEYS = [
  ["Enter", "keys.enter"],
  ["3*", "keys.quantity"],
  ["↑ ↓", "keys.arrows"],
  ["+ −", "keys.plusMinus"],
  ["Supr", "keys.delete"],
  ["F2", "keys.f2"],
  ["F4", "keys.f4"],
  ["F8", "keys.f8"],
  ["F9", "keys.f9"],
  ["F10", "keys.f10"],
  ["Esc", "keys.escape"],
] as const;

export class KeyLegend extends ScreenElement {
  static override styles = [
    baseStyles,
    css`
      dl {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
        gap: 0.25rem 0.75rem;
        margin: 0;
        font-size: 0.82rem;
      }
      div {
        display: flex;
        gap: 0.4rem;
        align-items: baseline;
        min-width: 0;
      }
      dd {
        margin: 0;
        color: var(--muted);
        min-width: 0;
      }
    `,
  ];

  override render() {
    return html`<dl data-testid="key-legend" aria-label=${t("keys.title")}>
      ${CASHIER_KEYS.map(([key, text]) => html`<div><dt><kbd>${key}</kbd></dt><dd>${t(text)}</dd></div>`)}
    </dl>`;
  }
}

customElements.define("mercora-key-legend", KeyLegend);

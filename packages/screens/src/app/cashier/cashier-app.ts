import { html, nothing } from "lit";
import { ApiClient } from "../shared/api-client.ts";
import { describeError, errorView } from "../shared/errors.ts";
import type { ShownError } from "../shared/errors.ts";
import { formatMoney } from "../shared/format.ts";
import type { CurrencySettings } from "../shared/format.ts";
import { t } from "../shared/i18n.ts";
import "../shared/lang-switch.ts";
import { ScreenElement } from "../shared/screen-element.ts";
import "../shared/status-badge.ts";
import type { StatusBadge } from "../shared/status-badge.ts";
import { baseStyles } from "../shared/styles.ts";
import "./cart-view.ts";
import { cashierStyles } from "./cashier-styles.ts";
import "./cash-panel.ts";
import "./key-legend.ts";
import "./payment-panel.ts";
import type { PaymentPanel, PayRequest } from "./payment-panel.ts";
import "./receipt-view.ts";
import "./refund-panel.ts";
import "./reprint-panel.ts";
import "./scan-box.ts";
import type { ScanBox } from "./scan-box.ts";
import "./sign-in-form.ts";
import { EMPTY_CART, addToCart, changeSelectedQty, moveSelection, removeSelected } from "./cart-model.ts";
import type { Cart } from "./cart-model.ts";
import type { Product, RecordResponse, SaleQuote, Session, StoreInfo, UserEntry } from "./types.ts";

type Panel = "none" | "payment" | "refund" | "cash" | "reprint";

/** Function keys of the cashier screen and the panel each opens. */
const PANEL_KEYS: Record<string, Panel> = { F4: "payment", F8: "refund", F9: "cash", F10: "reprint" };

/**
 * The cashier screen, served by every terminal at `/caja`: sign-in with a
 * PIN, then a sale rung by keyboard (scan or search, cart, split tenders
 * with change), refunds with a manager's PIN, cash movements and reprints.
 * It talks only to its own terminal, so the internet going down changes
 * nothing but the status indicator.
 */
export class CashierApp extends ScreenElement {
  static override styles = [baseStyles, cashierStyles];

  readonly #api = new ApiClient();
  #store: StoreInfo | null = null;
  #users: UserEntry[] = [];
  #session: Session | null = null;
  #loadError: ShownError | null = null;
  #cart: Cart = EMPTY_CART;
  #quote: SaleQuote | null = null;
  #quoteError: ShownError | null = null;
  #quoteSeq = 0;
  #requestId = crypto.randomUUID();
  #panel: Panel = "none";
  #lastSale: RecordResponse | null = null;
  #paymentError: ShownError | null = null;
  #paying = false;
  readonly #onKeyDown = (event: KeyboardEvent) => this.#handleKey(event);

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener("keydown", this.#onKeyDown, true);
    void this.#load();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener("keydown", this.#onKeyDown, true);
  }

  get #money(): CurrencySettings {
    return { currency: this.#store?.currency ?? "USD", minorUnitDigits: this.#store?.minorUnitDigits ?? 2 };
  }

  get #managers(): UserEntry[] {
    return this.#users.filter((user) => user.role === "manager");
  }

  async #load(): Promise<void> {
    try {
      const [store, users, current] = await Promise.all([
        this.#api.get<StoreInfo>("/store"),
        this.#api.get<UserEntry[]>("/users"),
        this.#api.get<{ session: Session | null }>("/sessions"),
      ]);
      this.#store = store;
      this.#users = users;
      this.#session = current.session;
      this.#loadError = null;
      document.title = `Mercora · ${store.storeName} · ${store.terminalName}`;
    } catch (error) {
      this.#loadError = describeError(error);
      setTimeout(() => void this.#load(), 3000);
    }
    this.requestUpdate();
    this.#focusScan();
  }

  #focusScan(): void {
    void this.updateComplete.then(() => (this.renderRoot.querySelector("mercora-scan-box") as ScanBox | null)?.focus());
  }

  #handleKey(event: KeyboardEvent): void {
    if (!this.#session) return;
    if (event.key === "F2") {
      event.preventDefault();
      this.#openPanel("none");
      return;
    }
    if (event.key === "Escape" && this.#panel !== "none") {
      event.preventDefault();
      this.#openPanel("none");
      return;
    }
    const panel = PANEL_KEYS[event.key];
    if (!panel) return;
    event.preventDefault();
    if (panel === "payment" && this.#panel === "payment") {
      void (this.renderRoot.querySelector("mercora-payment") as PaymentPanel | null)?.finish();
      return;
    }
    this.#openPanel(panel);
  }

  #openPanel(panel: Panel): void {
    if (panel === "payment" && this.#cart.lines.length === 0) {
      this.#quoteError = { code: "CART_EMPTY", field: null, headline: t("cart.emptyPay"), detail: null };
      this.requestUpdate();
      this.#focusScan();
      return;
    }
    this.#panel = panel;
    this.#paymentError = null;
    this.requestUpdate();
    void this.updateComplete.then(() => {
      const selector = { payment: "mercora-payment", refund: "mercora-refund-panel", cash: "mercora-cash-panel", reprint: "mercora-reprint-panel" };
      if (panel === "none") {
        this.#focusScan();
        return;
      }
      const element = this.renderRoot.querySelector(selector[panel]) as HTMLElement | null;
      if (panel === "payment") (element as PaymentPanel | null)?.reset();
      element?.focus();
    });
  }

  #addProduct(event: CustomEvent<{ product: Product; qty: number }>): void {
    this.#lastSale = null;
    this.#setCart(addToCart(this.#cart, event.detail.product, event.detail.qty));
  }

  #setCart(cart: Cart): void {
    const linesChanged = cart.lines !== this.#cart.lines;
    this.#cart = cart;
    if (linesChanged) this.#cartChanged();
    else this.requestUpdate();
  }

  #cartChanged(): void {
    this.#quoteError = null;
    this.requestUpdate();
    void this.#requote();
  }

  async #requote(): Promise<void> {
    const seq = ++this.#quoteSeq;
    if (this.#cart.lines.length === 0) {
      this.#quote = null;
      return;
    }
    try {
      const quote = await this.#api.post<SaleQuote>("/sales/quote", { lines: this.#cart.lines.map((l) => ({ sku: l.sku, qty: l.qty })) });
      if (seq === this.#quoteSeq) this.#quote = quote;
    } catch (error) {
      if (seq === this.#quoteSeq) this.#quoteError = describeError(error);
    }
    this.requestUpdate();
  }

  async #pay(event: CustomEvent<PayRequest>): Promise<void> {
    if (this.#paying) return;
    this.#paying = true;
    this.requestUpdate();
    try {
      const sale = await this.#api.post<RecordResponse>("/sales", {
        lines: this.#cart.lines.map((line) => ({ sku: line.sku, qty: line.qty })),
        tenders: event.detail.tenders,
        requestId: this.#requestId,
        ...(event.detail.override ? { override: event.detail.override } : {}),
      });
      this.#lastSale = sale;
      this.#cart = EMPTY_CART;
      this.#quote = null;
      this.#requestId = crypto.randomUUID();
      this.#paymentError = null;
      this.#panel = "none";
      this.#focusScan();
      (this.renderRoot.querySelector("mercora-status-badge") as StatusBadge | null)?.refresh();
    } catch (error) {
      this.#paymentError = describeError(error);
    } finally {
      this.#paying = false;
      this.requestUpdate();
    }
  }

  #refunded(event: CustomEvent<RecordResponse>): void {
    this.#lastSale = event.detail;
    this.#openPanel("none");
  }

  async #signOut(): Promise<void> {
    try {
      await this.#api.delete("/sessions");
    } catch {
      // The session ends with the terminal process anyway.
    }
    this.#session = null;
    this.#cart = EMPTY_CART;
    this.#panel = "none";
    this.requestUpdate();
  }

  #header() {
    return html`<header>
      <h1>${this.#store ? `${this.#store.storeName} · ${this.#store.terminalName}` : "Mercora"}</h1>
      <div class="who">
        <mercora-status-badge></mercora-status-badge>
        ${this.#session
          ? html`<span data-testid="cashier-name">${this.#session.name}</span>
              <button type="button" @click=${() => void this.#signOut()}>${t("common.signOut")}</button>`
          : nothing}
        <a href="/gerencia" style="color:#fff">${t("nav.manager")}</a>
        <mercora-lang-switch></mercora-lang-switch>
      </div>
    </header>`;
  }

  #sidePanel() {
    const money = this.#money;
    switch (this.#panel) {
      case "payment":
        return html`<mercora-payment .api=${this.#api} .lines=${this.#cart.lines} .money=${money} .managers=${this.#managers}
          .serverError=${this.#paymentError} ?busy=${this.#paying}
          @pay=${this.#pay} @close=${() => this.#openPanel("none")}></mercora-payment>`;
      case "refund":
        return html`<mercora-refund-panel .api=${this.#api} .money=${money} .managers=${this.#managers}
          ticket=${this.#lastSale?.record.kind === "sale" ? this.#lastSale.record.id : ""}
          @refunded=${this.#refunded} @close=${() => this.#openPanel("none")}></mercora-refund-panel>`;
      case "cash":
        return html`<mercora-cash-panel .api=${this.#api} .money=${money} @close=${() => this.#openPanel("none")}></mercora-cash-panel>`;
      case "reprint":
        return html`<mercora-reprint-panel .api=${this.#api} ticket=${this.#lastSale?.record.id ?? ""} @close=${() => this.#openPanel("none")}></mercora-reprint-panel>`;
      default:
        return html`<mercora-receipt .sale=${this.#lastSale} .money=${money}></mercora-receipt>`;
    }
  }

  #saleView() {
    const money = this.#money;
    const total = this.#quote?.total ?? this.#cart.lines.reduce((sum, line) => sum + line.unitPrice * line.qty, 0);
    return html`<main>
        <div class="column">
          <section class="panel">
            <mercora-scan-box .api=${this.#api} .money=${money}
              @add-product=${this.#addProduct}
              @move-selection=${(e: CustomEvent<number>) => this.#setCart(moveSelection(this.#cart, e.detail))}
              @change-qty=${(e: CustomEvent<number>) => this.#setCart(changeSelectedQty(this.#cart, e.detail))}
              @remove-line=${() => this.#setCart(removeSelected(this.#cart))}></mercora-scan-box>
          </section>
          <section class="panel">
            <mercora-cart .lines=${this.#cart.lines} .quote=${this.#quote} .selected=${this.#cart.selected} .money=${money}
              @select-line=${(e: CustomEvent<number>) => this.#setCart({ ...this.#cart, selected: e.detail })}
              @change-qty=${(e: CustomEvent<number>) => this.#setCart(changeSelectedQty(this.#cart, e.detail))}
              @remove-line=${() => this.#setCart(removeSelected(this.#cart))}></mercora-cart>
          </section>
        </div>
        <div class="column">
          <section class="panel">
            <div class="total"><span>${t("cart.total")}</span><strong data-testid="cart-total">${formatMoney(total, money)}</strong></div>
            ${errorView(this.#quoteError, "cart-error")}
            <div class="actions">
              <button type="button" class="primary" @click=${() => this.#openPanel("payment")}>${t("action.pay")} <kbd>F4</kbd></button>
              <button type="button" @click=${() => this.#openPanel("refund")}>${t("action.refund")} <kbd>F8</kbd></button>
              <button type="button" @click=${() => this.#openPanel("cash")}>${t("action.cash")} <kbd>F9</kbd></button>
              <button type="button" @click=${() => this.#openPanel("reprint")}>${t("action.reprint")} <kbd>F10</kbd></button>
            </div>
          </section>
          ${this.#sidePanel()}
        </div>
      </main>
      <footer><section class="panel"><mercora-key-legend></mercora-key-legend></section></footer>`;
  }

  override render() {
    if (!this.#store) {
      return html`${this.#header()}<main>${this.#loadError ? errorView(this.#loadError) : html`<p>${t("common.loading")}</p>`}</main>`;
    }
    if (!this.#session) {
      return html`${this.#header()}<mercora-sign-in .api=${this.#api} .users=${this.#users}
          @signed-in=${(e: CustomEvent<Session>) => {
            this.#session = e.detail;
            this.requestUpdate();
            this.#focusScan();
          }}></mercora-sign-in>`;
    }
    return html`${this.#header()}${this.#saleView()}`;
  }
}

customElements.define("mercora-cashier", CashierApp);

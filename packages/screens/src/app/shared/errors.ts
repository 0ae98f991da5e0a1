import { html, nothing } from "lit";
import { ApiError } from "./api-client.ts";
import { hasMessage, t } from "./i18n.ts";

/** An error as a screen shows it: a headline in the screen's language and the server's detail. */
export interface ShownError {
  code: string;
  field: string | null;
  headline: string;
  /** The server's own message, which names the values involved; null when the headline says it all. */
  detail: string | null;
}

/**
 * Describes any error for a screen. Known error codes get a headline in the
 * current language, with the server's message below it, since that message
 * names the amounts, tickets and users involved.
 */
export function describeError(error: unknown): ShownError {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    if (hasMessage(key)) return { code: error.code, field: error.field, headline: t(key), detail: error.message || null };
    return { code: error.code, field: error.field, headline: error.message || error.code, detail: null };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "UNEXPECTED", field: null, headline: message, detail: null };
}

/** Renders an error in place, announced to screen readers; nothing when there is none. */
export function errorView(error: ShownError | null, testId = "error") {
  if (!error) return nothing;
  return html`<div class="error" role="alert" data-testid=${testId} data-code=${error.code}>
    <strong>${error.headline}</strong>${error.detail ? html`<small>${error.detail}</small>` : nothing}
  </div>`;
}

/** Renders a confirmation in place; nothing when there is none. */
export function noticeView(text: string | null, detail: string | null = null, testId = "notice") {
  if (!text) return nothing;
  return html`<div class="notice" role="status" data-testid=${testId}>
    <strong>${text}</strong>${detail ? html`<small>${detail}</small>` : nothing}
  </div>`;
}

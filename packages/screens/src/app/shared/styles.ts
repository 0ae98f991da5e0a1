import { css } from "lit";

/** Rules every screen component shares: type, buttons, fields, tables, messages. */
export const baseStyles = css`
  :host {
    display: block;
    box-sizing: border-box;
    --ink: #1b1f24;
    --muted: #5b6570;
    --line: #d5d9de;
    --panel: #ffffff;
    --accent: #0b5cad;
    --ok: #17803d;
    --warn: #a35c00;
    --bad: #b3261e;
    --offline: #6b21a8;
    color: var(--ink);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  h1,
  h2,
  h3 {
    margin: 0 0 0.5rem;
    line-height: 1.2;
  }
  h1 {
    font-size: 1.3rem;
  }
  h2 {
    font-size: 1.1rem;
  }
  h3 {
    font-size: 1rem;
  }
  button {
    font: inherit;
    padding: 0.45rem 0.8rem;
    border-radius: 6px;
    border: 1px solid var(--line);
    background: #fff;
    color: var(--ink);
    cursor: pointer;
    min-height: 2.5rem;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #fff;
  }
  button.danger {
    background: var(--bad);
    border-color: var(--bad);
    color: #fff;
  }
  button:disabled {
    opacity: 0.55;
    cursor: default;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  textarea:focus-visible {
    outline: 3px solid #f2b705;
    outline-offset: 1px;
  }
  label {
    display: block;
    font-size: 0.85rem;
    color: var(--muted);
    margin-bottom: 0.2rem;
  }
  input,
  select,
  textarea {
    font: inherit;
    width: 100%;
    min-width: 0;
    padding: 0.45rem 0.55rem;
    border: 1px solid #9aa3ad;
    border-radius: 6px;
    background: #fff;
    color: var(--ink);
  }
  input[aria-invalid="true"],
  select[aria-invalid="true"] {
    border-color: var(--bad);
    box-shadow: 0 0 0 1px var(--bad);
  }
  .panel {
    background: var(--panel);
    border: 1px solid var(--line);
    border-radius: 8px;
    padding: 0.75rem;
    min-width: 0;
  }
  .field {
    margin-bottom: 0.6rem;
    min-width: 0;
  }
  .row {
    display: flex;
    gap: 0.5rem;
    flex-wrap: wrap;
    align-items: flex-end;
  }
  .row > * {
    flex: 1 1 8rem;
    min-width: 0;
  }
  .error {
    color: var(--bad);
    background: #fdecea;
    border: 1px solid #f3b8b3;
    border-radius: 6px;
    padding: 0.45rem 0.6rem;
    margin: 0.4rem 0;
    overflow-wrap: anywhere;
  }
  .error small,
  .notice small {
    display: block;
    color: var(--muted);
    margin-top: 0.15rem;
  }
  .notice {
    color: var(--ok);
    background: #e7f5ec;
    border: 1px solid #b6dfc4;
    border-radius: 6px;
    padding: 0.45rem 0.6rem;
    margin: 0.4rem 0;
    overflow-wrap: anywhere;
  }
  .muted {
    color: var(--muted);
  }
  .money {
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
    text-align: right;
  }
  .table-wrap {
    overflow-x: auto;
    max-width: 100%;
  }
  table {
    border-collapse: collapse;
    width: 100%;
    font-size: 0.9rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.35rem 0.45rem;
    border-bottom: 1px solid var(--line);
    vertical-align: top;
  }
  th {
    font-weight: 600;
    color: var(--muted);
    font-size: 0.8rem;
  }
  td.num,
  th.num {
    text-align: right;
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
  }
  .badge {
    display: inline-block;
    font-size: 0.75rem;
    padding: 0.05rem 0.45rem;
    border-radius: 999px;
    border: 1px solid currentColor;
    white-space: nowrap;
  }
  .badge.offline {
    color: var(--offline);
  }
  .badge.ok {
    color: var(--ok);
  }
  .badge.warn {
    color: var(--warn);
  }
  .badge.bad {
    color: var(--bad);
  }
  kbd {
    font-family: ui-monospace, monospace;
    font-size: 0.78rem;
    border: 1px solid #9aa3ad;
    border-bottom-width: 2px;
    border-radius: 4px;
    padding: 0 0.3rem;
    background: #fff;
    color: var(--ink);
    white-space: nowrap;
  }
  /* A table with class "stack" turns each row into a card on a phone; cells name their column in data-label. */
  @media (max-width: 560px) {
    table.stack thead {
      display: none;
    }
    table.stack tr {
      display: block;
      border-bottom: 1px solid var(--line);
      padding: 0.3rem 0;
    }
    table.stack td {
      display: flex;
      justify-content: space-between;
      gap: 0.75rem;
      border: 0;
      padding: 0.15rem 0.2rem;
      text-align: right;
    }
    table.stack td::before {
      content: attr(data-label);
      color: var(--muted);
      font-size: 0.8rem;
      text-align: left;
    }
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;

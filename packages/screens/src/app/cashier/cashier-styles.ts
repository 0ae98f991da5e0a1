import { css } from "lit";

/** Layout of the cashier screen: a top bar, the cart column and the payment column, one column on a phone. */
export const cashierStyles = css`
  :host {
    min-height: 100vh;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1rem;
    align-items: center;
    justify-content: space-between;
    padding: 0.5rem 0.75rem;
    background: #1b1f24;
    color: #fff;
  }
  header h1 {
    margin: 0;
    font-size: 1.05rem;
  }
  header .who {
    display: flex;
    gap: 0.5rem;
    align-items: center;
    flex-wrap: wrap;
  }
  header button {
    min-height: 2rem;
    padding: 0.2rem 0.6rem;
  }
  main {
    display: grid;
    grid-template-columns: minmax(0, 1.4fr) minmax(0, 1fr);
    gap: 0.75rem;
    padding: 0.75rem;
    max-width: 1280px;
    margin: 0 auto;
  }
  .column {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    min-width: 0;
  }
  .total {
    display: flex;
    justify-content: space-between;
    align-items: baseline;
    gap: 0.5rem;
  }
  .total strong {
    font-size: 2rem;
    font-variant-numeric: tabular-nums;
  }
  .actions {
    display: grid;
    grid-template-columns: repeat(2, minmax(0, 1fr));
    gap: 0.4rem;
  }
  footer {
    padding: 0 0.75rem 0.75rem;
    max-width: 1280px;
    margin: 0 auto;
  }
  @media (max-width: 760px) {
    main {
      grid-template-columns: minmax(0, 1fr);
    }
    .total strong {
      font-size: 1.6rem;
    }
  }
`;

import type { FastifyInstance } from "fastify";
import { registerScreens } from "@mercora/screens";
import { BranchView } from "./branch-view.ts";
import type { Terminal } from "./terminal.ts";

/**
 * Routes of the cashier screen and the manager dashboard: the pages
 * (`/caja`, `/gerencia`, and `/`, which opens the cashier screen) and the
 * read-only data they need beyond the core API: store settings, users,
 * the branch dashboard and price quotes.
 */
export function screenRoutes(terminal: Terminal) {
  return async function register(app: FastifyInstance): Promise<void> {
    const view = new BranchView(terminal);
    await view.open();

    app.get("/", async (_request, reply) => reply.redirect("/caja"));
    await registerScreens(app, { "/caja": "caja.html", "/gerencia": "gerencia.html" });

    app.get("/store", async () => view.storeInfo());
    app.get("/users", async () => view.users());
    app.get("/dashboard", async () => view.dashboard());
    app.post("/sales/quote", async (request) => view.quoteSale(request.body));
    app.post("/refunds/quote", async (request) => view.quoteRefund(request.body));
  };
}

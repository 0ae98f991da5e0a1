import type { FastifyInstance } from "fastify";
import { ValidationError, buildBranchDashboard, listUsers, readCurrency } from "@mercora/crdt-model";
import { registerScreens } from "@mercora/screens";
import { HqEventHub, feedRecord } from "./hq-events.ts";
import type { Relay } from "./relay.ts";
import { StockSearch } from "./stock-search.ts";

/** Records the recent-records feed returns at most. */
const RECENT_MAX = 500;

function parseLimit(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > RECENT_MAX) {
    throw new ValidationError("LIMIT_INVALID", `limit ${JSON.stringify(value)} must be a whole number from 1 to ${RECENT_MAX}`, "limit", value);
  }
  return limit;
}

/**
 * Routes of the HQ dashboard: the pages (`/hq` and the branch dashboard at
 * `/hq/gerencia`), an overview of every branch, the branch dashboard data,
 * stock search with paging, the recent records feed and the live event
 * stream. Every route sits under `/hq` or `/api/hq`, so it needs the HQ
 * token.
 */
export function hqRoutes(relay: Relay) {
  return async function register(app: FastifyInstance): Promise<void> {
    const events = new HqEventHub(relay);
    const stock = new StockSearch(() => relay.catalog, () => [...relay.branches.values()]);
    app.addHook("preClose", async () => events.close());

    await registerScreens(app, { "/hq": "hq.html", "/hq/gerencia": "gerencia.html" });

    const branchOr404 = (id: string) => {
      const branch = relay.branches.get(id);
      if (!branch) throw Object.assign(new Error(`No branch ${id} on this relay; check the branch id`), { statusCode: 404 });
      return branch;
    };

    app.get("/api/hq/overview", async () => {
      const catalog = relay.catalog?.doc();
      return {
        generatedAt: new Date().toISOString(),
        ...(catalog ? readCurrency(catalog) : { currency: null, minorUnitDigits: 2 }),
        skus: catalog ? Object.keys(catalog.products).length : 0,
        branches: relay.branchSummaries(),
      };
    });

    app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch/dashboard", async (request) => {
      const branch = branchOr404(request.params.branch);
      const catalog = relay.catalog?.doc();
      const summary = branch.summary(relay.contacts);
      const dashboard = buildBranchDashboard({
        directory: branch.directory.doc(),
        ingest: branch.ingest.doc(),
        records: branch.records(),
        nowMs: Date.now(),
        ...(catalog ? readCurrency(catalog) : { currency: "USD", minorUnitDigits: 2 }),
      });
      const contacts = new Map(summary.terminals.map((t) => [t.id, { connected: t.connected, lastContact: t.lastContact }]));
      return {
        ...dashboard,
        terminals: dashboard.terminals.map((t) => ({ ...t, ...(contacts.get(t.id) ?? { connected: false, lastContact: null }) })),
        folios: summary.folios,
      };
    });

    app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch/users", async (request) =>
      listUsers(branchOr404(request.params.branch).permissions.doc())
        .filter((user) => user.active)
        .map((user) => ({ id: user.id, name: user.name, role: user.role })),
    );

    app.get<{ Querystring: { q?: string; offset?: string; limit?: string } }>("/api/hq/stock", async (request) => stock.search(request.query));

    app.get<{ Querystring: { limit?: string; offline?: string } }>("/api/hq/records/recent", async (request) => {
      const limit = parseLimit(request.query.limit, 50);
      const offlineOnly = request.query.offline === "true";
      const records = [...relay.branches.values()]
        .flatMap((branch) => branch.records().filter((record) => !offlineOnly || record.offline).slice(-limit))
        .sort((a, b) => b.at.localeCompare(a.at))
        .slice(0, limit);
      return records.map(feedRecord);
    });

    app.get("/api/hq/events", async (_request, reply) => {
      reply.hijack();
      events.open(reply.raw);
    });
  };
}

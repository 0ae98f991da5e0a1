import Fastify from "fastify";
import type { FastifyError } from "fastify";
import { NotFoundError, RuleError, ValidationError, parseBusinessDay } from "@mercora/crdt-model";
import { catalogRoutes } from "./catalog-routes.ts";
import { hqRoutes } from "./hq-routes.ts";
import { registerReviewRoutes } from "./review-routes.ts";
import type { CreateBranchInput, Relay, UserInput } from "./relay.ts";

/**
 * Builds the relay's HTTP server: the websocket sync endpoint at `/sync`,
 * the bootstrap endpoint terminals call on first start, and the HQ API.
 */
export function buildRelayApi(relay: Relay) {
  const app = Fastify({
    // Request lines are logged at info; the relay logs only its own events there.
    loggerInstance: relay.log.child({ component: "http" }, { level: "warn" }),
    bodyLimit: 32 * 1024 * 1024,
  });

  app.addContentTypeParser(["text/csv", "text/plain"], { parseAs: "string" }, (_request, body, done) => done(null, body));

  app.server.on("upgrade", (request, socket, head) => {
    const url = new URL(request.url ?? "/", "http://relay");
    if (url.pathname !== "/sync") {
      socket.destroy();
      return;
    }
    const result = relay.authenticateUpgrade(url);
    if ("reason" in result) {
      socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${result.reason}\n`);
      return;
    }
    relay.wss.handleUpgrade(request, socket, head, (ws) => {
      relay.bindSocket(ws, result.peerId);
      relay.wss.emit("connection", ws, request);
    });
  });

  // HQ routes need the relay's HQ token: `Authorization: Bearer TOKEN`, or `?token=` for the HQ pages and the event stream.
  app.addHook("onRequest", async (request, reply) => {
    // Judge the route the router matched, not the raw URL: a percent-encoded
    // path ("/%61pi/hq") reaches the same route.
    const route = request.routeOptions?.url ?? "";
    let path = request.url.split("?")[0] ?? "";
    try {
      path = decodeURIComponent(path);
    } catch {
      // An undecodable path matches no HQ route anyway.
    }
    const isHq = (p: string) => p.startsWith("/api/hq") || p === "/hq" || p.startsWith("/hq/");
    if (!isHq(route) && !isHq(path)) return;
    const header = request.headers.authorization;
    const query = new URL(request.url, "http://relay").searchParams.get("token");
    const given = header?.startsWith("Bearer ") ? header.slice(7) : query;
    if (given !== relay.hqToken) {
      request.log.warn({ path }, "HQ request without a valid token refused");
      return reply.code(401).send({ error: "HQ_TOKEN_INVALID", message: "HQ routes need Authorization: Bearer TOKEN with the token in the relay's keystore/hq.token" });
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) {
      return reply.code(400).send({ error: error.code, message: error.message, field: error.field });
    }
    if (error instanceof RuleError) return reply.code(409).send({ error: error.code, message: error.message, field: error.field });
    if (error instanceof NotFoundError) return reply.code(404).send({ error: error.code, message: error.message });
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      const codes: Record<number, string> = { 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT" };
      const code = codes[error.statusCode] ?? "BAD_REQUEST";
      return reply.code(error.statusCode).send({ error: code, message: error.message });
    }
    request.log.error({ err: error, url: request.url }, "request failed");
    return reply.code(500).send({ error: "INTERNAL", message: `The relay failed to handle the request: ${error.message}` });
  });

  const branchOr404 = (id: string) => {
    const branch = relay.branches.get(id);
    if (!branch) {
      throw Object.assign(new Error(`No branch ${id} on this relay`), { statusCode: 404 });
    }
    return branch;
  };

  // The relay's clock lets terminals measure their offset from it.
  app.get("/health", async () => ({ ok: true, time: Date.now() }));

  app.post("/api/activate", async (request) => relay.activate((request.body ?? {}) as Record<string, unknown>));

  app.post<{ Params: { branch: string }; Body: { terminal?: string; ttlMinutes?: number } }>(
    "/api/hq/branches/:branch/enrollments",
    async (request, reply) =>
      reply.code(201).send(await relay.createEnrollment(request.params.branch, String(request.body?.terminal ?? ""), request.body?.ttlMinutes)),
  );

  app.post<{ Params: { branch: string; terminal: string } }>("/api/hq/branches/:branch/devices/:terminal/revoke", async (request) =>
    relay.revokeDevice(request.params.branch, request.params.terminal),
  );

  app.post<{ Querystring: { priceColumn?: string; stockBuffer?: string; country?: string; rounding?: string; taxCode?: string } }>("/api/hq/catalog", async (request) => {
    if (typeof request.body !== "string") {
      throw new ValidationError("BODY_INVALID", "Send the catalog as CSV with Content-Type: text/csv", null);
    }
    const stockBuffer = request.query.stockBuffer === undefined ? undefined : Number(request.query.stockBuffer);
    if (stockBuffer !== undefined && (!Number.isInteger(stockBuffer) || stockBuffer < 0)) {
      throw new ValidationError("STOCK_BUFFER_INVALID", `stockBuffer ${request.query.stockBuffer} must be a whole number at or above 0`, "stockBuffer");
    }
    const rounding = request.query.rounding;
    if (rounding !== undefined && rounding !== "per-line" && rounding !== "per-rate-group") {
      throw new ValidationError("ROUNDING_INVALID", `rounding ${rounding} must be per-line or per-rate-group`, "rounding");
    }
    const result = await relay.importCatalog(
      request.body,
      {
        ...(request.query.priceColumn ? { priceColumn: request.query.priceColumn } : {}),
        ...(stockBuffer !== undefined ? { stockBuffer } : {}),
        ...(request.query.taxCode ? { taxCode: request.query.taxCode } : {}),
      },
      { ...(request.query.country ? { country: request.query.country } : {}), ...(rounding ? { rounding } : {}) },
    );
    return { ...result, errors: result.errors.slice(0, 100) };
  });

  app.post<{ Body: CreateBranchInput }>("/api/hq/branches", async (request, reply) => {
    if (typeof request.body !== "object" || request.body === null) {
      throw new ValidationError("BODY_INVALID", "Send the branch as a JSON object", null);
    }
    return reply.code(201).send(await relay.createBranch(request.body));
  });

  app.post<{ Params: { branch: string }; Body: UserInput }>("/api/hq/branches/:branch/users", async (request, reply) =>
    reply.code(201).send(await relay.putUser(request.params.branch, request.body)),
  );

  app.get<{ Params: { branch: string }; Querystring: { day?: string } }>("/api/hq/branches/:branch/reports/z", async (request) => {
    const day = parseBusinessDay(request.query.day);
    return branchOr404(request.params.branch).zReport(day);
  });

  app.get("/api/hq/branches", async () => relay.branchSummaries());

  app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch", async (request) =>
    branchOr404(request.params.branch).summary(relay.contacts),
  );

  app.get<{ Params: { branch: string }; Querystring: { skus?: string } }>("/api/hq/branches/:branch/stock", async (request) => {
    const stock = branchOr404(request.params.branch).stock();
    if (!request.query.skus) return stock;
    return Object.fromEntries(request.query.skus.split(",").map((sku) => [sku, stock[sku] ?? null]));
  });

  registerReviewRoutes(app, relay);

  app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch/records", async (request) =>
    branchOr404(request.params.branch).records(),
  );

  app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch/replica", async (request) => {
    const branch = branchOr404(request.params.branch);
    await branch.idle();
    return { heads: branch.heads(), stock: branch.stock() };
  });

  app.post<{ Params: { branch: string }; Body: { prefix?: unknown; from?: unknown; to?: unknown; validUntil?: unknown } }>(
    "/api/hq/branches/:branch/folio-ranges",
    async (request, reply) => {
      const body = request.body ?? {};
      const { prefix, from, to, validUntil } = body;
      if (typeof prefix !== "string" || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || (from as number) < 1 || (to as number) < (from as number)) {
        throw new ValidationError("FOLIO_RANGE_INVALID", "A folio range needs prefix, from and to (whole numbers, from <= to) and validUntil", null);
      }
      if (typeof validUntil !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(validUntil)) {
        throw new ValidationError("VALID_UNTIL_INVALID", `validUntil ${JSON.stringify(validUntil)} must be a date as YYYY-MM-DD`, "validUntil");
      }
      const branch = branchOr404(request.params.branch);
      await branch.addFolioRange({ prefix, from: from as number, to: to as number, validUntil });
      return reply.code(201).send(branch.folioSummary());
    },
  );

  app.post<{ Params: { branch: string } }>("/api/hq/branches/:branch/inventory/roll", async (request) =>
    branchOr404(request.params.branch).rollInventory(),
  );

  void app.register(catalogRoutes(relay));
  void app.register(hqRoutes(relay));

  return app;
}

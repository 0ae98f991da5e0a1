import Fastify from "fastify";
import type { FastifyError } from "fastify";
import { NotFoundError, RuleError, ValidationError, parseBusinessDay } from "@mercora/crdt-model";
import { registerReviewRoutes } from "./review-routes.ts";
import { screenRoutes } from "./screen-routes.ts";
import type { Terminal } from "./terminal.ts";

function parseScope(scope: unknown): "terminal" | "branch" {
  if (scope === undefined || scope === "terminal") return "terminal";
  if (scope === "branch") return "branch";
  throw new ValidationError("SCOPE_INVALID", `scope ${JSON.stringify(scope)} must be terminal or branch`, "scope", scope);
}

/** JSON body of every error the API returns. */
export interface ApiError {
  error: string;
  message: string;
  field?: string | null;
}

/**
 * Builds the terminal's local HTTP API: sales, cash movements, stock
 * movements and lookups, conflicts and their review, voids, status and the
 * manual offline switch.
 * Bad input gets a 4xx with a code and a message that names the value.
 */
export function buildTerminalApi(terminal: Terminal) {
  const app = Fastify({ loggerInstance: terminal.log.child({ component: "http" }, { level: "warn" }) });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) {
      return reply.code(400).send({ error: error.code, message: error.message, field: error.field } satisfies ApiError);
    }
    if (error instanceof RuleError) {
      return reply.code(409).send({ error: error.code, message: error.message, field: error.field } satisfies ApiError);
    }
    if (error instanceof NotFoundError) return reply.code(404).send({ error: error.code, message: error.message } satisfies ApiError);
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      const code = (error as { code?: string }).code === "FST_ERR_CTP_INVALID_JSON_BODY" ? "BODY_INVALID" : "BAD_REQUEST";
      const message =
        code === "BODY_INVALID" ? `The request body is not valid JSON: ${error.message}` : error.message;
      return reply.code(status).send({ error: code, message } satisfies ApiError);
    }
    request.log.error({ err: error, url: request.url }, "request failed");
    return reply.code(500).send({ error: "INTERNAL", message: `The terminal failed to handle the request: ${error.message}` });
  });

  // An empty body with a JSON content type (DELETE /sessions from many clients) reads as no body.
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    if (body === "") return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (error) {
      done(Object.assign(new Error((error as Error).message), { statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON_BODY" }), undefined);
    }
  });

  app.get("/health", async () => ({ ok: true }));

  app.post("/sessions", async (request, reply) => reply.code(201).send(await terminal.signIn(request.body)));
  app.get("/sessions", async () => ({ session: terminal.session }));
  app.delete("/sessions", async () => terminal.signOut());
  app.get("/status", async () => terminal.status());

  app.get<{ Params: { code: string } }>("/products/:code", async (request, reply) => {
    const product = terminal.lookup(request.params.code);
    if (!product) {
      return reply.code(404).send({
        error: "SKU_UNKNOWN",
        message: `No product with SKU or barcode ${request.params.code} in the catalog`,
      } satisfies ApiError);
    }
    return product;
  });

  app.get<{ Querystring: { q?: string; limit?: string } }>("/products", async (request) => {
    const limit = Math.min(100, Math.max(1, Number(request.query.limit ?? 20) || 20));
    return terminal.search(request.query.q ?? "", limit);
  });

  app.get<{ Params: { sku: string } }>("/stock/:sku", async (request, reply) => {
    const product = terminal.lookup(request.params.sku);
    if (!product) {
      return reply.code(404).send({
        error: "SKU_UNKNOWN",
        message: `No product with SKU or barcode ${request.params.sku} in the catalog`,
      } satisfies ApiError);
    }
    return { sku: product.sku, name: product.name, stock: product.stock, stockBuffer: product.stockBuffer };
  });

  app.get("/stock", async () => terminal.allStock());

  app.post("/sales", async (request, reply) => {
    const { record, duplicate } = await terminal.recordSale(request.body);
    return reply.code(duplicate ? 200 : 201).send({ record, duplicate, receipt: terminal.receipts.render(record) });
  });

  app.get<{ Params: { id: string } }>("/records/:id", async (request, reply) => {
    const record = await terminal.findRecord(request.params.id);
    if (!record) {
      return reply.code(404).send({
        error: "RECORD_UNKNOWN",
        message: `No record ${request.params.id} on this terminal`,
      } satisfies ApiError);
    }
    return record;
  });

  app.get<{ Params: { id: string }; Querystring: { copy?: string } }>("/records/:id/receipt", async (request, reply) => {
    const record = await terminal.findRecord(request.params.id);
    if (!record) {
      return reply.code(404).send({
        error: "RECORD_UNKNOWN",
        message: `No record ${request.params.id} on this terminal`,
      } satisfies ApiError);
    }
    return reply.type("text/plain; charset=utf-8").send(terminal.receipts.render(record, request.query.copy !== "false"));
  });

  app.post<{ Params: { id: string } }>("/records/:id/reprint", async (request, reply) => {
    const record = await terminal.findRecord(request.params.id);
    if (!record) {
      return reply.code(404).send({ error: "RECORD_UNKNOWN", message: `No record ${request.params.id} on this terminal` } satisfies ApiError);
    }
    terminal.receipts.enqueue(record, true);
    terminal.markReprinted(record.id);
    terminal.log.info({ record: record.id, session: terminal.session?.userId ?? null }, "receipt reprinted");
    return reply.code(202).send({ reprint: record.id, copy: true });
  });

  app.get<{ Querystring: { scope?: string } }>("/records", async (request) =>
    request.query.scope === "branch" ? terminal.branchRecords() : terminal.ownRecords(),
  );

  app.post("/cash-movements", async (request, reply) => {
    const record = await terminal.recordCashMovement(request.body);
    return reply.code(201).send({ record });
  });

  app.post("/stock/receipts", async (request, reply) => {
    const record = await terminal.recordStockMovement("stock-receipt", request.body);
    return reply.code(201).send({ record });
  });

  app.post("/stock/adjustments", async (request, reply) => {
    const record = await terminal.recordStockMovement("stock-adjustment", request.body);
    return reply.code(201).send({ record });
  });

  registerReviewRoutes(app, terminal);

  app.post("/wan/offline", async (request, reply) => reply.send({ manualOffline: await terminal.switchOffline(request.body) }));
  app.post("/wan/reconnect", async (_request, reply) => reply.code(202).send(terminal.reconnectNow()));

  app.post("/refunds", async (request, reply) => {
    const { record, duplicate } = await terminal.recordRefund(request.body);
    return reply.code(duplicate ? 200 : 201).send({ record, duplicate, receipt: terminal.receipts.render(record) });
  });

  app.get<{ Querystring: { day?: string; scope?: string } }>("/reports/z", async (request) => {
    const day = parseBusinessDay(request.query.day);
    return await terminal.zReport(day, parseScope(request.query.scope));
  });

  app.get<{ Querystring: { day?: string; scope?: string } }>("/reports/z/receipt", async (request, reply) => {
    const day = parseBusinessDay(request.query.day);
    const report = await terminal.zReport(day, parseScope(request.query.scope));
    return reply.type("text/plain; charset=utf-8").send(terminal.receipts.renderZReport(report));
  });

  app.post<{ Querystring: { day?: string; scope?: string } }>("/reports/z/print", async (request, reply) => {
    const day = parseBusinessDay(request.query.day);
    const report = await terminal.zReport(day, parseScope(request.query.scope));
    try {
      await terminal.receipts.printZReport(report);
    } catch (error) {
      request.log.error({ err: error, day }, "Z report printing failed");
      return reply.code(503).send({ error: "PRINTER_FAULT", message: `The Z report did not print: ${(error as Error).message}; check the printer and try again` } satisfies ApiError);
    }
    return reply.code(202).send({ printed: day });
  });

  app.get("/replica", async () => ({ heads: terminal.documentHeads(), stock: terminal.allStock() }));

  void app.register(screenRoutes(terminal));

  return app;
}

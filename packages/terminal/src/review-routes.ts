import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, RawServerDefault } from "fastify";
import type { Logger } from "pino";
import { parseAuditLimit, parseStatusFilter } from "./conflict-review.ts";
import type { Terminal } from "./terminal.ts";
import { recordVoid } from "./voids.ts";

/**
 * Adds the manager's review routes to the terminal's API: conflicts with
 * their resolutions, resolving one with a PIN, the audit trail, and voids.
 */
export function registerReviewRoutes(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>, terminal: Terminal): void {
  app.get<{ Querystring: { status?: string } }>("/conflicts", async (request) =>
    terminal.review.list(parseStatusFilter(request.query.status)),
  );

  app.get<{ Params: { id: string } }>("/conflicts/:id", async (request, reply) => {
    const conflict = terminal.review.get(request.params.id);
    if (!conflict) {
      return reply.code(404).send({ error: "CONFLICT_UNKNOWN", message: `No conflict ${request.params.id} in this branch; list them with GET /conflicts?status=all` });
    }
    return conflict;
  });

  app.post<{ Params: { id: string } }>("/conflicts/:id/resolutions", async (request, reply) =>
    reply.code(201).send(await terminal.review.resolve(request.params.id, request.body)),
  );

  app.get<{ Querystring: { limit?: string } }>("/audit", async (request) => terminal.review.audit(parseAuditLimit(request.query.limit)));

  app.post("/voids", async (request, reply) => {
    const { record, duplicate } = await recordVoid(terminal, request.body);
    return reply.code(duplicate ? 200 : 201).send({ record, duplicate, receipt: terminal.receipts.render(record) });
  });
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, RawServerDefault } from "fastify";
import { NotFoundError } from "@mercora/crdt-model";
import { parseAuditLimit, parseStatusFilter } from "@mercora/terminal";
import type { ConflictReview } from "@mercora/terminal";
import type { Logger } from "pino";
import type { RelayBranch } from "./branch.ts";
import type { Relay } from "./relay.ts";

type RelayApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

function branchOf(relay: Relay, id: string): RelayBranch & { review: ConflictReview } {
  const branch = relay.branches.get(id);
  if (!branch?.review) throw new NotFoundError("BRANCH_UNKNOWN", `No branch ${id} on this relay; list them with GET /api/hq/branches`);
  return branch as RelayBranch & { review: ConflictReview };
}

/**
 * Adds HQ's review routes to the relay's API: a branch's conflicts with
 * their resolutions, resolving one with a manager's PIN checked at the
 * relay, the audit trail, and the fiscal records still owed.
 */
export function registerReviewRoutes(app: RelayApp, relay: Relay): void {
  app.get<{ Params: { branch: string }; Querystring: { status?: string } }>("/api/hq/branches/:branch/conflicts", async (request) =>
    branchOf(relay, request.params.branch).review.list(parseStatusFilter(request.query.status)),
  );

  app.get<{ Params: { branch: string; id: string } }>("/api/hq/branches/:branch/conflicts/:id", async (request) => {
    const conflict = branchOf(relay, request.params.branch).review.get(request.params.id);
    if (!conflict) {
      throw new NotFoundError("CONFLICT_UNKNOWN", `No conflict ${request.params.id} in branch ${request.params.branch}; list them with ?status=all`);
    }
    return conflict;
  });

  app.post<{ Params: { branch: string; id: string } }>("/api/hq/branches/:branch/conflicts/:id/resolutions", async (request, reply) => {
    const branch = branchOf(relay, request.params.branch);
    return reply.code(201).send(await branch.review.resolve(request.params.id, request.body));
  });

  app.get<{ Params: { branch: string }; Querystring: { limit?: string } }>("/api/hq/branches/:branch/audit", async (request) =>
    branchOf(relay, request.params.branch).review.audit(parseAuditLimit(request.query.limit)),
  );

  app.get<{ Params: { branch: string } }>("/api/hq/branches/:branch/fiscal", async (request) =>
    branchOf(relay, request.params.branch).fiscalDebt(),
  );
}

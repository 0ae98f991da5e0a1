import type { FastifyError, FastifyPluginAsync } from "fastify";
import { RuleError } from "@mercora/crdt-model";
import type { Relay } from "./relay.ts";

/**
 * Builds the plugin of the catalog editing routes: HQ's edits of one product, the
 * catalog's concurrent values and a manager's choice among them, and the
 * enrollment and revocation of catalog editor devices. Registered as a
 * plugin, the routes get their own scope. The HQ token hook of the parent
 * still applies, and their error handler sends rule errors as 409 with
 * their own codes.
 */
export function catalogRoutes(relay: Relay): FastifyPluginAsync {
  return async (scope) => {
    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error instanceof RuleError) return reply.code(409).send({ error: error.code, message: error.message, field: error.field });
      const coded = error as { statusCode?: number; code?: string };
      if (coded.statusCode && coded.statusCode < 500 && coded.code && /^[A-Z_]+$/.test(coded.code)) {
        return reply.code(coded.statusCode).send({ error: coded.code, message: error.message });
      }
      // The relay's error handler takes every other error.
      throw error;
    });

    scope.get<{ Params: { sku: string } }>("/api/hq/catalog/products/:sku", async (request) => relay.catalogEdits.product(request.params.sku));

    scope.patch<{ Params: { sku: string } }>("/api/hq/catalog/products/:sku", async (request) =>
      relay.catalogEdits.edit(request.params.sku, request.body),
    );

    scope.get("/api/hq/catalog/conflicts", async () => relay.catalogEdits.conflicts());

    scope.post<{ Body: { user?: unknown; name?: unknown; ttlMinutes?: unknown } | undefined }>(
      "/api/hq/catalog/editors",
      async (request, reply) => {
        relay.requireCatalog();
        const body = request.body ?? {};
        return reply.code(201).send(await relay.catalogEditors.createEnrollment(body.user, body.name, body.ttlMinutes ?? 24 * 60));
      },
    );

    scope.get("/api/hq/catalog/editors", async () => relay.catalogEditors.list(relay.contacts));

    scope.post<{ Params: { user: string } }>("/api/hq/catalog/editors/:user/revoke", async (request) =>
      relay.revokeCatalogEditor(request.params.user),
    );

    // The one-time code authorizes this call, as a terminal's activation code does.
    scope.post("/api/catalog-editors/activate", async (request) => relay.activateCatalogEditor((request.body ?? {}) as Record<string, unknown>));
  };
}

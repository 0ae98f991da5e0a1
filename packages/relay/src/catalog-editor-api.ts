import Fastify from "fastify";
import type { FastifyError } from "fastify";
import { RuleError, ValidationError } from "@mercora/crdt-model";
import type { CatalogEditor } from "./catalog-editor.ts";

/**
 * Builds the local HTTP API of a running catalog editor (`mercora
 * catalog-editor serve`): product lookups and edits on its own replica,
 * the concurrent values in its replica, and its sync status. Like a terminal's
 * API it has no authentication, so it listens on the loopback address.
 */
export function buildCatalogEditorApi(editor: CatalogEditor) {
  const app = Fastify({ loggerInstance: editor.log.child({ component: "http" }, { level: "warn" }) });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) return reply.code(400).send({ error: error.code, message: error.message, field: error.field });
    if (error instanceof RuleError) return reply.code(409).send({ error: error.code, message: error.message, field: error.field });
    const coded = error as { statusCode?: number; code?: string };
    if (coded.statusCode && coded.statusCode >= 400 && coded.statusCode < 500) {
      const code = coded.code && /^[A-Z_]+$/.test(coded.code) ? coded.code : "BAD_REQUEST";
      return reply.code(coded.statusCode).send({ error: code, message: error.message });
    }
    request.log.error({ err: error, url: request.url }, "request failed");
    return reply.code(500).send({ error: "INTERNAL", message: `The catalog editor failed to handle the request: ${error.message}` });
  });

  app.get("/health", async () => ({ ok: true }));

  app.get("/status", async () => editor.status());

  app.get<{ Params: { sku: string } }>("/products/:sku", async (request) => editor.product(request.params.sku));

  app.patch<{ Params: { sku: string } }>("/products/:sku", async (request) => editor.edit(request.params.sku, request.body));

  app.get("/conflicts", async () => editor.conflicts());

  return app;
}

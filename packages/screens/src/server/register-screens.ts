import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Folder of the built screens (`vite build` output); it is not in git. */
export const SCREENS_DIST = join(import.meta.dirname, "..", "..", "dist");

/** Built pages, by file name in `SCREENS_DIST`. */
export const SCREEN_PAGES = ["caja.html", "gerencia.html", "hq.html"] as const;
export type ScreenPage = (typeof SCREEN_PAGES)[number];

/** URL prefix of the built scripts and styles; `vite.config.ts` builds with the same base. */
export const SCREENS_BASE = "/screens/";

/**
 * Serves the built screens on a fastify app: the files under
 * `/screens/`, and each page at the routes given (for example
 * `{ "/caja": "caja.html" }`). When the screens were never built, every
 * page returns 503 with the command that builds them, and the API keeps
 * working.
 */
export async function registerScreens(app: FastifyInstance, pages: Record<string, ScreenPage>): Promise<void> {
  const built = existsSync(join(SCREENS_DIST, "caja.html"));
  if (built) {
    await app.register(fastifyStatic, {
      root: SCREENS_DIST,
      prefix: SCREENS_BASE,
      index: false,
      // File names under assets/ carry a content hash, so they never change.
      setHeaders: (res, path) => {
        const longLived = path.includes(`${join("dist", "assets")}`);
        res.setHeader("cache-control", longLived ? "public, max-age=31536000, immutable" : "no-cache");
      },
    });
  }
  for (const [route, page] of Object.entries(pages)) {
    app.get(route, async (_request, reply) => {
      if (!built) {
        return reply.code(503).send({
          error: "SCREENS_NOT_BUILT",
          message: `The screens are not built (no ${join(SCREENS_DIST, page)}); run npm run build:screens and restart`,
        });
      }
      return reply.header("cache-control", "no-cache").sendFile(page, { cacheControl: false });
    });
  }
}

import { resolve } from "node:path";
import { defineConfig } from "vite";

/**
 * Builds the three pages into dist/: the cashier screen and the manager
 * dashboard (served by every terminal) and the HQ dashboard (served by the
 * relay). Scripts and styles go under /screens/, where both servers
 * serve them.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: "/screens/",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    rollupOptions: {
      input: {
        caja: resolve(import.meta.dirname, "caja.html"),
        gerencia: resolve(import.meta.dirname, "gerencia.html"),
        hq: resolve(import.meta.dirname, "hq.html"),
      },
    },
  },
});

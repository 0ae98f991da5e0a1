/**
 * Bundles the `mercora` command (scripts/cli.ts and the workspace packages it
 * imports) into one JavaScript file, so a terminal starts without tsx
 * transpiling TypeScript first, with its dependencies except `EXTERNAL`.
 * `npm start` and `npm test` run it first (prestart, pretest) when
 * the bundle is missing or older than a source; pass --force to build anyway.
 *
 * bin/mercora.js runs the bundle only when every source it was built from
 * (bundled dependencies included) is older than it (see bin/cli-bundle.js), and runs the sources through tsx
 * otherwise, so a stale bundle never runs.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, utimes, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { BUNDLE_DIR, BUNDLE_FILE, INPUTS_FILE, bundleIsFresh } from "../bin/cli-bundle.js";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
const RESOLVING = Symbol("resolving an external dependency");

/**
 * Dependencies left out of the bundle: Automerge reads its WebAssembly file
 * from its own folder, and pino starts transports from files in worker
 * threads. Every other dependency is bundled, which spares Node.js resolving
 * and reading hundreds of files at each start.
 */
const EXTERNAL = /^(@automerge\/|pino(-[a-z-]+)?(\/|$)|thread-stream|sonic-boom|vite(\/|$)|playwright)/;

/**
 * Keeps the `EXTERNAL` dependencies out of the bundle. One installed in the
 * root node_modules keeps its name, and one that only a package's own
 * node_modules contains is imported by its path from the bundle, as Node.js
 * would not find it from dist/.
 */
const externalDependencies: Plugin = {
  name: "external-dependencies",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (!EXTERNAL.test(args.path) || args.pluginData === RESOLVING) return undefined;
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: RESOLVING });
      if (found.errors.length > 0 || found.path.startsWith(join(ROOT, "node_modules") + sep)) return { path: args.path, external: true };
      return { path: relative(BUNDLE_DIR, found.path).split(sep).join("/"), external: true };
    });
  },
};

/**
 * Rewrites `import.meta.dirname` and `import.meta.url` in a bundled source to
 * the folder and URL of that source, computed from the bundle's own URL, so
 * files found relative to a source (the built screens) are found from the
 * bundle too.
 */
const sourceRelativeMeta: Plugin = {
  name: "source-relative-meta",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.")) return { contents: text, loader: "ts" };
      const fromBundle = relative(BUNDLE_DIR, args.path).split("\\").join("/");
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      const contents = text.replace(/import\.meta\.(dirname|url)\b/g, (_, field: string) =>
        field === "url" ? url : `__mercoraDirname(${url})`,
      );
      return { contents, loader: "ts" };
    });
  },
};

// `require` for the bundled CommonJS dependencies that load Node.js built-ins.
const BANNER = [
  'import { createRequire as __mercoraCreateRequire } from "node:module";',
  "const require = __mercoraCreateRequire(import.meta.url);",
  'import { dirname as __mercoraDirnameOf } from "node:path";',
  'import { fileURLToPath as __mercoraPathOf } from "node:url";',
  "const __mercoraDirname = (url) => __mercoraDirnameOf(__mercoraPathOf(url));",
].join("\n");

/** Builds the bundle and the list of sources it contains, when stale (or always with `force`). */
export async function buildCli(options: { force?: boolean } = {}): Promise<boolean> {
  if (!options.force && bundleIsFresh()) return false;
  const { build } = await import("esbuild");
  const started = Date.now();
  await mkdir(dirname(BUNDLE_FILE), { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, "scripts", "cli.ts")],
    outfile: BUNDLE_FILE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    banner: { js: BANNER },
    plugins: [externalDependencies, sourceRelativeMeta],
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => join(process.cwd(), input));
  // A dependency installed with old file dates (from a restored cache, say) still marks the bundle
  // stale, because npm rewrites this lockfile at every install.
  const installed = join(ROOT, "node_modules", ".package-lock.json");
  if (existsSync(installed)) inputs.push(installed);
  await writeFile(INPUTS_FILE, `${JSON.stringify(inputs.map((input) => relative(BUNDLE_DIR, input)), null, 1)}\n`);

  // Dated when the build started, so a source saved during the build marks it stale.
  const startedAt = new Date(started);
  await utimes(BUNDLE_FILE, startedAt, startedAt);
  process.stdout.write(`cli bundle built in ${((Date.now() - started) / 1000).toFixed(1)} s (${inputs.length} sources)\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildCli({ force: process.argv.includes("--force") }).catch((error: Error) => {
    process.stderr.write(`build-cli: ${error.message}\n`);
    process.exit(1);
  });
}

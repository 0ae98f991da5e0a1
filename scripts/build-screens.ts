/**
 * Builds the screens (packages/screens, lit + vite) into packages/screens/dist
 * when the build is missing or older than any of its sources. `npm start` and
 * `npm test` run it first (prestart, pretest), so a fresh clone needs no extra
 * command. Pass --force to build even when the output is fresh.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCREENS = join(fileURLToPath(import.meta.url), "..", "..", "packages", "screens");
const STAMP = join(SCREENS, "dist", "caja.html");
const SOURCES = ["caja.html", "gerencia.html", "hq.html", "vite.config.ts", "package.json", join("src", "app")];

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

/** True when dist/ is missing or older than a source file. */
export async function screensStale(): Promise<boolean> {
  let built: number;
  try {
    built = (await stat(STAMP)).mtimeMs;
  } catch {
    return true;
  }
  for (const source of SOURCES) {
    if ((await newestMtime(join(SCREENS, source))) > built) return true;
  }
  return false;
}

/** Runs `vite build` for the screens when they are stale (or always with `force`). */
export async function buildScreens(options: { force?: boolean } = {}): Promise<boolean> {
  if (!options.force && !(await screensStale())) return false;
  const { build } = await import("vite");
  const started = Date.now();
  await build({ configFile: join(SCREENS, "vite.config.ts"), logLevel: "warn" });
  process.stdout.write(`screens built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildScreens({ force: process.argv.includes("--force") }).catch((error: Error) => {
    process.stderr.write(`build-screens: ${error.message}\n`);
    process.exit(1);
  });
}

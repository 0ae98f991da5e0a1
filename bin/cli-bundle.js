// Location of the bundled `mercora` command that scripts/build-cli.ts
// writes, and the check that it may run. The bundle must exist and be newer
// than every source it was built from, which the build lists next to it.
// Plain JavaScript, so bin/mercora.js can check it before transpiling anything.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const BUNDLE_DIR = join(fileURLToPath(import.meta.url), "..", "..", "dist", "cli");
export const BUNDLE_FILE = join(BUNDLE_DIR, "mercora.js");
export const INPUTS_FILE = join(BUNDLE_DIR, "inputs.json");

/** True when the bundle exists and no source listed in its inputs changed after it was built. */
export function bundleIsFresh() {
  try {
    const built = statSync(BUNDLE_FILE).mtimeMs;
    const inputs = JSON.parse(readFileSync(INPUTS_FILE, "utf8"));
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    return inputs.every((input) => statSync(join(BUNDLE_DIR, input)).mtimeMs <= built);
  } catch {
    return false;
  }
}

#!/usr/bin/env node
// Entry point of the `mercora` command. It runs the JavaScript bundle that
// scripts/build-cli.ts makes (`npm start` and `npm test` build it) when that
// bundle is newer than every source it holds; otherwise it registers tsx and
// runs the TypeScript sources as they are. MERCORA_TSX=1 always uses tsx.
import { pathToFileURL } from "node:url";
import { BUNDLE_FILE, bundleIsFresh } from "./cli-bundle.js";

async function loadMain() {
  if (process.env.MERCORA_TSX !== "1" && bundleIsFresh()) return (await import(pathToFileURL(BUNDLE_FILE).href)).main;
  const { register } = await import("tsx/esm/api");
  register();
  return (await import("../scripts/cli.ts")).main;
}

const main = await loadMain();
await main(process.argv.slice(2));

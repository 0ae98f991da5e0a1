#!/usr/bin/env node
// Entry point of the `mercora` command: registers tsx so the TypeScript
// sources run as they are, then hands the arguments to the sub-command.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../scripts/cli.ts");
await main(process.argv.slice(2));

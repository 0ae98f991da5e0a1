import { CATALOG_EDITOR_USAGE, RELAY_USAGE, runCatalogEditorCli, runRelayCli } from "@mercora/relay";
import { TERMINAL_USAGE, runTerminalCli } from "@mercora/terminal";

const USAGE = `Usage: mercora <command> [options]

Commands:
  terminal        run a cashier terminal
  relay           run the cloud relay
  catalog-editor  edit the corporate catalog from HQ, with or without the relay

Run "mercora <command> --help" for a command's options.
`;

/** Dispatches `mercora <command>`; exits non-zero with the error on a failed start. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === "terminal") return await runTerminalCli(rest);
    if (command === "relay") return await runRelayCli(rest);
    if (command === "catalog-editor") return await runCatalogEditorCli(rest);
    process.stdout.write(command === "--help" || command === undefined ? USAGE : `Unknown command "${command}"\n\n${USAGE}`);
    if (command !== "--help" && command !== undefined) process.exitCode = 2;
  } catch (error) {
    process.stderr.write(`mercora ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.MERCORA_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    if (command === "relay") process.stderr.write(`\n${RELAY_USAGE}`);
    else if (command === "terminal" && /required|must be/.test((error as Error).message)) process.stderr.write(`\n${TERMINAL_USAGE}`);
    else if (command === "catalog-editor" && /must be/.test((error as Error).message)) process.stderr.write(`\n${CATALOG_EDITOR_USAGE}`);
    process.exit(1);
  }
}

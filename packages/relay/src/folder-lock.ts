import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Takes a data folder for this process with a `.lock` file that contains its
 * process id, so two processes never write one folder's storage at once.
 * A lock whose process is gone is taken over. Returns the release function.
 */
export async function lockDataFolder(dataDir: string, what: string): Promise<() => Promise<void>> {
  const path = join(dataDir, ".lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      throw new Error(`Data folder ${dataDir} is in use by ${what} process ${holder}; stop it first or use its HTTP API`);
    }
    await rm(path, { force: true });
  }
  throw new Error(`Could not lock data folder ${dataDir}: another process took it at the same time; try again`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

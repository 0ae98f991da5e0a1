import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface TopFrame {
  frame: string;
  /** Share of all samples in percent, idle included: self time or total time, as documented by the function that returns it. */
  percent: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "").replace(/^.*\/(packages|scripts)\//, "$1/");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

/**
 * Reads every `.cpuprofile` in `dir` (as `node --cpu-prof` writes them) and
 * returns the frames with the most self time, across all files.
 */
export async function topFrames(dir: string, limit = 12): Promise<TopFrame[]> {
  const self = new Map<string, number>();
  let total = 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, index) => {
      const node = byId.get(id);
      const delta = profile.timeDeltas[index] ?? 0;
      if (!node) return;
      const name = frameName(node);
      self.set(name, (self.get(name) ?? 0) + delta);
      total += delta;
    });
  }
  return [...self.entries()]
    .filter(([name]) => name !== "(idle)")
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, time]) => ({ frame, percent: Math.round((time / Math.max(1, total)) * 1000) / 10 }));
}

/**
 * Returns the JavaScript frames of Mercora's packages and of automerge and
 * automerge-repo with the most total (inclusive) time across every
 * `.cpuprofile` in `dir`, as a share of all samples, so a reader sees which
 * call paths the time goes to. Work that runs after an `await` has only
 * its own frames on the stack, so callers that await it are not counted.
 */
const INCLUSIVE_SOURCES = /\/packages\/|@automerge\/automerge-repo\/dist\/|@automerge\/automerge\/dist\/mjs\/[a-z]+\.js/;

export async function topProductFrames(dir: string, limit = 8): Promise<TopFrame[]> {
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    profile.samples.forEach((id, index) => {
      const delta = profile.timeDeltas[index] ?? 0;
      total += delta;
      const seen = new Set<string>();
      for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
        const node = byId.get(current);
        if (!node || !INCLUSIVE_SOURCES.test(node.callFrame.url)) continue;
        const name = frameName(node);
        if (seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
      }
    });
  }
  return [...inclusive.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, time]) => ({ frame, percent: Math.round((time / Math.max(1, total)) * 1000) / 10 }));
}

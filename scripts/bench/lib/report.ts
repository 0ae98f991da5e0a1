import type { FigureResult, FigureRow } from "./context.ts";
import type { MachineInfo, Spread } from "./stats.ts";

export interface BenchReport {
  mode: "quick" | "full";
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  loadBefore: number[];
  loadAfter: number[];
  versions: Record<string, string>;
  git: { commit: string; productChanges: string[] };
  figures: FigureResult[];
  failures: { figure: string; error: string }[];
}

function number(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "B" && value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Median with min and max in brackets, e.g. `12.1 (11.8–13.0)`. */
export function formatSpread(value: Spread | undefined, unit: string): string {
  if (!value || value.runs === 0) return "–";
  if (value.runs === 1 || value.min === value.max) return number(value.median, unit);
  return `${number(value.median, unit)} (${number(value.min, unit)}–${number(value.max, unit)})`;
}

function mib(value: Spread | undefined): string {
  if (!value || value.runs === 0) return "–";
  return `${Math.round(value.median / 1024 / 1024)}`;
}

function ratio(row: FigureRow): string {
  // A ratio of two growth figures is not a useful comparison.
  if (row.unit === "%" || row.unit === "x") return "–";
  if (!row.pouch || !Number.isFinite(row.pouch.median) || row.pouch.median === 0) return "–";
  if (!Number.isFinite(row.mercora.median)) return "–";
  return (row.mercora.median / row.pouch.median).toFixed(2);
}

/**
 * Says by how much a missed goal is missed, for goals written as
 * "<= N unit" (an upper bound on the Mercora figure) and "ratio <= R".
 */
function shortfall(row: FigureRow): string {
  const parts: string[] = [];
  const bound = /(?:^|, )<= ([\d.,]+) (ms|s|%)/.exec(row.goal);
  if (bound) {
    const limit = Number(bound[1]!.replace(/,/g, ""));
    if (row.mercora.median > limit) parts.push(`${(row.mercora.median / limit).toFixed(1)}x the bound`);
  }
  const ratioGoal = /ratio <= ([\d.]+)/.exec(row.goal);
  if (ratioGoal && row.pouch && row.pouch.median > 0) {
    const ratio = row.mercora.median / row.pouch.median;
    const limit = Number(ratioGoal[1]);
    if (ratio > limit) parts.push(`ratio ${(ratio / limit).toFixed(1)}x the goal`);
  }
  return parts.join(", ");
}

function verdict(row: FigureRow): string {
  if (row.met === null) return "–";
  if (row.met) return "met";
  const by = shortfall(row);
  return by ? `**missed** (${by})` : "**missed**";
}

/** Renders the results table as Markdown, one row per figure line. */
export function renderTable(figures: FigureResult[]): string {
  const lines = [
    "| figure | metric | unit | Mercora | PouchDB | Mercora/PouchDB | limit | goal | goal met | peak RSS MiB (Mercora / PouchDB) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const figure of figures) {
    for (const row of figure.rows) {
      lines.push(
        `| ${row.figure} | ${row.metric} | ${row.unit} | ${formatSpread(row.mercora, row.unit)} | ${formatSpread(row.pouch, row.unit)} | ` +
          `${ratio(row)} | ${row.limit ? `${formatSpread(row.limit, row.unit)} (${row.limitName})` : "–"} | ${row.goal} | ${verdict(row)} | ` +
          `${mib(row.peakRss.mercora)} / ${mib(row.peakRss.pouch)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Figure ids in the order scripts/bench.ts runs them. */
const ALL_FIGURES = ["sale-ack", "lan", "catchup", "coldstart", "capacity"];

const PAGE_HEADER = [
  "# Benchmarks",
  "",
  "`npm run bench` measures Mercora next to PouchDB and the physical limit of this machine, and rewrites the section of this page " +
    "for its mode: `npm run bench -- --quick` (smaller histories, fewer samples, a short soak) or the full run. " +
    "Every figure is the median over several runs with the minimum and maximum in brackets; each run uses fresh processes, " +
    "and no process measures a load of Automerge data it generated itself. `npm test` runs none of this. " +
    "`npm run bench -- --help` lists the options; logs, CPU profiles and a JSON report go to a folder under the system temporary folder, printed at start.",
  "",
].join("\n");

function marker(mode: string, edge: "start" | "end"): string {
  return `<!-- bench:${mode}:${edge} -->`;
}

/**
 * Replaces the section of `report.mode` in the page `previous`, keeping the
 * other mode's section and any text written above or below the sections.
 */
export function mergeReport(previous: string, report: BenchReport): string {
  const sections: Record<string, string> = {};
  for (const mode of ["full", "quick"]) {
    const start = previous.indexOf(marker(mode, "start"));
    const end = previous.indexOf(marker(mode, "end"));
    if (start >= 0 && end > start) sections[mode] = previous.slice(start, end + marker(mode, "end").length);
  }
  sections[report.mode] = `${marker(report.mode, "start")}\n${renderReport(report)}\n${marker(report.mode, "end")}`;
  const full = sections.full ?? `${marker("full", "start")}\n## Full run\n\nNo full run recorded yet: run \`npm run bench\`.\n${marker("full", "end")}`;
  const quick = sections.quick ?? `${marker("quick", "start")}\n## Quick run\n\nNo quick run recorded yet: run \`npm run bench -- --quick\`.\n${marker("quick", "end")}`;
  const firstSection = previous.indexOf("<!-- bench:");
  const header = firstSection > 0 ? previous.slice(0, firstSection).trimEnd() + "\n" : PAGE_HEADER;
  const lastEnd = Math.max(
    ...["full", "quick"].map((mode) => {
      const at = previous.lastIndexOf(marker(mode, "end"));
      return at < 0 ? -1 : at + marker(mode, "end").length;
    }),
  );
  const trailer = lastEnd >= 0 ? previous.slice(lastEnd).trim() : "";
  return `${header}\n${full}\n\n${quick}\n${trailer ? `\n${trailer}\n` : ""}`;
}

/**
 * Groups the report's figures by the commit that measured them and the
 * count of uncommitted changes then. A figure without them counts as the
 * report's own.
 */
function figuresByCommit(report: BenchReport): { commit: string; changes: number; figures: FigureResult[] }[] {
  const groups = new Map<string, { commit: string; changes: number; figures: FigureResult[] }>();
  for (const figure of report.figures) {
    const commit = figure.commit ?? report.git.commit;
    const changes = figure.uncommittedChanges ?? (figure.commit === undefined ? report.git.productChanges.length : 0);
    const key = `${commit} ${changes}`;
    const group = groups.get(key) ?? { commit, changes, figures: [] };
    group.figures.push(figure);
    groups.set(key, group);
  }
  if (groups.size === 0) return [{ commit: report.git.commit, changes: report.git.productChanges.length, figures: [] }];
  return [...groups.values()];
}

/** Renders the section of `docs/benchmarks.md` for one bench run. */
export function renderReport(report: BenchReport): string {
  const machine = report.machine;
  // Only the load before the run shows other work. The load after counts the bench's own last figure, such as the
  // capacity soak's load generators.
  const busy = (report.loadBefore[0] ?? 0) > machine.cores * 0.5;
  const out: string[] = [
    `## ${report.mode === "full" ? "Full" : "Quick"} run`,
    "",
    `Results of \`${report.command}\`, started ${report.startedAt} and finished ${report.finishedAt}.`,
    "",
    "### Machine",
    "",
    `- ${machine.cores} cores (${machine.cpuModel}), ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB memory, ${machine.platform}`,
    `- Node.js ${machine.node}`,
    `- load average (1, 5, 15 min) before: ${report.loadBefore.join(", ")}; after: ${report.loadAfter.join(", ")}`,
  ];
  if (busy) {
    out.push(
      "- NOTE: the machine was busy with other work when this run started (1-minute load average above half the core count), " +
        "so latencies and throughput are worse and noisier than on an idle machine.",
    );
  }

  out.push("", "### Product version", "");
  const groups = figuresByCommit(report);
  for (const { commit, changes, figures } of groups) {
    const scope = groups.length > 1 ? ` (figures ${figures.map((f) => f.id).join(", ")})` : "";
    out.push(
      `- commit ${commit}${scope}` +
        (changes > 0 ? `, with ${changes} uncommitted changes under packages/ (git status --short)` : ", with no uncommitted changes under packages/"),
    );
  }
  out.push("", "### Package versions", "");
  for (const [name, version] of Object.entries(report.versions)) out.push(`- ${name} ${version}`);

  out.push("", "### Results", "", renderTable(report.figures), "");
  const missing = ALL_FIGURES.filter((id) => !report.figures.some((f) => f.id === id));
  if (missing.length > 0) {
    const flag = report.mode === "quick" ? "--quick " : "";
    out.push(
      `NOTE: this section has no result for ${missing.join(", ")}; \`npm run bench -- ${flag}--only ${missing.join(",")} --write\` adds ${missing.length === 1 ? "it" : "them"}.`,
      "",
    );
  }
  if (report.failures.length > 0) {
    out.push("### Figures that failed to run", "");
    for (const failure of report.failures) out.push(`- ${failure.figure}: ${failure.error}`);
    out.push("");
  }

  for (const figure of report.figures) {
    out.push(`### ${figure.title}`, "");
    if (figure.startedAt) {
      const by = figure.command ? ` by \`${figure.command}\` at commit ${(figure.commit ?? report.git.commit).slice(0, 7)}` : "";
      out.push(`Measured${by} from ${figure.startedAt}; load average before: ${figure.loadBefore?.join(", ")}; after: ${figure.loadAfter?.join(", ")}.`, "");
    }
    out.push("How it is measured:", "");
    for (const line of figure.method) out.push(`- ${line}`);
    const notes = figure.rows.flatMap((row) => row.notes.map((note) => `${row.metric}: ${note}`));
    if (figure.findings.length > 0 || notes.length > 0) {
      out.push("", "Findings:", "");
      for (const line of [...figure.findings, ...notes]) out.push(`- ${line}`);
    }
    const options = figure.commands.filter((c) => c.startsWith("--")).join(" ");
    const command = `npm run bench -- ${report.mode === "quick" ? "--quick " : ""}--only ${figure.id}${options ? ` ${options}` : ""}`;
    out.push("", `Command for this figure alone: \`${command}\``, "");
  }
  return out.join("\n");
}

import type { RelayBranch } from "./branch.ts";

type Summary = ReturnType<RelayBranch["summary"]>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Renders a plain HTML overview of every branch for franchise HQ: terminals
 * with last contact and acknowledged records, sales per business day, open
 * conflicts, and fiscal records still owed with their deadlines. It reloads
 * itself every 5 seconds.
 */
export function renderHqPage(branches: Summary[]): string {
  const sections = branches.map((branch) => {
    const terminals = branch.terminals
      .map(
        (t) =>
          `<tr><td>${escapeHtml(t.id)}</td><td>${t.connected ? "conectada" : "sin conexión"}</td>` +
          `<td>${escapeHtml(t.lastContact ?? "-")}</td><td>${t.ackedSeq}</td></tr>`,
      )
      .join("");
    const days = branch.days
      .map(
        (d) =>
          `<tr><td>${escapeHtml(d.businessDay)}</td><td>${d.tickets}</td><td>${(d.sales / 100).toFixed(2)}</td>` +
          `<td>${d.offlineTickets}</td></tr>`,
      )
      .join("");
    const open = branch.conflicts.filter((c) => c.status === "open");
    const resolved = branch.conflicts.length - open.length;
    const conflicts = open
      .map(
        (c) =>
          `<tr><td>${escapeHtml(c.kind)}</td><td>${escapeHtml(c.sku)}</td><td>${c.shortfall}</td>` +
          `<td>${escapeHtml(c.tickets.join(", "))}</td><td>${escapeHtml(c.detectedBy)}</td></tr>`,
      )
      .join("");
    const fiscal = branch.fiscal.records
      .map(
        (d) =>
          `<tr><td>${escapeHtml(d.record)}</td><td>${escapeHtml(d.folio ?? "-")}</td><td>${escapeHtml(d.transmitBy)}</td>` +
          `<td>${d.overdue ? "vencido" : `${Math.floor(d.msLeft / 3_600_000)} h`}</td></tr>`,
      )
      .join("");
    return `<section><h2>${escapeHtml(branch.name)} (${escapeHtml(branch.branch)})</h2>
<h3>Terminales</h3><table><tr><th>Terminal</th><th>Estado</th><th>Último contacto</th><th>Registros confirmados</th></tr>${terminals}</table>
<h3>Ventas por día</h3><table><tr><th>Día</th><th>Tickets</th><th>Ventas</th><th>Tickets sin conexión</th></tr>${days}</table>
<h3>Conflictos abiertos (${open.length}; resueltos: ${resolved})</h3><table><tr><th>Tipo</th><th>SKU</th><th>Faltante</th><th>Tickets</th><th>Detectado por</th></tr>${conflicts}</table>
<h3>Documentos fiscales pendientes (${branch.fiscal.pending}; vencidos: ${branch.fiscal.overdue})</h3><table><tr><th>Registro</th><th>Folio</th><th>Plazo</th><th>Resta</th></tr>${fiscal}</table></section>`;
  });
  return `<!doctype html><html lang="es"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Mercora HQ</title>
<style>body{font-family:sans-serif;margin:1rem}table{border-collapse:collapse;margin-bottom:1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>
</head><body><h1>Mercora HQ</h1>${sections.join("\n")}</body></html>`;
}

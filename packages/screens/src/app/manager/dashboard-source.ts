import { ApiClient } from "../shared/api-client.ts";
import type { ActionSpec, Conflict } from "./types.ts";

/**
 * Source of a manager dashboard's data: a terminal's own API (at
 * `/gerencia` on any terminal) or the relay's HQ API for one branch (at
 * `/hq/gerencia?branch=B&token=T`). Both return the same shapes.
 */
export interface DashboardSource {
  kind: "terminal" | "hq";
  branch: string | null;
  api: ApiClient;
  dashboard: string;
  users: string;
  conflicts: (status: "open" | "resolved" | "all") => string;
  resolutions: (conflictId: string) => string;
  audit: string;
  /** The terminal's status, with the manual switch and fiscal deadlines; null at HQ. */
  status: string | null;
  /** The relay's branch summary, with folios and fiscal deadlines; null on a terminal. */
  summary: string | null;
  /** Target of the "back" link: the cashier screen or the HQ dashboard. */
  home: string;
}

/** Picks the source from the page address. */
export function sourceFromLocation(location: Location): DashboardSource {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const branch = params.get("branch");
  if (location.pathname.startsWith("/hq") && branch) {
    const base = `/api/hq/branches/${encodeURIComponent(branch)}`;
    return {
      kind: "hq",
      branch,
      api: new ApiClient(token),
      dashboard: `${base}/dashboard`,
      users: `${base}/users`,
      conflicts: (status) => `${base}/conflicts?status=${status}`,
      resolutions: (id) => `${base}/conflicts/${encodeURIComponent(id)}/resolutions`,
      audit: `${base}/audit?limit=100`,
      status: null,
      summary: base,
      home: `/hq?token=${encodeURIComponent(token ?? "")}`,
    };
  }
  return {
    kind: "terminal",
    branch: null,
    api: new ApiClient(),
    dashboard: "/dashboard",
    users: "/users",
    conflicts: (status) => `/conflicts?status=${status}`,
    resolutions: (id) => `/conflicts/${encodeURIComponent(id)}/resolutions`,
    audit: "/audit?limit=100",
    status: "/status",
    summary: null,
    home: "/caja",
  };
}

/** Actions a manager may take per conflict kind, for servers that do not list them yet. */
const KNOWN_ACTIONS: Record<string, ActionSpec[]> = {
  oversell: [
    { action: "accept-backorder", needs: [] },
    { action: "record-found-stock", needs: ["quantity"] },
    { action: "refund-customer", needs: ["value"] },
  ],
  "double-refund": [
    { action: "accept-loss", needs: [] },
    { action: "recover-from-customer", needs: [] },
  ],
  "duplicate-provisional": [{ action: "acknowledge", needs: [] }],
  integrity: [{ action: "acknowledge", needs: [] }],
  "clock-skew": [{ action: "acknowledge", needs: [] }],
  "revoked-device": [{ action: "acknowledge", needs: [] }],
  "catalog-edit": [{ action: "choose-value", needs: ["value"] }],
};

/**
 * Fills the fields a server may not send yet (status, resolution, actions,
 * audit), so the dashboard shows conflicts from servers with and without
 * conflict review. A refund-customer action picks among the conflict's
 * tickets when the server lists no values.
 */
export function normalizeConflict(raw: Partial<Conflict> & { id: string; kind: string }): Conflict {
  const tickets = raw.tickets ?? [];
  const actions = (raw.actions && raw.actions.length > 0 ? raw.actions : (KNOWN_ACTIONS[raw.kind] ?? [{ action: "acknowledge", needs: [] }])).map(
    (spec) => (spec.action === "refund-customer" && !spec.values ? { ...spec, values: tickets } : spec),
  );
  return {
    sku: "",
    shortfall: 0,
    stock: 0,
    subject: "",
    detail: "",
    firstDetectedAt: raw.detectedAt ?? "",
    detectedAt: "",
    detectedBy: "",
    detectedByAll: [],
    ...raw,
    tickets,
    status: raw.status ?? "open",
    resolution: raw.resolution ?? null,
    actions,
    audit: raw.audit ?? [],
  };
}

/** Shapes the manager dashboard reads; conflicts follow the conflict review contract. */

export interface OfflinePeriod {
  start: string;
  end: string | null;
  manual: boolean;
  by: string | null;
  reason: string | null;
}

export interface DashboardTerminal {
  id: string;
  name: string;
  lastSeq: number | null;
  ackedSeq: number;
  pending: number | null;
  lastRecordAt: string | null;
  offline: { offlineNow: boolean; offlineSince: string | null; todayMs: number; monthMs: number; reportedAt: string | null };
  periods: OfflinePeriod[];
  months: Record<string, { offlineMs: number; periods: number }>;
  /** At HQ only: whether the terminal's websocket to the relay is up, and when it last sent anything. */
  connected?: boolean;
  lastContact?: string | null;
}

export interface Dashboard {
  branch: string;
  name: string;
  timeZone: string;
  businessDay: string;
  generatedAt: string;
  currency: string;
  minorUnitDigits: number;
  terminals: DashboardTerminal[];
  salesPerHour: { hour: number; tickets: number; sales: number; refunds: number; offlineTickets: number }[];
  authorizations: {
    at: string;
    record: string;
    terminal: string;
    kind: "refund" | "override";
    manager: string;
    total: number;
    reason: string | null;
    refundOf: string | null;
    offline: boolean;
  }[];
  manualSwitches: { terminal: string; start: string; end: string | null; by: string | null; reason: string | null }[];
}

export interface ActionSpec {
  action: string;
  needs: ("quantity" | "value")[];
  values?: string[];
}

export interface AuditEntry {
  id: string;
  conflictId: string;
  conflictKind: string;
  action: string;
  reason: string;
  quantity: number | null;
  value: string | null;
  manager: string;
  managerName?: string;
  at: string;
  hlc?: string;
  replica: string;
  outcome: "standing" | "superseded";
  records: string[];
}

export interface Conflict {
  id: string;
  kind: string;
  sku: string;
  shortfall: number;
  stock: number;
  tickets: string[];
  subject: string;
  detail: string;
  firstDetectedAt: string;
  detectedAt: string;
  detectedBy: string;
  detectedByAll: string[];
  status: "open" | "resolved";
  resolution: AuditEntry | null;
  actions: ActionSpec[];
  audit: AuditEntry[];
}

export interface UserEntry {
  id: string;
  name: string;
  role: "cashier" | "manager";
}

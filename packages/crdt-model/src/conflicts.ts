import { actionsFor } from "./conflict-actions.ts";
import type { CandidateDoc, ConflictsDoc, DetectionDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, str } from "./strings.ts";
import type { CatalogCandidate, Conflict, Detection } from "./types.ts";

/** Builds the value of a branch's conflicts document with one detection map and one resolution map per replica. */
export function initConflicts(branch: string, replicas: string[]): ConflictsDoc {
  const detections: ConflictsDoc["detections"] = {};
  const resolutions: NonNullable<ConflictsDoc["resolutions"]> = {};
  for (const replica of replicas) {
    detections[replica] = {};
    resolutions[replica] = {};
  }
  return { schema: SCHEMA_VERSION, type: imm("conflicts"), branch: imm(branch), detections, resolutions };
}

function readDetection(stored: DetectionDoc): Detection {
  const detection: Detection = {
    id: str(stored.id),
    kind: str(stored.kind),
    sku: str(stored.sku),
    shortfall: stored.shortfall,
    stock: stored.stock,
    tickets: stored.tickets.map(str),
    subject: str(stored.subject),
    detail: str(stored.detail),
    firstDetectedAt: str(stored.firstDetectedAt),
    detectedAt: str(stored.detectedAt),
    detectedBy: str(stored.detectedBy),
  };
  if (stored.candidates) detection.candidates = stored.candidates.map(readCandidate);
  if (stored.values) detection.values = stored.values.map(str);
  return detection;
}

function readCandidate(stored: CandidateDoc): CatalogCandidate {
  return {
    value: str(stored.value),
    setBy: str(stored.setBy),
    setByName: str(stored.setByName),
    source: str(stored.source),
    setAt: str(stored.setAt),
  };
}

/** Reads what one replica has detected, by conflict id. */
export function readDetections(doc: ConflictsDoc, replica: string): Map<string, Detection> {
  const out = new Map<string, Detection>();
  for (const [id, stored] of Object.entries(doc.detections[replica] ?? {})) {
    out.set(id, readDetection(stored));
  }
  return out;
}

/**
 * Writes a replica's detection inside a `change()` callback, replacing its
 * earlier version. Each replica writes only its own map, so concurrent
 * detections of one conflict by two replicas never overwrite each other.
 */
export function putDetection(doc: ConflictsDoc, replica: string, detection: Detection): void {
  const own = doc.detections[replica];
  if (!own) {
    throw new Error(
      `Conflicts of branch ${str(doc.branch)} have no map for replica ${replica}; the relay creates one per terminal`,
    );
  }
  const stored: DetectionDoc = {
    id: imm(detection.id),
    kind: imm(detection.kind),
    sku: imm(detection.sku),
    shortfall: detection.shortfall,
    stock: detection.stock,
    tickets: detection.tickets.map(imm),
    subject: imm(detection.subject),
    detail: imm(detection.detail),
    firstDetectedAt: imm(detection.firstDetectedAt),
    detectedAt: imm(detection.detectedAt),
    detectedBy: imm(detection.detectedBy),
  };
  if (detection.candidates) {
    stored.candidates = detection.candidates.map((c) => ({
      value: imm(c.value),
      setBy: imm(c.setBy),
      setByName: imm(c.setByName),
      source: imm(c.source),
      setAt: imm(c.setAt),
    }));
  }
  if (detection.values) stored.values = detection.values.map(imm);
  own[detection.id] = stored;
}

function moreComplete(a: Detection, b: Detection): Detection {
  if (a.tickets.length !== b.tickets.length) return a.tickets.length > b.tickets.length ? a : b;
  if (a.shortfall !== b.shortfall) return a.shortfall > b.shortfall ? a : b;
  return a.detectedAt >= b.detectedAt ? a : b;
}

/**
 * Merges every replica's detections into one conflict per id. The content is
 * the most complete detection (most tickets, then largest shortfall, then
 * latest); the first detection time and place are the earliest any replica
 * recorded. Sorted by first detection. Every conflict comes back open:
 * `reviewConflicts` applies the managers' actions.
 */
export function listConflicts(doc: ConflictsDoc): Conflict[] {
  const byId = new Map<string, Detection[]>();
  for (const replica of Object.keys(doc.detections)) {
    for (const detection of readDetections(doc, replica).values()) {
      const list = byId.get(detection.id) ?? [];
      list.push(detection);
      byId.set(detection.id, list);
    }
  }
  const conflicts: Conflict[] = [];
  for (const detections of byId.values()) {
    const sorted = [...detections].sort((a, b) => (a.firstDetectedAt < b.firstDetectedAt ? -1 : 1));
    const best = sorted.reduce(moreComplete);
    const first = sorted[0]!;
    conflicts.push({
      ...best,
      firstDetectedAt: first.firstDetectedAt,
      detectedBy: first.detectedBy,
      detectedByAll: sorted.map((d) => d.detectedBy),
      status: "open",
      resolution: null,
      actions: actionsFor(best),
      audit: [],
    });
  }
  return conflicts.sort((a, b) => (a.firstDetectedAt < b.firstDetectedAt ? -1 : 1));
}

/**
 * One audit record per inference request: who asked (a token id, never the token), which model answered
 * (name, version, bundle digest), on which track, what came back (entity counts by label, and by assertion
 * when the model has them), the status and the latency, and a keyed HMAC of each input document so a note
 * can be traced to the requests that carried it without the log ever holding text. Pure: the route
 * supplies what it knows; the sink writes the line.
 */
import { createHash, createHmac } from 'node:crypto';

/** The field that marks an audit line on stdout, where the operational log also goes. */
export const AUDIT_MARKER = 'nerops_audit';
export const AUDIT_VERSION = 1;

export interface AuditInput {
  time: Date;
  requestId: string;
  route: string;
  /** `tok:<first 12 hex of sha256(token)>` (matches the token-hash Secret's line), or `anonymous`. */
  caller: string;
  model: { name: string; version: string; digest: string };
  track: string;
  status: number;
  latencyMs: number;
  /** The documents of the request; absent when the body never parsed (the HMACs are then absent too). */
  texts?: readonly string[] | undefined;
  entities?: ReadonlyArray<ReadonlyArray<{ label: string; assertion?: object }>> | undefined;
}

export interface AuditRecord {
  [AUDIT_MARKER]: typeof AUDIT_VERSION;
  time: string;
  requestId: string;
  route: string;
  caller: string;
  model: { name: string; version: string; digest: string };
  track: string;
  status: number;
  latencyMs: number;
  documents?: number;
  characters?: number;
  inputHmacs?: string[];
  entities?: Record<string, number>;
  assertions?: Record<string, number>;
}

/** The caller's identity as the audit log names it: a prefix of the token's sha256, never the token. */
export function callerId(token: string | undefined): string {
  return token ? `tok:${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12)}` : 'anonymous';
}

/** HMAC-SHA256 of one document under the deployment's audit key: `hmac-sha256:<hex>`. */
export function inputHmac(key: Buffer, text: string): string {
  return `hmac-sha256:${createHmac('sha256', key).update(text, 'utf8').digest('hex')}`;
}

/**
 * Counts of the assertion attributes, e.g. `negated=true: 2`, `certainty=hypothetical: 1`. Only the
 * attributes' own values are counted (booleans and the short enum strings), never free text.
 */
function countAssertions(into: Record<string, number>, a: object): void {
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== 'boolean' && !(typeof v === 'string' && /^[a-z]{1,24}$/.test(v))) continue;
    const key = `${k}=${String(v)}`;
    into[key] = (into[key] ?? 0) + 1;
  }
}

export function auditRecord(i: AuditInput, hmacKey: Buffer | undefined): AuditRecord {
  const r: AuditRecord = {
    [AUDIT_MARKER]: AUDIT_VERSION,
    time: i.time.toISOString(),
    requestId: i.requestId,
    route: i.route,
    caller: i.caller,
    model: i.model,
    track: i.track,
    status: i.status,
    latencyMs: Math.round(i.latencyMs * 10) / 10,
  };
  if (i.texts) {
    r.documents = i.texts.length;
    let chars = 0;
    for (const t of i.texts) chars += t.length;
    r.characters = chars;
    if (hmacKey) r.inputHmacs = i.texts.map((t) => inputHmac(hmacKey, t));
  }
  if (i.entities) {
    const labels: Record<string, number> = {};
    const assertions: Record<string, number> = {};
    for (const doc of i.entities)
      for (const e of doc) {
        labels[e.label] = (labels[e.label] ?? 0) + 1;
        if (e.assertion) countAssertions(assertions, e.assertion);
      }
    r.entities = labels;
    if (Object.keys(assertions).length) r.assertions = assertions;
  }
  return r;
}

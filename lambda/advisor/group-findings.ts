/**
 * Related findings about one table folded into one, so a report says a thing once: a table
 * with autovacuum switched off is one `autovacuum-disabled` finding that carries the dead
 * tuples and the overdue vacuum it causes (instead of three findings with overlapping
 * actions). The folded findings stay visible in the evidence (`related`).
 */
import type { EvidenceRow, Finding, Severity } from './types';
import { SEVERITIES } from './types';

/** Finding id → the ids it absorbs for the same subject. */
const FOLDS: Readonly<Record<string, readonly string[]>> = {
  'autovacuum-disabled': ['vacuum-overdue', 'dead-tuples'],
};

const worse = (a: Severity, b: Severity): Severity => (SEVERITIES.indexOf(a) <= SEVERITIES.indexOf(b) ? a : b);

export function groupRelatedFindings(findings: readonly Finding[]): Finding[] {
  const absorbed = new Set<Finding>();
  const replaced = new Map<Finding, Finding>();
  for (const head of findings) {
    const ids = FOLDS[head.id];
    if (!ids || head.subject === undefined) continue;
    const related = findings.filter((f) => f !== head && f.subject === head.subject && ids.includes(f.id));
    if (related.length === 0) continue;
    for (const f of related) absorbed.add(f);
    let severity = head.severity;
    let evidence: Record<string, unknown> = { ...head.evidence };
    for (const f of related) {
      severity = worse(severity, f.severity);
      // scalar evidence of the folded findings joins the head's (the head's own values win);
      // the head's action already covers theirs
      for (const [k, v] of Object.entries(f.evidence)) if (!(k in evidence) && !Array.isArray(v)) evidence[k] = v;
    }
    evidence = {
      ...evidence,
      related: related.map((f): EvidenceRow => ({ id: f.id, severity: f.severity, title: f.title })),
    };
    replaced.set(head, {
      ...head,
      severity,
      evidence: evidence as Finding['evidence'],
    });
  }
  return findings.filter((f) => !absorbed.has(f)).map((f) => replaced.get(f) ?? f);
}

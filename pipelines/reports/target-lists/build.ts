/**
 * Target lists: one per locality, for its early help lead. Families not open to statutory services with a score in a
 * tier, ranked by score (ties: more headlines first, then family id); families open to statutory services are listed
 * apart and never ranked. Every row says why: each fired rule with its evidence (source, feed, date, record ref).
 * Only pseudonymous ids, roles, age bands and source record refs: no clear identifier.
 */
import type { FiredRule } from '../../../models/rules/engine.ts';
import { rankOrder } from '../../../models/rules/engine.ts';
import type { CellValue } from './csv.ts';
import { cmp } from '../../../models/order.ts';

export interface TargetFamily {
  familyId: string;
  locality: string;
  wardCode: string | null;
  score: number;
  tier: string | null;
  headlines: string[];
  threeNeeds: boolean;
  openToStatutory: boolean;
  reasons: FiredRule[];
  statutoryEvidence: Array<{ personId: string; source: string; feed: string; date: string; recordRef: string }>;
  members: Array<{ personId: string; role: string; membership: string; ageBand: string }>;
  flags: string[];
  ruleSetVersion: string;
}

export interface LocalityList {
  locality: string;
  ranked: Array<TargetFamily & { rank: number }>;
  statutory: TargetFamily[];
  /** Families in the locality with no rule fired or a score below the lowest tier: counted, not listed. */
  notListed: number;
}

export const TARGET_LIST_HEADER = [
  'rank',
  'family_id',
  'tier',
  'score',
  'headlines_met',
  'reasons',
  'members',
  'flags',
];
export const STATUTORY_HEADER = [
  'family_id',
  'statutory_episodes',
  'tier',
  'score',
  'headlines_met',
  'reasons',
  'members',
  'flags',
];

export function buildLocalityLists(families: TargetFamily[], localities: string[]): LocalityList[] {
  const names = [...new Set([...localities, ...families.map((f) => f.locality)])].sort(cmp);
  return names.map((locality) => {
    const here = families.filter((f) => f.locality === locality);
    const statutory = here.filter((f) => f.openToStatutory).sort(rankOrder);
    const eligible = here.filter((f) => !f.openToStatutory && f.tier !== null).sort(rankOrder);
    return {
      locality,
      ranked: eligible.map((f, i) => ({ ...f, rank: i + 1 })),
      statutory,
      notListed: here.length - statutory.length - eligible.length,
    };
  });
}

export function reasonsText(reasons: FiredRule[]): string {
  return reasons
    .map((r) => {
      const ev = r.evidence.map((e) => `${e.source}/${e.feed} ${e.date} ref ${e.recordRef} (${e.personId})`).join('; ');
      const measured =
        r.comparison === 'below'
          ? `${Math.round(r.measured * 1000) / 10}% < ${Math.round(r.threshold * 1000) / 10}%`
          : `${r.measured} >= ${r.threshold}`;
      return `${r.ruleId} ${r.title} [+${r.weight}; ${measured}]: ${ev}`;
    })
    .join(' | ');
}

export function membersText(members: TargetFamily['members']): string {
  return members
    .map((m) => `${m.personId} ${m.role}${m.membership === 'also_in' ? ' (lives elsewhere)' : ''} ${m.ageBand}`)
    .join('; ');
}

export function flagsOf(f: TargetFamily): string[] {
  const flags = [...f.flags];
  if (f.threeNeeds) flags.push('three_needs');
  return flags.sort(cmp);
}

export function targetRow(f: TargetFamily & { rank: number }): CellValue[] {
  return [
    f.rank,
    f.familyId,
    f.tier,
    f.score,
    f.headlines.join('; '),
    reasonsText(f.reasons),
    membersText(f.members),
    flagsOf(f).join('; '),
  ];
}

export function statutoryRow(f: TargetFamily): CellValue[] {
  const episodes = f.statutoryEvidence
    .map((e) => `${e.source}/${e.feed} since ${e.date} ref ${e.recordRef} (${e.personId})`)
    .join('; ');
  return [
    f.familyId,
    episodes,
    f.tier,
    f.score,
    f.headlines.join('; '),
    reasonsText(f.reasons),
    membersText(f.members),
    flagsOf(f).join('; '),
  ];
}

/** A file-name-safe form of a locality name ("Manchester North" -> "Manchester North"; "A/B" -> "A_B"). */
export function localityFileName(locality: string): string {
  return locality.replace(/[^A-Za-z0-9 _-]/g, '_').trim() || 'locality';
}

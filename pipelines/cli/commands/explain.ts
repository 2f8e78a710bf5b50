/**
 * `locality explain --family <id> --out <run output dir> [--as-at D]`: the whole breakdown of one family's score:
 * members and the evidence that makes them a family, every rule fired with what was measured and the evidence
 * (source, feed, date, record ref), the rules not met, the sum, the tier, the three-needs bar and statutory status.
 * Reads only curated (pseudonymous) tables: no clear identifier is printed.
 */
import type { Command } from 'commander';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRunConfig } from '../../config.ts';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import { readParquet, type ParquetRow } from '../../io/parquet.ts';
import { isIsoDate, keys } from '../../layout.ts';
import { parseStratifyConfig, ruleSetOf } from '../../../models/config.ts';
import type { Evidence, FiredRule } from '../../../models/rules/engine.ts';
import type { RuleSet } from '../../../models/rules/schema.ts';

export interface Explanation {
  asAt: string;
  family: {
    familyId: string;
    locality: string;
    wardCode: string | null;
    postcodeDistrict: string | null;
    flags: string[];
  };
  members: Array<{ personId: string; role: string; membership: string; ageBand: string; evidence: unknown[] }>;
  score: number;
  tier: string | null;
  headlines: string[];
  threeNeeds: boolean;
  openToStatutory: boolean;
  statutoryEvidence: Evidence[];
  reasons: FiredRule[];
  ruleSetVersion: string;
}

const s = (r: ParquetRow, k: string): string | null =>
  typeof r[k] === 'string' && r[k] !== '' ? (r[k] as string) : r[k] == null ? null : String(r[k]);

/** The as-at dates that have scores under the run output dir, oldest first. */
export async function scoredAsAts(out: string): Promise<string[]> {
  const dir = join(out, 'curated', 'scores');
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((n) => /^as_at=(\d{4}-\d{2}-\d{2})$/.exec(n)?.[1])
    .filter((d): d is string => !!d)
    .sort();
}

export async function loadExplanation(out: string, familyId: string, asAt?: string): Promise<Explanation> {
  if (asAt !== undefined && !isIsoDate(asAt)) throw new Error(`--as-at ${asAt}: must be a real date YYYY-MM-DD`);
  const dates = await scoredAsAts(out);
  if (dates.length === 0)
    throw new Error(
      `--out ${out}: no scored runs found (expected ${join(out, 'curated', 'scores', 'as_at=<date>')}); run the pipeline first`,
    );
  const date = asAt ?? dates.at(-1)!;
  if (!dates.includes(date))
    throw new Error(`--as-at ${date}: no run for that date under ${out} (runs: ${dates.join(', ')})`);
  const curated = new LocalObjectStore(join(out, 'curated'));
  const fams = await readParquet(curated, keys.curated('families', date));
  const fam = fams.find((f) => f.family_id === familyId);
  if (!fam)
    throw new Error(
      `family ${familyId}: not in the run as at ${date} (${fams.length} families under ${join(out, 'curated', 'families')}; ids look like ${String(fams[0]?.family_id ?? 'F0123456789ab')})`,
    );
  const score = (await readParquet(curated, keys.curated('scores', date))).find((r) => r.family_id === familyId);
  if (!score) throw new Error(`family ${familyId}: no score row as at ${date}: re-run stratify`);
  const members = (await readParquet(curated, keys.curated('family_members', date))).filter(
    (m) => m.family_id === familyId,
  );
  return {
    asAt: date,
    family: {
      familyId,
      locality: s(fam, 'locality') ?? '',
      wardCode: s(fam, 'ward_code'),
      postcodeDistrict: s(fam, 'postcode_district'),
      flags: Array.isArray(fam.flags) ? fam.flags : [],
    },
    members: members.map((m) => ({
      personId: s(m, 'person_id') ?? '',
      role: s(m, 'role') ?? '',
      membership: s(m, 'membership') ?? '',
      ageBand: s(m, 'age_band') ?? '',
      evidence: JSON.parse(s(m, 'evidence') ?? '[]') as unknown[],
    })),
    score: Number(score.score),
    tier: s(score, 'tier'),
    headlines: Array.isArray(score.headlines) ? score.headlines : [],
    threeNeeds: score.three_needs === true,
    openToStatutory: score.open_to_statutory === true,
    statutoryEvidence: JSON.parse(s(score, 'statutory_evidence') ?? '[]') as Evidence[],
    reasons: JSON.parse(s(score, 'reasons') ?? '[]') as FiredRule[],
    ruleSetVersion: s(score, 'rule_set_version') ?? '',
  };
}

function evidenceLine(e: Evidence): string {
  return `${e.source}/${e.feed} ${e.factType} on ${e.date}${e.endDate ? ` to ${e.endDate}` : ''}, record ref ${e.recordRef}, person ${e.personId}${e.value !== null ? `, value ${e.value}` : ''}`;
}

function memberEvidence(ev: unknown): string {
  const e = ev as Record<string, unknown>;
  switch (e.kind) {
    case 'relationship':
      return `${e.source}/${e.feed} relationship ${e.recordRef}: ${e.fromPersonId} is ${e.relationship} of ${e.toPersonId}`;
    case 'group':
      return `${e.source} family grouping ${e.groupRef} (${(e.relationshipIds as string[]).length} relationship records)`;
    case 'co_residence':
      return `lives with ${(e.withPersonIds as string[]).join(', ')} (records ${(e.recordIds as string[]).join(', ')})`;
    case 'resident':
      return `own records ${(e.recordIds as string[]).join(', ') || '(none)'}`;
    default:
      return JSON.stringify(e);
  }
}

export function renderExplanation(x: Explanation, ruleSet: RuleSet): string {
  const L: string[] = [];
  const f = x.family;
  L.push(`Family ${f.familyId} as at ${x.asAt}`);
  L.push(
    `  locality ${f.locality}, ward ${f.wardCode ?? 'unknown'}, postcode district ${f.postcodeDistrict ?? 'unknown'}`,
  );
  if (f.flags.length) L.push(`  flags: ${f.flags.join(', ')}`);
  L.push('');
  L.push(
    `Members (${x.members.filter((m) => m.membership === 'primary').length} in the household, ${x.members.filter((m) => m.membership !== 'primary').length} living elsewhere)`,
  );
  for (const m of x.members) {
    L.push(
      `  ${m.personId}  ${m.role}${m.membership === 'also_in' ? ' (lives elsewhere)' : ''}, age band ${m.ageBand}`,
    );
    for (const e of m.evidence) L.push(`      because: ${memberEvidence(e)}`);
  }
  L.push('');
  L.push(
    `Score ${x.score} = ${x.reasons.length ? x.reasons.map((r) => `${r.weight} (${r.ruleId})`).join(' + ') : 'no rule met'}`,
  );
  L.push(`Tier: ${x.tier ?? 'none (below the lowest tier)'}`);
  L.push(
    `Headlines met (${x.headlines.length}): ${x.headlines.map((h) => ruleSet.headlines.find((y) => y.id === h)?.name ?? h).join('; ') || 'none'}`,
  );
  L.push(`Supporting Families three-needs bar: ${x.threeNeeds ? 'met' : 'not met'}`);
  L.push(`Open to statutory services: ${x.openToStatutory ? 'YES: listed apart, not ranked for early help' : 'no'}`);
  for (const e of x.statutoryEvidence) L.push(`    ${evidenceLine(e)}`);
  L.push(`Rule set: ${x.ruleSetVersion}`);
  L.push('');
  L.push('Rules met');
  if (!x.reasons.length) L.push('  (none)');
  for (const r of x.reasons) {
    const rule = ruleSet.rules.find((y) => y.id === r.ruleId);
    const measured =
      r.comparison === 'below'
        ? `measured ${r.measured} below threshold ${r.threshold}`
        : `measured ${r.measured}, threshold ${r.threshold}`;
    L.push(`  ${r.ruleId} ${r.title}  +${r.weight}  (${measured})`);
    if (rule) L.push(`      ${rule.description}`);
    for (const e of r.evidence) L.push(`      - ${evidenceLine(e)}`);
  }
  L.push('');
  L.push('Rules not met');
  const met = new Set(x.reasons.map((r) => r.ruleId));
  for (const r of ruleSet.rules.filter((y) => !met.has(y.id))) L.push(`  ${r.id} ${r.title} (weight ${r.weight})`);
  return `${L.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description(
      "print the whole breakdown of one family's score: members and why, rules met with evidence, rules not met, tier",
    )
    .requiredOption('--family <id>', 'family id (e.g. from a target list)')
    .requiredOption('--out <dir>', 'the run output directory (the --out given to `run`)')
    .option('--as-at <date>', 'which run (YYYY-MM-DD); default the latest under --out')
    .option('--config <file>', "the run config (for a custom rule set's descriptions)")
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { family: string; out: string; asAt?: string; config?: string; json?: boolean }) => {
      const x = await loadExplanation(opts.out, opts.family, opts.asAt);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(x, null, 2)}\n`);
        return;
      }
      const cfg = await loadRunConfig(opts.config);
      process.stdout.write(renderExplanation(x, ruleSetOf(parseStratifyConfig(cfg.stratify))));
    });
}

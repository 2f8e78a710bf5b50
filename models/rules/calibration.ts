/**
 * Tier calibration: the table of families per tier and per number of headlines met, and the documented rule that
 * chooses the tier thresholds from a run's scores. Pure; `npm run calibration` runs the pipeline on the default data
 * and writes the result into docs/rules.md (a test keeps that block in step with the rule set and tiers).
 *
 * The rule (applied to families not open to statutory services, the ones the lists rank):
 *  - high:   the lowest score at which at least two thirds of the families scoring that much or more meet the
 *            three-needs bar (the Supporting Families eligibility test);
 *  - medium: the lowest score (below high) at which at least 90% of the families from it up to high meet two or more
 *            headlines: needs in more than one part of life;
 *  - low:    2, one substantive indicator (weight 2 or 3) or two markers (weight 1) - a single weight-1 marker, such as
 *            free school meals or one missed health visitor review, is not enough to be listed.
 */
import { createHash } from 'node:crypto';
import type { RuleSet } from './schema.ts';

export interface CalibrationRow {
  score: number;
  headlineCount: number;
  threeNeeds: boolean;
  openToStatutory: boolean;
}

export interface Tier {
  name: string;
  minScore: number;
}

export const HIGH_THREE_NEEDS_SHARE = 2 / 3;
export const MEDIUM_TWO_HEADLINES_SHARE = 0.9;
export const LOW_MIN_SCORE = 2;

/** The thresholds the documented rule gives for these scores (highest first: high, medium, low). */
export function suggestTiers(rows: readonly CalibrationRow[]): Tier[] {
  const ranked = rows.filter((r) => !r.openToStatutory);
  const scores = [...new Set(ranked.map((r) => r.score))].filter((s) => s > LOW_MIN_SCORE).sort((a, b) => a - b);
  const share = (xs: readonly CalibrationRow[], ok: (r: CalibrationRow) => boolean) =>
    xs.length ? xs.filter(ok).length / xs.length : 0;
  const high =
    scores.find(
      (s) =>
        share(
          ranked.filter((r) => r.score >= s),
          (r) => r.threeNeeds,
        ) >= HIGH_THREE_NEEDS_SHARE,
    ) ?? Math.max(LOW_MIN_SCORE + 2, ...scores);
  const medium =
    scores
      .filter((s) => s < high)
      .find(
        (s) =>
          share(
            ranked.filter((r) => r.score >= s && r.score < high),
            (r) => r.headlineCount >= 2,
          ) >= MEDIUM_TWO_HEADLINES_SHARE,
      ) ?? LOW_MIN_SCORE + 1;
  return [
    { name: 'high', minScore: high },
    { name: 'medium', minScore: medium },
    { name: 'low', minScore: LOW_MIN_SCORE },
  ];
}

/** A fingerprint of what the calibration depends on: the rule set (ids, facts, filters, windows, weights) and tiers. */
export function calibrationFingerprint(ruleSet: RuleSet, tiers: readonly Tier[]): string {
  // outcome rules (Supporting Families outcome tracking) do not change a score
  const rules = ruleSet.rules.map((r) => ({ ...r, description: undefined, title: undefined, outcome: undefined }));
  return createHash('sha256')
    .update(JSON.stringify({ id: ruleSet.id, version: ruleSet.version, rules, tiers }))
    .digest('hex')
    .slice(0, 16);
}

const pct = (n: number, d: number) => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

export interface CalibrationMeta {
  data: string;
  asAt: string;
  runId: string;
}

/** The calibration block of docs/rules.md. */
export function renderCalibrationMarkdown(
  ruleSet: RuleSet,
  tiers: readonly Tier[],
  rows: readonly CalibrationRow[],
  meta: CalibrationMeta,
): string {
  const ranked = rows.filter((r) => !r.openToStatutory);
  const tierOf = (s: number) =>
    [...tiers].sort((a, b) => b.minScore - a.minScore).find((t) => s >= t.minScore)?.name ?? 'not listed';
  const bands = [...tiers.map((t) => t.name), 'not listed'];
  const maxH = 5;
  const hc = (r: CalibrationRow) => Math.min(r.headlineCount, maxH);
  const header = [
    'tier',
    'score',
    'families',
    'share',
    'three-needs bar',
    ...Array.from({ length: maxH + 1 }, (_, i) =>
      i === maxH ? `${maxH}+ headlines` : `${i} headline${i === 1 ? '' : 's'}`,
    ),
  ];
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  const rangeOf = (name: string) => {
    const sorted = [...tiers].sort((a, b) => b.minScore - a.minScore);
    const i = sorted.findIndex((t) => t.name === name);
    if (i < 0) return `< ${sorted[sorted.length - 1]!.minScore}`;
    return i === 0 ? `>= ${sorted[0]!.minScore}` : `${sorted[i]!.minScore}-${sorted[i - 1]!.minScore - 1}`;
  };
  const body = [...bands, 'all'].map((b) => {
    const xs = b === 'all' ? ranked : ranked.filter((r) => tierOf(r.score) === b);
    return line([
      b,
      b === 'all' ? 'any' : rangeOf(b),
      xs.length,
      pct(xs.length, ranked.length),
      `${xs.filter((r) => r.threeNeeds).length} (${pct(xs.filter((r) => r.threeNeeds).length, xs.length)})`,
      ...Array.from({ length: maxH + 1 }, (_, i) => xs.filter((r) => hc(r) === i).length),
    ]);
  });
  const suggested = suggestTiers(rows);
  const same = suggested.every((s, i) => tiers[i]?.name === s.name && tiers[i]?.minScore === s.minScore);
  const byScore = [...new Set(ranked.map((r) => r.score))]
    .sort((a, b) => a - b)
    .map((s) =>
      line([s, ranked.filter((r) => r.score === s).length, ranked.filter((r) => r.score === s && r.threeNeeds).length]),
    );
  return (
    [
      `Calibrated on ${meta.data}, as at ${meta.asAt} (run \`${meta.runId}\`), rule set \`${ruleSet.id}@${ruleSet.version}\`, tiers ${tiers.map((t) => `${t.name} >= ${t.minScore}`).join(', ')}; fingerprint \`${calibrationFingerprint(ruleSet, tiers)}\`. ${rows.length - ranked.length} families open to statutory services are left out (they are listed apart, not ranked).`,
      '',
      line(header),
      line(header.map(() => '---')),
      ...body,
      '',
      `The documented rule gives ${suggested.map((t) => `${t.name} >= ${t.minScore}`).join(', ')}${same ? ': the configured default tiers.' : `, which differs from the configured tiers: re-calibrate (\`stratify.tiers\` in models/config.ts).`}`,
      '',
      line(['score', 'families', 'meeting the three-needs bar']),
      line(['---', '---', '---']),
      ...byScore,
    ].join('\n') + '\n'
  );
}

/**
 * The README's copy of the calibration: the block's first paragraph and its tier table (families per tier and per
 * number of headlines met), taken from the generated docs/rules.md block so the two cannot differ.
 */
export function calibrationSummary(block: string): string {
  const lines = block.split('\n');
  const tableStart = lines.findIndex((l) => l.startsWith('| tier |'));
  if (tableStart < 0) throw new Error('calibration block: no tier table');
  let end = tableStart;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  return [...lines.slice(0, tableStart), ...lines.slice(tableStart, end)].join('\n') + '\n';
}

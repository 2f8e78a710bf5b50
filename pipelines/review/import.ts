/**
 * Clerical review import: reads reviewers' decisions (the exported sample.csv with its `decision` column
 * filled in, or any CSV with pair_id and decision), validates every row against the exported sample,
 * and writes to the secure zone:
 *   review/decisions.json        the validated decisions (pair ids, record ids, decision);
 *   review/labelled-pairs.csv    the same as clerical labels in the linkage engine's format
 *                                (unique_id_l, unique_id_r, clerical_match_score): m can be trained from them;
 *   review/estimate.json         precision and recall with 95% intervals, which the next match audit report shows.
 * Bad input fails with every problem listed by row and field; nothing is written until all rows are valid.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import type { Log } from '../log.ts';
import { csvRows } from '../privacy/extract.ts';
import { looksLikeColumnNames } from '../../matching/csv.ts';
import { estimateFromDecisions, type Decision, type ReviewEstimate } from './estimate.ts';
import type { ReviewSample } from './export.ts';
import { REVIEW_DECISIONS, REVIEW_ESTIMATE, REVIEW_LABELLED_PAIRS, REVIEW_SAMPLE_JSON } from './files.ts';

const SYNONYMS: Record<string, Decision> = {
  match: 'match',
  same: 'match',
  'same person': 'match',
  yes: 'match',
  y: 'match',
  'non-match': 'non-match',
  'non match': 'non-match',
  nonmatch: 'non-match',
  non_match: 'non-match',
  'no match': 'non-match',
  'not a match': 'non-match',
  no: 'non-match',
  n: 'non-match',
  unsure: 'unsure',
  'not sure': 'unsure',
  '?': 'unsure',
  unknown: 'unsure',
};

export interface ValidatedDecision {
  pairId: string;
  recordIdL: string;
  recordIdR: string;
  stratum: string;
  decision: Decision;
}

export interface ParsedDecisions {
  decisions: ValidatedDecision[];
  /** Rows whose decision is blank: not reviewed yet (allowed; counted). */
  blank: number;
}

/** Validates the decisions CSV against the sample; throws one error listing every problem (file, line, field). */
export function parseDecisions(text: string, origin: string, sample: ReviewSample): ParsedDecisions {
  const byId = new Map(sample.pairs.map((p) => [p.pairId, p]));
  const problems: string[] = [];
  let header: string[] | null = null;
  const seen = new Map<string, number>();
  const decisions: ValidatedDecision[] = [];
  let blank = 0;
  let col = { pair: -1, decision: -1, l: -1, r: -1 };
  for (const [line, fields] of csvRows(text)) {
    if (!header) {
      header = fields.map((h) => h.trim().toLowerCase());
      col = {
        pair: header.indexOf('pair_id'),
        decision: header.indexOf('decision'),
        l: header.indexOf('record_id_l'),
        r: header.indexOf('record_id_r'),
      };
      // the fields are named only when they look like column names: a sheet saved without its header has a pair's names and dates there
      if (col.pair < 0 || col.decision < 0)
        throw new Error(
          `${origin}: line ${line}: the header needs columns pair_id and decision (${!fields.join('') ? 'found nothing' : looksLikeColumnNames(fields) ? `found: ${fields.join(', ')}` : `the first line is not a header: ${fields.length} fields, not shown (they may be a pair's names and dates)`})`,
        );
      continue;
    }
    const pairId = (fields[col.pair] ?? '').trim();
    const raw = (fields[col.decision] ?? '').trim();
    const pair = byId.get(pairId);
    if (!pairId) {
      problems.push(`line ${line}, field pair_id: blank`);
      continue;
    }
    if (!pair) {
      problems.push(`line ${line}, field pair_id: "${pairId}" is not a pair of the exported sample for ${sample.asAt}`);
      continue;
    }
    if (
      col.l >= 0 &&
      col.r >= 0 &&
      ((fields[col.l] ?? '').trim() !== pair.recordIdL || (fields[col.r] ?? '').trim() !== pair.recordIdR)
    ) {
      problems.push(
        `line ${line}, fields record_id_l/record_id_r: do not match pair ${pairId} of the exported sample (was the file edited or from another run?)`,
      );
      continue;
    }
    if (seen.has(pairId)) {
      problems.push(`line ${line}, field pair_id: ${pairId} already decided on line ${seen.get(pairId)}`);
      continue;
    }
    seen.set(pairId, line);
    if (raw === '') {
      blank++;
      continue;
    }
    const decision = SYNONYMS[raw.toLowerCase()];
    if (!decision) {
      problems.push(`line ${line}, field decision: "${raw.slice(0, 20)}" is not one of match, non-match, unsure`);
      continue;
    }
    decisions.push({ pairId, recordIdL: pair.recordIdL, recordIdR: pair.recordIdR, stratum: pair.stratum, decision });
  }
  if (!header) throw new Error(`${origin}: empty file (expected a header with pair_id and decision)`);
  if (problems.length) {
    const shown = problems.slice(0, 20);
    throw new Error(
      `${origin}: ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing imported:\n  ${shown.join('\n  ')}${problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : ''}`,
    );
  }
  decisions.sort((a, b) => (a.pairId < b.pairId ? -1 : 1));
  return { decisions, blank };
}

export interface ImportResult {
  decisions: ValidatedDecision[];
  blank: number;
  estimate: ReviewEstimate;
  keys: { decisions: string; labelledPairs: string; estimate: string };
}

export async function readSample(secure: ObjectStore, asAt: string): Promise<ReviewSample> {
  const key = keys.secure(asAt, REVIEW_SAMPLE_JSON);
  if (!(await secure.exists(key)))
    throw new Error(
      `review import: no exported sample at ${secure.location}/${key}: run \`review export\` for ${asAt} first`,
    );
  return JSON.parse((await secure.get(key)).toString('utf8')) as ReviewSample;
}

export async function importDecisions(
  secure: ObjectStore,
  asAt: string,
  text: string,
  origin: string,
  log?: Log,
): Promise<ImportResult> {
  const sample = await readSample(secure, asAt);
  const { decisions, blank } = parseDecisions(text, origin, sample);
  if (decisions.length === 0)
    throw new Error(`${origin}: no decisions yet (every decision cell is blank): nothing imported`);
  const estimate = estimateFromDecisions(
    sample.threshold,
    sample.strata,
    Object.fromEntries(sample.strata.map((s) => [s.id, s.population])),
    Object.fromEntries(sample.strata.map((s) => [s.id, s.sampled])),
    decisions,
  );
  const out = {
    decisions: keys.secure(asAt, REVIEW_DECISIONS),
    labelledPairs: keys.secure(asAt, REVIEW_LABELLED_PAIRS),
    estimate: keys.secure(asAt, REVIEW_ESTIMATE),
  };
  await secure.put(out.decisions, `${JSON.stringify({ asAt, threshold: sample.threshold, decisions }, null, 2)}\n`);
  const labelled = decisions
    .filter((d) => d.decision !== 'unsure')
    .map((d) => `${d.recordIdL},${d.recordIdR},${d.decision === 'match' ? 1 : 0}`);
  await secure.put(
    out.labelledPairs,
    `unique_id_l,unique_id_r,clerical_match_score\n${labelled.map((l) => `${l}\n`).join('')}`,
  );
  await secure.put(out.estimate, `${JSON.stringify(estimate, null, 2)}\n`);
  log?.info('review decisions imported', {
    asAt,
    decisions: decisions.length,
    blank,
    match: estimate.decisions.match,
    nonMatch: estimate.decisions.nonMatch,
    unsure: estimate.decisions.unsure,
  });
  return { decisions, blank, estimate, keys: out };
}

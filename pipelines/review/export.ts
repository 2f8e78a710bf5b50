/**
 * Clerical review export: a stratified, seeded sample of scored pairs around the threshold, with both
 * records' compared values side by side, written ONLY to the secure zone as a CSV (with an empty
 * `decision` column for reviewers) and a reviewer-friendly HTML page, plus sample.json (ids, weights,
 * strata and their populations) that the import uses to estimate precision and recall.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet } from '../io/parquet.ts';
import { keys, MATCH_REVIEW_SAMPLE_KEY, PERSON_RECORDS_KEY, type Zone } from '../layout.ts';
import type { Log } from '../log.ts';
import {
  formatDecimal,
  formatInt,
  formatPercent,
  html,
  notice,
  para,
  renderPage,
  table,
  waterfallChart,
} from '../reports/html/index.ts';
import { MODEL_JSON } from '../reports/match-audit/load.ts';
import { strataFor, stratumOf, throughStratum, type Stratum } from './estimate.ts';
import { mulberry32 } from '../../matching/random.ts';
import { REVIEW_SAMPLE_CSV, REVIEW_SAMPLE_HTML, REVIEW_SAMPLE_JSON } from './files.ts';

export const COMPARED_FIELDS = [
  ['forename', 'Forename'],
  ['middle_names', 'Middle names'],
  ['surname', 'Surname'],
  ['date_of_birth', 'Date of birth'],
  ['sex', 'Sex'],
  ['postcode', 'Postcode'],
  ['address_line_1', 'Address line 1'],
  ['nhs_number_token', 'NHS number token'],
  ['upn_token', 'UPN token'],
] as const;
type Field = (typeof COMPARED_FIELDS)[number][0];
const TOKEN_FIELDS = new Set<Field>(['nhs_number_token', 'upn_token']);

export interface SampledPair {
  pairId: string;
  stratum: string;
  recordIdL: string;
  recordIdR: string;
  /** null: never scored (a pair of one person joined through other links). */
  matchWeight: number | null;
  matchProbability: number | null;
  matchKey: string;
}

export interface ReviewSample {
  version: 2;
  asAt: string;
  threshold: number;
  seed: number;
  strata: Array<Stratum & { population: number; sampled: number }>;
  pairs: SampledPair[];
}

/**
 * Splits `size` over strata: one pair for every non-empty stratum first (the largest strata first when `size` is
 * smaller than their number), the rest in proportion to each stratum's pairs (largest remainders), capped by
 * what each holds, what a full stratum cannot take passed on to the others.
 */
export function allocate(size: number, populations: number[]): number[] {
  const alloc = populations.map(() => 0);
  const bySize = populations
    .map((p, i) => [p, i] as const)
    .filter(([p]) => p > 0)
    .sort((x, y) => y[0] - x[0] || x[1] - y[1])
    .map(([, i]) => i);
  let left = size;
  for (const i of bySize) {
    if (left === 0) break;
    alloc[i] = 1;
    left--;
  }
  while (left > 0) {
    const open = bySize.filter((i) => alloc[i]! < populations[i]!);
    if (open.length === 0) break;
    const room = open.reduce((t, i) => t + populations[i]!, 0);
    const exact = open.map((i) => (left * populations[i]!) / room);
    const take = exact.map((e, k) => Math.min(Math.floor(e), populations[open[k]!]! - alloc[open[k]!]!));
    let given = take.reduce((t, x) => t + x, 0);
    // largest remainders get the pairs still left from this round (one each)
    const order = open
      .map((_, k) => k)
      .sort((x, y) => exact[y]! - Math.floor(exact[y]!) - (exact[x]! - Math.floor(exact[x]!)) || x - y);
    for (const k of order) {
      if (given >= left) break;
      if (alloc[open[k]!]! + take[k]! < populations[open[k]!]!) {
        take[k]!++;
        given++;
      }
    }
    open.forEach((i, k) => {
      alloc[i]! += take[k]!;
    });
    left -= given;
    if (given === 0) break;
  }
  return alloc;
}

export interface ExportOptions {
  asAt: string;
  size: number;
  seed?: number;
  log?: Log;
}

export interface ExportResult {
  sample: ReviewSample;
  keys: { csv: string; html: string; json: string };
}

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

const str = (v: unknown): string | null =>
  v === null || v === undefined ? null : Array.isArray(v) ? v.join(' ') : String(v);

/**
 * Every pair of the population, by stratum: the scored pairs (curated `pairs`, linked when both records are in one
 * person of curated `persons`) and the pairs of one person never scored (joined through other links), each list in
 * a fixed order (pairs as the match stage writes them, sorted; then by person and record id).
 */
export async function populationByStratum(
  curated: ObjectStore,
  asAt: string,
  strata: readonly Stratum[],
): Promise<Map<string, SampledPair[]>> {
  const personsKey = keys.curated('persons', asAt);
  if (!(await curated.exists(personsKey)))
    throw new Error(
      `review export: no curated persons at ${personsKey} in ${curated.location}: run the match stage for ${asAt} first`,
    );
  const personOf = new Map<string, string>();
  for await (const batch of iterateParquet(curated, personsKey, 'SELECT record_id, person_id FROM {{file}}'))
    for (const row of batch) personOf.set(str(row.record_id) ?? '', str(row.person_id) ?? '');
  const members = new Map<string, SampledPair[]>(strata.map((s) => [s.id, []]));
  const scoredInPerson = new Set<string>();
  for await (const batch of iterateParquet(curated, keys.curated('pairs', asAt))) {
    for (const row of batch) {
      const l = str(row.record_id_l) ?? '';
      const r = str(row.record_id_r) ?? '';
      const pl = personOf.get(l);
      const linked = pl !== undefined && pl === personOf.get(r);
      if (linked) scoredInPerson.add(l < r ? `${l}\u0000${r}` : `${r}\u0000${l}`);
      const w = typeof row.match_weight === 'number' ? row.match_weight : Number.NaN;
      const s = stratumOf(strata, w, linked);
      members.get(s.id)!.push({
        pairId: '',
        stratum: s.id,
        recordIdL: l,
        recordIdR: r,
        matchWeight: Number.isFinite(w) ? w : null,
        matchProbability: typeof row.match_probability === 'number' ? row.match_probability : null,
        matchKey: str(row.match_key) ?? '',
      });
    }
  }
  const through = throughStratum(strata);
  const recordsOf = new Map<string, string[]>();
  for (const [rec, person] of personOf) (recordsOf.get(person) ?? recordsOf.set(person, []).get(person)!).push(rec);
  for (const person of [...recordsOf.keys()].sort()) {
    const recs = recordsOf.get(person)!.sort();
    for (let i = 0; i < recs.length; i++) {
      for (let j = i + 1; j < recs.length; j++) {
        if (scoredInPerson.has(`${recs[i]}\u0000${recs[j]}`)) continue;
        members.get(through.id)!.push({
          pairId: '',
          stratum: through.id,
          recordIdL: recs[i]!,
          recordIdR: recs[j]!,
          matchWeight: null,
          matchProbability: null,
          matchKey: THROUGH_KEY,
        });
      }
    }
  }
  return members;
}

/** The match_key shown for a pair of one person that was never scored. */
export const THROUGH_KEY = 'linked through other records';

export async function exportReviewSample(
  stores: Record<Zone, ObjectStore>,
  opts: ExportOptions,
): Promise<ExportResult> {
  const { asAt } = opts;
  const seed = opts.seed ?? 20260331;
  if (!Number.isInteger(opts.size) || opts.size < 1)
    throw new Error(`review export: --size must be a whole number of pairs, at least 1 (got ${opts.size})`);
  const pairsKey = keys.curated('pairs', asAt);
  if (!(await stores.curated.exists(pairsKey)))
    throw new Error(
      `review export: no curated pairs at ${pairsKey} in ${stores.curated.location}: run the pipeline for ${asAt} first`,
    );
  const modelRaw = (await stores.curated.exists(MODEL_JSON(asAt)))
    ? (JSON.parse((await stores.curated.get(MODEL_JSON(asAt))).toString('utf8')) as { threshold?: { weight?: number } })
    : null;
  const threshold = modelRaw?.threshold?.weight;
  if (typeof threshold !== 'number')
    throw new Error(`review export: no threshold: ${MODEL_JSON(asAt)} is missing or has no threshold.weight`);
  const strata = strataFor(threshold);
  const members = await populationByStratum(stores.curated, asAt, strata);
  const populations = strata.map((s) => members.get(s.id)!.length);
  const alloc = allocate(opts.size, populations);
  const rnd = mulberry32(seed);
  const picked: SampledPair[] = [];
  strata.forEach((s, si) => {
    const pool = members.get(s.id)!;
    const k = alloc[si]!;
    // Partial Fisher-Yates over a copy: seeded, so the same run and seed give the same sample.
    const idx = pool.map((_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rnd() * (idx.length - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    for (const i of idx.slice(0, k).sort((a, b) => a - b)) picked.push(pool[i]!);
  });
  picked.forEach((p, i) => (p.pairId = `R${String(i + 1).padStart(4, '0')}`));

  // The compared values, from the secure person records.
  const wanted = new Set(picked.flatMap((p) => [p.recordIdL, p.recordIdR]));
  const values = new Map<string, Record<string, string | null>>();
  const prKey = keys.secure(asAt, PERSON_RECORDS_KEY);
  if (!(await stores.secure.exists(prKey))) throw new Error(`review export: no secure person records at ${prKey}`);
  for await (const batch of iterateParquet(stores.secure, prKey)) {
    for (const row of batch) {
      const id = str(row.record_id) ?? '';
      if (!wanted.has(id)) continue;
      values.set(id, {
        source: str(row.source),
        ...Object.fromEntries(COMPARED_FIELDS.map(([f]) => [f, str(row[f])])),
      });
    }
  }
  const sample: ReviewSample = {
    version: 2,
    asAt,
    threshold,
    seed,
    strata: strata.map((s, i) => ({ ...s, population: populations[i]!, sampled: alloc[i]! })),
    pairs: picked,
  };
  const label = new Map(strata.map((s) => [s.id, s.label]));
  const shown = (f: Field, v: string | null) => (v === null ? '' : TOKEN_FIELDS.has(f) ? `…${v.slice(-6)}` : v);
  const stratumById = new Map(strata.map((s) => [s.id, s]));
  const header = [
    'pair_id',
    'weight_band',
    'linked_in_this_run',
    'match_weight',
    'match_probability',
    'match_key',
    'record_id_l',
    'record_id_r',
    'source_l',
    'source_r',
    ...COMPARED_FIELDS.flatMap(([f]) => [`${f}_l`, `${f}_r`]),
    'decision',
    'notes',
  ];
  const lines = [header.join(',')];
  for (const p of picked) {
    const a = values.get(p.recordIdL) ?? {};
    const b = values.get(p.recordIdR) ?? {};
    lines.push(
      [
        p.pairId,
        label.get(p.stratum) ?? p.stratum,
        stratumById.get(p.stratum)?.linked ? 'yes' : 'no',
        p.matchWeight === null ? '' : formatDecimal(p.matchWeight, 3),
        p.matchProbability === null ? '' : formatDecimal(p.matchProbability, 6),
        p.matchKey,
        p.recordIdL,
        p.recordIdR,
        a.source ?? '',
        b.source ?? '',
        ...COMPARED_FIELDS.flatMap(([f]) => [shown(f, a[f] ?? null), shown(f, b[f] ?? null)]),
        '',
        '',
      ]
        .map((v) => csvCell(v))
        .join(','),
    );
  }
  const out = {
    csv: keys.secure(asAt, REVIEW_SAMPLE_CSV),
    html: keys.secure(asAt, REVIEW_SAMPLE_HTML),
    json: keys.secure(asAt, REVIEW_SAMPLE_JSON),
  };
  await stores.secure.put(out.json, `${JSON.stringify(sample, null, 2)}\n`);
  await stores.secure.put(out.csv, `${lines.join('\n')}\n`);
  // The match stage's explanations (secure) of the pairs nearest the threshold: shown as waterfalls where they overlap.
  const explained = new Map<string, Explanation>();
  const rsKey = keys.secure(asAt, MATCH_REVIEW_SAMPLE_KEY);
  if (await stores.secure.exists(rsKey)) {
    const raw = JSON.parse((await stores.secure.get(rsKey)).toString('utf8')) as { pairs?: Explanation[] };
    for (const e of raw.pairs ?? []) {
      const [a, b] = [String(e.idL), String(e.idR)].sort();
      explained.set(`${a}|${b}`, e);
    }
  }
  await stores.secure.put(out.html, reviewerPage(sample, values, label, explained));
  opts.log?.info('review sample exported to the secure zone', {
    asAt,
    pairs: picked.length,
    strata: strata.filter((_, i) => alloc[i]! > 0).length,
  });
  return { sample, keys: out };
}

interface Explanation {
  idL: string;
  idR: string;
  priorWeight: number;
  matchWeight: number;
  comparisons: Array<{ comparison: string; level: string; weight: number; tfAdjustment?: number }>;
}

/** What the run did with a pair: "linked in this run" only when its two records are in one person. */
export function pairLead(p: SampledPair, threshold: number, s: Stratum | undefined): string {
  const status = s?.linked
    ? 'Linked in this run (the two records are in one person)'
    : p.matchWeight !== null && p.matchWeight >= threshold
      ? 'Not linked in this run: the weight reaches the threshold, but a veto rule or the clustering guard kept the records apart'
      : 'Not linked in this run';
  const score =
    p.matchWeight === null
      ? 'never scored as a pair (joined through other records)'
      : `match weight ${formatDecimal(p.matchWeight, 2)}${p.matchProbability === null ? '' : ` (probability ${formatPercent(p.matchProbability, 2)})`}, found by ${p.matchKey}`;
  return `${status}; ${score}.`;
}

function reviewerPage(
  sample: ReviewSample,
  values: Map<string, Record<string, string | null>>,
  label: Map<string, string>,
  explained: Map<string, Explanation>,
): string {
  const strata = new Map(sample.strata.map((s) => [s.id, s]));
  const cards = sample.pairs.map((p) => {
    const a = values.get(p.recordIdL) ?? {};
    const b = values.get(p.recordIdR) ?? {};
    const rows = COMPARED_FIELDS.map(([f, name]) => {
      const va = a[f] ?? null;
      const vb = b[f] ?? null;
      const token = TOKEN_FIELDS.has(f);
      const same = va !== null && vb !== null && va === vb;
      const verdict = va === null || vb === null ? 'missing' : same ? 'same' : 'different';
      return {
        name,
        l: va === null ? '' : token ? `…${va.slice(-6)}` : va,
        r: vb === null ? '' : token ? `…${vb.slice(-6)}` : vb,
        verdict,
      };
    });
    return {
      title: `Pair ${p.pairId}`,
      id: p.pairId,
      lead: pairLead(p, sample.threshold, strata.get(p.stratum)),
      body: html`${table({
        caption: `${p.recordIdL} and ${p.recordIdR}`,
        columns: [
          { label: 'Field', key: 'name' },
          { label: `Record ${p.recordIdL} (${a.source ?? ''})`, cell: (x: (typeof rows)[number]) => x.l },
          { label: `Record ${p.recordIdR} (${b.source ?? ''})`, cell: (x) => x.r },
          {
            label: 'Same?',
            cell: (x) =>
              x.verdict === 'same'
                ? html`<span class="ok">same</span>`
                : x.verdict === 'different'
                  ? html`<span class="bad">different</span>`
                  : html`<span class="muted">missing</span>`,
          },
        ],
        rows,
        className: 'compact',
      })}
${(() => {
  const e = explained.get(`${p.recordIdL}|${p.recordIdR}`);
  return e && p.matchWeight !== null
    ? waterfallChart({
        title: `How the model scored ${p.pairId}`,
        start: { label: 'Prior', value: e.priorWeight },
        steps: e.comparisons.map((c) => ({
          label: `${c.comparison}: ${c.level}`,
          value: c.weight + (c.tfAdjustment ?? 0),
        })),
        totalLabel: 'Match weight',
        threshold: { value: sample.threshold, label: 'threshold' },
      })
    : '';
})()}
<p>Decision for <strong>${p.pairId}</strong>: write <code>match</code>, <code>non-match</code> or <code>unsure</code> in the <code>decision</code> column of sample.csv.</p>`,
    };
  });
  return renderPage({
    title: 'Clerical review: are these the same person?',
    subtitle: `As at ${sample.asAt} · ${formatInt(sample.pairs.length)} pairs · threshold ${formatDecimal(sample.threshold, 2)}`,
    banner: notice(
      'warn',
      'OFFICIAL-SENSITIVE',
      'Clear personal data from the secure zone. Do not copy, print or move this page out of the secure environment.',
    ),
    intro: html`${para('For each pair, decide whether the two records are the same real person. Judge from the values, not from the weight. When you cannot tell, say unsure: it is better than a guess.')}
${table({
  caption: 'How the sample was drawn (strata: linked in this run or not, by match-weight band)',
  columns: [
    { label: 'Stratum', key: 'label' },
    {
      label: 'Linked in this run?',
      cell: (s: ReviewSample['strata'][number]) => (s.linked ? 'yes: same person' : 'no'),
    },
    { label: 'Pairs in band', key: 'population', kind: 'num' },
    { label: 'Sampled', key: 'sampled', kind: 'num' },
  ],
  rows: sample.strata.filter((s) => s.population > 0),
})}`,
    sections: cards,
    footer: 'Produced by `locality review export`. Decisions go back with `locality review import`.',
    tocMin: 99,
  });
}

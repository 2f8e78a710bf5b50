/**
 * Loads what the match audit report needs from the stores: per-file validation counts (secure zone),
 * the curated tables (records, persons, pairs, links, families, family_members), the match model and
 * clustering JSON, the few secure facts the cluster and bias checks need (held in memory only), the run
 * manifest, and the clerical review estimate when there is one.
 */
import { z } from 'zod';
import { PEOPLE_FEEDS } from '../../feeds/catalogue.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import {
  iterateParquet,
  openScratchDuckDb,
  readNumericColumns,
  selectColumnsIn,
  sqlString as q,
  type ParquetRow,
} from '../../io/parquet.ts';
import { keys, MATCH_REVIEW_SAMPLE_KEY, PERSON_RECORDS_KEY, type Zone } from '../../layout.ts';
import { REVIEW_ESTIMATE } from '../../review/files.ts';
import type { ReviewEstimate } from '../../review/estimate.ts';
import {
  weightHistogramAxis,
  weightHistogramOfCounts,
  type AuditData,
  type PairArrays,
  type PairsSummary,
  type SecureFacts,
} from './compute.ts';
import type { InputFileRow } from './model.ts';
import { issuesText } from '../../../models/zod-issues.ts';

type Stores = Record<Zone, ObjectStore>;

const num = z.coerce.number().int().min(0);
const countsEntry = z.looseObject({
  key: z.string().optional(),
  file: z.string().optional(),
  source: z.string().optional(),
  feed: z.string().optional(),
  extractDate: z.string().nullish(),
  sha256: z.string().default(''),
  rows: num.default(0),
  accepted: num.default(0),
  quarantined: z.union([num, z.record(z.string(), num)]).default(0),
  rejectedRows: num.default(0),
  quarantinedByReason: z.record(z.string(), num).optional(),
  byReason: z.record(z.string(), num).optional(),
  rejected: z.union([z.string(), z.boolean()]).nullish(),
  error: z.string().nullish(),
});
const ignoredEntry = z.looseObject({ key: z.string(), why: z.string().default('') });
const countsFile = z.union([
  z.array(countsEntry),
  z.looseObject({ files: z.array(countsEntry), ignored: z.array(ignoredEntry).optional() }),
]);

/** Files present in landing but not read for this run (after the as-at date, superseded snapshots). */
export function parseIgnored(raw: unknown): Array<{ key: string; why: string }> {
  const parsed = countsFile.safeParse(raw);
  if (!parsed.success || Array.isArray(parsed.data)) return [];
  return (parsed.data.ignored ?? []).map((i) => ({ key: i.key, why: i.why }));
}

/** Parses one feed's `_counts.json` (written by validate) into report rows; names the file in errors. */
export function parseCounts(raw: unknown, origin: string, source: string, feed: string): InputFileRow[] {
  const parsed = countsFile.safeParse(raw);
  if (!parsed.success) throw new Error(`${origin}: not a validation counts file: ${issuesText(parsed.error)}`);
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.files;
  return entries.map((e, i) => {
    const key = e.key ?? e.file;
    if (!key) throw new Error(`${origin}: file entry ${i + 1} has no "key"`);
    const byReason = e.quarantinedByReason ?? e.byReason ?? (typeof e.quarantined === 'object' ? e.quarantined : {});
    const quarantined =
      typeof e.quarantined === 'number' ? e.quarantined : Object.values(byReason).reduce((s, v) => s + v, 0);
    const rejected =
      typeof e.rejected === 'string' ? e.rejected : e.rejected === true ? (e.error ?? 'rejected') : (e.error ?? null);
    const sumReasons = Object.values(byReason).reduce((s, v) => s + v, 0);
    return {
      key,
      source: e.source ?? source,
      feed: e.feed ?? feed,
      extractDate: e.extractDate ?? /dt=(\d{4}-\d{2}-\d{2})/.exec(key)?.[1] ?? null,
      sha256: e.sha256,
      rows: e.rows,
      accepted: e.accepted,
      quarantined,
      rejectedRows: e.rejectedRows,
      quarantinedByReason: Object.fromEntries(Object.entries(byReason).sort(([a], [b]) => (a < b ? -1 : 1))),
      rejected,
      reconciles:
        e.rows === e.accepted + quarantined + e.rejectedRows &&
        quarantined === sumReasons &&
        (rejected === null ? e.rejectedRows === 0 : e.accepted === 0 && quarantined === 0),
    };
  });
}

export async function loadFileCounts(
  secure: ObjectStore,
  asAt: string,
  ignored: Array<{ key: string; why: string }> = [],
): Promise<InputFileRow[]> {
  const prefix = keys.secure(asAt, 'validated/');
  const out: InputFileRow[] = [];
  for (const o of await secure.list(prefix)) {
    const m = /validated\/([^/]+)\/([^/]+)\/_counts\.json$/.exec(o.key);
    if (!m) continue;
    let raw: unknown;
    try {
      raw = JSON.parse((await secure.get(o.key)).toString('utf8'));
    } catch (err) {
      throw new Error(`${secure.location}/${o.key}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    out.push(...parseCounts(raw, `${secure.location}/${o.key}`, m[1]!, m[2]!));
    ignored.push(...parseIgnored(raw));
  }
  ignored.sort((a, b) => (a.key < b.key ? -1 : 1));
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function* rowsOf(store: ObjectStore, key: string, sql?: string): AsyncGenerator<ParquetRow> {
  for await (const batch of iterateParquet(store, key, sql)) yield* batch;
}

const str = (v: unknown): string | null =>
  typeof v === 'string' ? v : v === null || v === undefined ? null : String(v);

const readWithRowNumbers = (path: string) =>
  `read_parquet(${q(path)}, hive_partitioning = false, file_row_number = true)`;
const idText = (col: string) => `coalesce(CAST(${col} AS VARCHAR), '')`;

/**
 * The scored pairs' count and weight histogram (PairsSummary), aggregated by DuckDB over the curated pairs table:
 * at a million families the table has over a hundred million rows, none of which comes into JS. Bins as
 * weightHistogram's: a finite weight's floor clamped to the axis; no weight (null, not a number, infinite) counted apart.
 */
export async function summarisePairs(store: ObjectStore, key: string, threshold: number): Promise<PairsSummary> {
  const none = { count: 0, weightHistogram: weightHistogramOfCounts([], zeroOutside) };
  if (!(await store.exists(key))) return none;
  const { min, max } = weightHistogramAxis(threshold);
  const local = store.leaseLocalPath
    ? await store.leaseLocalPath(key)
    : { path: await store.localPath(key), release: async () => {} };
  const db = await openScratchDuckDb('512MB', scratchOf(store));
  try {
    const w = `(SELECT coalesce(TRY_CAST(match_weight AS DOUBLE), 'NaN'::DOUBLE) AS w FROM read_parquet(${q(local.path)}, hive_partitioning = false))`;
    const [totals] = (
      await db.conn.runAndReadAll(`SELECT count(*)::BIGINT, count(*) FILTER (WHERE NOT isfinite(w))::BIGINT,
        count(*) FILTER (WHERE isfinite(w) AND w < ${min})::BIGINT, count(*) FILTER (WHERE isfinite(w) AND w >= ${max})::BIGINT
        FROM ${w}`)
    ).getRows();
    const [count, noWeight, below, above] = totals!.map(Number) as [number, number, number, number];
    const bins = (
      await db.conn.runAndReadAll(`SELECT least(greatest(floor(w), ${min}), ${max - 1})::BIGINT AS b, count(*)::BIGINT
        FROM ${w} WHERE isfinite(w) GROUP BY b ORDER BY b`)
    )
      .getRows()
      .map(([b, n]) => ({ bin: Number(b), count: Number(n) }));
    return {
      count,
      weightHistogram: weightHistogramOfCounts(bins, {
        clampedBelow: below,
        clampedAbove: above,
        deterministicWithoutWeight: noWeight,
      }),
    };
  } finally {
    await db.dispose();
    await local.release();
  }
}

const zeroOutside = { clampedBelow: 0, clampedAbove: 0, deterministicWithoutWeight: 0 };

/**
 * The curated pair tables (pairs, links) as arrays, each record as its position in the curated records table (first
 * occurrence; -1 when not there) and each match_key by first appearance. DuckDB joins the ids to positions (the
 * position table built once for both) and hands back only numbers: millions of pairs, no row objects.
 */
export async function loadPairTables(
  store: ObjectStore,
  pairKeys: string[],
  recordsPath: string,
  deterministicKeys: Set<string>,
): Promise<PairArrays[]> {
  const db = await openScratchDuckDb('1GB', scratchOf(store));
  try {
    await db.conn.run(`CREATE TABLE idx AS SELECT id, (row_number() OVER (ORDER BY first) - 1)::INTEGER AS i
      FROM (SELECT ${idText('record_id')} AS id, min(file_row_number) AS first FROM ${readWithRowNumbers(recordsPath)} GROUP BY 1)`);
    const out: PairArrays[] = [];
    for (const key of pairKeys) {
      if (!(await store.exists(key))) {
        out.push({
          count: 0,
          l: new Int32Array(0),
          r: new Int32Array(0),
          weight: new Float64Array(0),
          deterministic: new Uint8Array(0),
          key: new Int32Array(0),
          keys: [],
        });
        continue;
      }
      await db.conn
        .run(`CREATE OR REPLACE TABLE p AS SELECT file_row_number AS n, ${idText('record_id_l')} AS a, ${idText('record_id_r')} AS b,
        coalesce(TRY_CAST(match_weight AS DOUBLE), 'NaN'::DOUBLE) AS w, ${idText('match_key')} AS k FROM ${readWithRowNumbers(await store.localPath(key))}`);
      await db.conn.run(
        'CREATE OR REPLACE TABLE ks AS SELECT k, (row_number() OVER (ORDER BY min(n)) - 1)::INTEGER AS ki FROM p GROUP BY k',
      );
      const keyList = (await db.conn.runAndReadAll('SELECT k FROM ks ORDER BY ki'))
        .getRows()
        .map((row) => String(row[0]));
      const cols = await readNumericColumns(
        db.conn,
        `SELECT coalesce(x.i, -1)::INTEGER AS l, coalesce(y.i, -1)::INTEGER AS r, p.w AS w, ks.ki AS k
        FROM p LEFT JOIN idx x ON x.id = p.a LEFT JOIN idx y ON y.id = p.b JOIN ks USING (k) ORDER BY p.n`,
        { l: 'INTEGER', r: 'INTEGER', w: 'DOUBLE', k: 'INTEGER' },
        `match audit: ${store.location}/${key}`,
      );
      const detOfKey = keyList.map((k) => (isDeterministicKey(k, deterministicKeys) ? 1 : 0));
      out.push({
        count: cols.count,
        l: cols.l,
        r: cols.r,
        weight: cols.w,
        deterministic: Uint8Array.from(cols.k, (k) => detOfKey[k]!),
        key: cols.k,
        keys: keyList,
      });
    }
    return out;
  } finally {
    await db.dispose();
  }
}

/** A pair made by a deterministic rule: its match_key names one of the model's deterministic rules, or says so. */
export function isDeterministicKey(matchKey: string, deterministicRules: Set<string>): boolean {
  return deterministicRules.has(matchKey) || /^(deterministic|det)\b[:\s_-]?/i.test(matchKey);
}

const camel = (c: string) => c.replace(/_([a-z0-9])/g, (_m, x: string) => x.toUpperCase());

/** "nhs_number_token & date_of_birth" -> columns; rules with transforms ("surname:soundex") cannot be re-checked here. */
export function parseDeterministicRules(names: string[]): {
  rules: Array<{ name: string; columns: string[] }>;
  columns: string[];
  skipped: string[];
} {
  const rules: Array<{ name: string; columns: string[] }> = [];
  const skipped: string[] = [];
  for (const name of names) {
    const cols = name
      .split('&')
      .map((c) => c.trim())
      .filter(Boolean);
    if (cols.length === 0 || cols.some((c) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(c))) skipped.push(name);
    else rules.push({ name, columns: cols });
  }
  return { rules, columns: [...new Set(rules.flatMap((r) => r.columns))].sort(), skipped };
}

export const MODEL_JSON = keys.matchModel;
export const CLUSTERING_JSON = keys.matchClustering;

async function readJson(store: ObjectStore, key: string): Promise<Record<string, unknown> | null> {
  if (!(await store.exists(key))) return null;
  try {
    return JSON.parse((await store.get(key)).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${store.location}/${key}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

export interface LoadedAudit {
  data: AuditData;
  manifest: Record<string, unknown> | null;
  review: ReviewEstimate | null;
}

export async function loadAuditData(
  stores: Stores,
  asAt: string,
  runId: string,
  fallbackThresholdWeight?: number,
): Promise<LoadedAudit> {
  const recordsKey = keys.curated('records', asAt);
  if (!(await stores.curated.exists(recordsKey)))
    throw new Error(
      `match audit: no curated records table at ${recordsKey} in ${stores.curated.location}: run standardise first`,
    );
  const records: AuditData['records'] = [];
  const index = new Map<string, number>();
  for await (const row of rowsOf(stores.curated, recordsKey, 'SELECT record_id, source, feed FROM {{file}}')) {
    const id = str(row.record_id) ?? '';
    if (index.has(id)) continue;
    index.set(id, records.length);
    records.push({ recordId: id, source: str(row.source) ?? '', feed: str(row.feed) ?? '' });
  }
  const personOf: Array<string | null> = new Array(records.length).fill(null);
  const personsKey = keys.curated('persons', asAt);
  if (await stores.curated.exists(personsKey)) {
    for await (const row of rowsOf(stores.curated, personsKey, 'SELECT record_id, person_id FROM {{file}}')) {
      const i = index.get(str(row.record_id) ?? '');
      if (i !== undefined) personOf[i] = str(row.person_id);
    }
  }
  const model = await readJson(stores.curated, MODEL_JSON(asAt));
  const clustering = await readJson(stores.curated, CLUSTERING_JSON(asAt));
  const mt = (model?.threshold ?? null) as { weight?: number; probability?: number } | null;
  const weight = typeof mt?.weight === 'number' ? mt.weight : fallbackThresholdWeight;
  if (weight === undefined)
    throw new Error(
      `match audit: no threshold: ${MODEL_JSON(asAt)} is missing from ${stores.curated.location} (run match first)`,
    );
  const threshold = {
    weight,
    probability: typeof mt?.probability === 'number' ? mt.probability : 1 / (1 + 2 ** -weight),
  };
  const detRules = new Set(((model?.deterministicRules as { rules?: string[] } | undefined)?.rules ?? []).map(String));
  const recordsPath = await stores.curated.localPath(recordsKey);
  // the scored pairs only counted and binned, in DuckDB; the links (about one a record) as arrays
  const pairs = await summarisePairs(stores.curated, keys.curated('pairs', asAt), threshold.weight);
  const [links] = (await loadPairTables(stores.curated, [keys.curated('links', asAt)], recordsPath, detRules)) as [
    PairArrays,
  ];

  const secure: Array<SecureFacts | null> = new Array(records.length).fill(null);
  // links re-checked on the secure values: the deterministic rules, then each strong identifier (NHS number, UPN token)
  const strong = ((model?.clustering as { strongIdentifiers?: unknown } | undefined)?.strongIdentifiers ??
    []) as unknown[];
  const detRulesParsed = parseDeterministicRules([...new Set([...detRules, ...strong.map(String)])]);
  const detValues = new Map<string, Array<string | null>>(
    detRulesParsed.columns.map((c) => [c, new Array<string | null>(records.length).fill(null)]),
  );
  const prKey = keys.secure(asAt, PERSON_RECORDS_KEY);
  if (await stores.secure.exists(prKey)) {
    // only the columns read here (whichever of their names the file uses): never the names and addresses
    const wanted = ['record_id', 'date_of_birth', 'sex', 'nhs_number_token', 'upn_token', ...detRulesParsed.columns];
    for await (const row of rowsOf(stores.secure, prKey, selectColumnsIn([...wanted, ...wanted.map(camel)]))) {
      const i = index.get(str(row.record_id ?? row.recordId) ?? '');
      if (i === undefined) continue;
      for (const [c, vals] of detValues) vals[i] = str(row[c] ?? row[camel(c)]);
      secure[i] = {
        dateOfBirth: str(row.date_of_birth ?? row.dateOfBirth),
        sex: str(row.sex),
        nhsNumberToken: str(row.nhs_number_token ?? row.nhsNumberToken),
        upnToken: str(row.upn_token ?? row.upnToken),
      };
    }
  }
  let familiesOfPerson: Map<string, string[]> | null = null;
  let localityOfFamily: Map<string, string> | null = null;
  const fmKey = keys.curated('family_members', asAt);
  if (await stores.curated.exists(fmKey)) {
    familiesOfPerson = new Map();
    for await (const row of rowsOf(stores.curated, fmKey, 'SELECT person_id, family_id FROM {{file}}')) {
      const p = str(row.person_id);
      const f = str(row.family_id);
      if (!p || !f) continue;
      const list = familiesOfPerson.get(p) ?? [];
      if (!list.includes(f)) list.push(f);
      familiesOfPerson.set(p, list);
    }
  }
  const famKey = keys.curated('families', asAt);
  if (await stores.curated.exists(famKey)) {
    localityOfFamily = new Map();
    for await (const row of rowsOf(stores.curated, famKey, 'SELECT family_id, locality FROM {{file}}')) {
      const f = str(row.family_id);
      if (f) localityOfFamily.set(f, str(row.locality) ?? 'Unassigned');
    }
  }
  // the run's own manifest (at publish time the run is not released yet), else the published one
  const manifestRaw =
    (await readJson(stores.outputs, keys.runManifest(asAt, runId))) ??
    (await readJson(stores.outputs, keys.manifest(asAt)));
  // Only the stable, publishable parts of the manifest (no timestamps: the report is byte-for-byte reproducible).
  const manifest = manifestRaw
    ? Object.fromEntries(
        ['runId', 'asAt', 'ranBy', 'codeVersion', 'config', 'ruleSetVersion', 'inputs']
          .filter((k) => k in manifestRaw)
          .map((k) => {
            const v = manifestRaw[k];
            if (k === 'config' && v && typeof v === 'object') {
              const c = v as { version?: unknown; sha256?: unknown };
              return [k, { version: c.version, sha256: c.sha256 }];
            }
            return [k, v];
          }),
      )
    : null;
  // At publish time the manifest is still the one prepare wrote: take the rule-set version from the scores.
  const scoresKey = keys.curated('scores', asAt);
  if (manifest && !manifest.ruleSetVersion && (await stores.curated.exists(scoresKey))) {
    const versions = new Set<string>();
    for await (const row of rowsOf(
      stores.curated,
      scoresKey,
      'SELECT DISTINCT rule_set_version FROM {{file}} ORDER BY rule_set_version',
    ))
      if (typeof row.rule_set_version === 'string') versions.add(row.rule_set_version);
    if (versions.size) manifest.ruleSetVersion = [...versions].sort().join(', ');
  }
  const sampleKey = keys.secure(asAt, MATCH_REVIEW_SAMPLE_KEY);
  let reviewSample: Array<Record<string, unknown>> | null = null;
  if (await stores.secure.exists(sampleKey)) {
    const raw = JSON.parse((await stores.secure.get(sampleKey)).toString('utf8')) as { pairs?: unknown };
    reviewSample = Array.isArray(raw.pairs) ? (raw.pairs as Array<Record<string, unknown>>) : null;
  }
  const reviewKey = keys.secure(asAt, REVIEW_ESTIMATE);
  const reviewRaw = (await stores.secure.exists(reviewKey))
    ? (JSON.parse((await stores.secure.get(reviewKey)).toString('utf8')) as ReviewEstimate)
    : null;
  // an estimate from before "linked" meant "in one person" (version 1) is not shown: its strata mislabel pairs
  const review = reviewRaw?.version === 2 ? reviewRaw : null;
  const ignoredFiles: Array<{ key: string; why: string }> = [];
  const peopleFeeds = new Set(PEOPLE_FEEDS.map((f) => `${f.source}/${f.feed}`));
  return {
    data: {
      asAt,
      runId,
      files: await loadFileCounts(stores.secure, asAt, ignoredFiles),
      ignoredFiles,
      records,
      personOf,
      pairs,
      links,
      threshold,
      model,
      clustering,
      secure,
      familiesOfPerson,
      localityOfFamily,
      peopleFeeds,
      reviewSample,
      deterministic: { rules: detRulesParsed.rules, values: detValues, skipped: detRulesParsed.skipped },
    },
    manifest,
    review,
  };
}

/**
 * Example queries for information governance and analysts, installed as Athena named queries in the workgroup.
 * `{{table}}` is the curated table for one as-at date: installed (athenaNamedQuery) it becomes the Glue table
 * restricted to the partition the `?` execution parameter names. The pipeline itself runs none of them: they are for
 * people querying in Athena. The SQL stays in the common subset of Athena engine 3 (Trino) and DuckDB; a test runs
 * every one of them on DuckDB over a local run's curated Parquet (test/pipelines/athena-queries.test.ts).
 * Pseudonymous tables only: nothing here can return a name, date of birth or address.
 */
export interface ExampleQuery {
  name: string;
  description: string;
  sql: string;
}

export const EXAMPLE_QUERIES: ExampleQuery[] = [
  {
    name: 'families-by-locality-and-tier',
    description: 'Families scored per locality and tier, with how many are open to statutory services.',
    sql: `SELECT f.locality, s.tier, count(*) AS families,
       sum(CASE WHEN s.open_to_statutory THEN 1 ELSE 0 END) AS open_to_statutory
FROM {{families}} f JOIN {{scores}} s ON s.family_id = f.family_id
GROUP BY f.locality, s.tier
ORDER BY f.locality, s.tier`,
  },
  {
    name: 'records-and-persons-by-source',
    description: 'Records per source and the persons they resolve to (linkage coverage per source).',
    sql: `SELECT r.source, count(*) AS records, count(DISTINCT p.person_id) AS persons
FROM {{records}} r JOIN {{persons}} p ON p.record_id = r.record_id
GROUP BY r.source
ORDER BY r.source`,
  },
  {
    name: 'persons-seen-by-several-sources',
    description: 'How many persons are known to one, two, three or four sources.',
    sql: `SELECT sources, count(*) AS persons
FROM (
  SELECT p.person_id, count(DISTINCT r.source) AS sources
  FROM {{persons}} p JOIN {{records}} r ON r.record_id = p.record_id
  GROUP BY p.person_id
) t
GROUP BY sources
ORDER BY sources`,
  },
  {
    name: 'match-weight-distribution',
    description: 'Scored pairs and accepted links per whole match-weight band (the threshold sensitivity at a glance).',
    sql: `SELECT CAST(floor(p.match_weight) AS INTEGER) AS weight_band, count(*) AS pairs,
       sum(CASE WHEN l.record_id_l IS NULL THEN 0 ELSE 1 END) AS links
FROM {{pairs}} p
LEFT JOIN {{links}} l ON l.record_id_l = p.record_id_l AND l.record_id_r = p.record_id_r
GROUP BY CAST(floor(p.match_weight) AS INTEGER)
ORDER BY weight_band`,
  },
  {
    name: 'links-by-rule',
    description: 'Accepted links per blocking or deterministic rule.',
    sql: `SELECT match_key, count(*) AS links, round(avg(match_weight), 2) AS mean_weight
FROM {{links}}
GROUP BY match_key
ORDER BY links DESC, match_key`,
  },
  {
    name: 'cluster-sizes',
    description: 'Persons by how many source records they merge (large clusters deserve a look).',
    sql: `SELECT records_per_person, count(*) AS persons
FROM (SELECT person_id, count(*) AS records_per_person FROM {{persons}} GROUP BY person_id) t
GROUP BY records_per_person
ORDER BY records_per_person`,
  },
  {
    name: 'rules-fired',
    description: 'How many families each stratification rule fired for.',
    sql: `SELECT rule, count(*) AS families
FROM {{scores}} s CROSS JOIN UNNEST(s.rules_fired) AS t(rule)
GROUP BY rule
ORDER BY rule`,
  },
  {
    name: 'family-roles',
    description: 'Family members by role and age band.',
    sql: `SELECT role, age_band, count(*) AS members
FROM {{family_members}}
GROUP BY role, age_band
ORDER BY role, age_band`,
  },
  {
    name: 'facts-by-type',
    description: 'Event facts per type and source, with the date range they cover.',
    sql: `SELECT type, source, count(*) AS facts, min(date) AS first_date, max(date) AS last_date
FROM {{facts}}
GROUP BY type, source
ORDER BY type, source`,
  },
];

/**
 * A query as installed for Athena: each `{{table}}` becomes that Glue table restricted to one as-at partition by an
 * execution parameter (`WHERE as_at = ?`: give the as-at date in ExecutionParameters, once per `?`, or in the
 * console's parameter boxes), so nobody edits a date into the SQL. A literal in the predicate keeps partition
 * projection pruning to the one date.
 */
export function athenaNamedQuery(q: ExampleQuery, database: string): { sql: string; parameters: number } {
  let parameters = 0;
  const sql = q.sql.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, table: string) => {
    parameters++;
    return `(SELECT * FROM "${database}".${table} WHERE as_at = ?)`;
  });
  return { sql, parameters };
}

/** The ExecutionParameters for one as-at date: the date, quoted as an Athena string literal, once per `?`. */
export function asAtExecutionParameters(q: ExampleQuery, database: string, asAt: string): string[] {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asAt)) throw new Error(`as-at date "${asAt}": expected YYYY-MM-DD`);
  return Array.from({ length: athenaNamedQuery(q, database).parameters }, () => `'${asAt}'`);
}

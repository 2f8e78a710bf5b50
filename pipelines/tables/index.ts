/**
 * The tables between stages, each owned by one module here: its columns (name, Parquet type, meaning), its typed row
 * reader and writer. Stages and reports read and write these tables only through them; the Glue tables
 * (infra/glue-tables.ts) and docs/tables.md are made from the same definitions (test/tables/tables.test.ts keeps them
 * in step).
 */
import type { CuratedTable } from '../layout.ts';
import { FACTS } from './facts.ts';
import { FAMILIES } from './families.ts';
import { FAMILY_MEMBERS } from './family-members.ts';
import { ID_LINEAGE } from './id-lineage.ts';
import { LINKS, PAIRS } from './pairs.ts';
import { PERSON_DOBS } from './person-dobs.ts';
import { PERSON_RECORDS } from './person-records.ts';
import { PERSONS } from './persons.ts';
import { RECORDS } from './records.ts';
import { RELATIONSHIPS } from './relationships.ts';
import { SCORES } from './scores.ts';
import type { TableDef } from './table.ts';

/** Every curated (pseudonymous) table, by its Glue name. */
export const CURATED_TABLE_DEFS: Record<CuratedTable, TableDef> = {
  records: RECORDS,
  facts: FACTS,
  relationships: RELATIONSHIPS,
  pairs: PAIRS,
  links: LINKS,
  persons: PERSONS,
  families: FAMILIES,
  family_members: FAMILY_MEMBERS,
  scores: SCORES,
  id_lineage: ID_LINEAGE,
};

/** The secure-zone tables (clear quasi-identifiers): never in Glue. */
export const SECURE_TABLE_DEFS: readonly TableDef[] = [PERSON_RECORDS, PERSON_DOBS];

/** docs/tables.md: every table with its columns, made from the definitions (`npm run docs:tables` writes it). */
export function tablesReference(): string {
  const section = (t: TableDef, where: string) => [
    `### \`${t.name}\``,
    '',
    `${where}. One row: ${t.row}.`,
    '',
    '| column | type | what it holds |',
    '|---|---|---|',
    ...t.columns.map((c) => `| \`${c.name}\` | ${c.type} | ${c.about.replace(/\|/g, '\\|')} |`),
    '',
  ];
  return [
    '# Tables between stages',
    '',
    '<!-- generated from pipelines/tables/ by `npm run docs:tables`; test/tables/tables.test.ts fails when it is stale -->',
    '',
    'Curated tables are pseudonymous Parquet at `curated/<table>/as_at=<date>/part-00000.parquet`, each a Glue table',
    'partitioned by `as_at`. Secure tables hold clear quasi-identifiers and stay in the secure zone.',
    '',
    '## Curated',
    '',
    ...Object.values(CURATED_TABLE_DEFS).flatMap((t) => section(t, 'Curated')),
    '## Secure',
    '',
    ...SECURE_TABLE_DEFS.flatMap((t) => section(t, 'Secure zone')),
  ].join('\n');
}

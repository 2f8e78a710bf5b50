/** `npm run docs:tables`: writes docs/tables.md from the table definitions (pipelines/tables/). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tablesReference } from '../pipelines/tables/index.ts';
import { ROOT } from './import-graph.ts';

writeFileSync(join(ROOT, 'docs', 'tables.md'), tablesReference());
process.stdout.write('wrote docs/tables.md\n');

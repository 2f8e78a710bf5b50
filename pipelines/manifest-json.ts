/** A run manifest as the text it is stored as (pretty JSON, one trailing newline): one writer for manifest.ts and the release. */
import type { Manifest } from './manifest-schema.ts';

export function manifestJson(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** A zod error as one line: `path: message; path: message` (`(root)` for the value itself). Every config, event and file check says it this way. */
import type { z } from 'zod';

export function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

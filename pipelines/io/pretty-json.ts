/**
 * `${JSON.stringify(object, null, 2)}\n`, byte for byte, as chunks: an object whose one array member is given as an
 * iterable of its items, serialised one batch of items at a time, so neither the items nor the whole text are held.
 * The match stage's clustering report lists every refused merge (255,659 at 100,000 families, 88 MB of text): at
 * Greater Manchester scale one string of it would pass V8's string length limit (about 512 MiB).
 *
 * JSON.stringify's indentation is cumulative: a value at depth d serialises as it does alone with every line after its
 * first indented by 2·d more spaces, which is what this does for each member and each item.
 */

/** A member value: any JSON value, or a streamed array of items. */
export type PrettyJsonMember = { items: Iterable<unknown> } | { value: unknown };

/** A value serialised at `depth` (the indentation of the line it starts on, in levels of two spaces). */
function at(value: unknown, depth: number): string {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new Error('prettyJsonChunks: a value JSON cannot hold');
  return depth === 0 ? text : text.replaceAll('\n', `\n${'  '.repeat(depth)}`);
}

/** The text of `{ key: member, ... }` (in the given order) and a final newline, in chunks of up to `batch` items. */
export function* prettyJsonChunks(
  members: ReadonlyArray<readonly [string, PrettyJsonMember]>,
  batch = 1000,
): Iterable<string> {
  if (members.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (const [m, [key, member]] of members.entries()) {
    const head = `  ${JSON.stringify(key)}: `;
    const tail = m < members.length - 1 ? ',\n' : '\n';
    if ('value' in member) {
      yield `${head}${at(member.value, 1)}${tail}`;
      continue;
    }
    let chunk: string[] = [];
    let any = false;
    for (const item of member.items) {
      chunk.push(`${any ? ',\n' : `${head}[\n`}    ${at(item, 2)}`);
      any = true;
      if (chunk.length >= batch) {
        yield chunk.join('');
        chunk = [];
      }
    }
    chunk.push(any ? `\n  ]${tail}` : `${head}[]${tail}`);
    yield chunk.join('');
  }
  yield '}\n';
}

/** Code-unit order of strings (what `<` does), as a comparator: the one every sort of ids and keys uses, so outputs are byte-identical on any locale. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

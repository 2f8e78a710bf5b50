/**
 * The one union-find of the pipeline: disjoint sets over dense indices 0..n-1 (records, persons, address keys),
 * in typed arrays, with path compression. Two ways to join, each the rule a caller's output depends on:
 * - `union`: the smaller root index becomes the root (families: a set's root is its smallest member);
 * - `unionBySize`: the larger set's root stays the root, ties to the smaller root index (record clustering,
 *   which keeps per-root state and walks the smaller side).
 */
export class UnionFind {
  private readonly parent: Int32Array;
  private readonly members: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.members = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  /** The root of x's set; every index on the way is pointed straight at it. */
  find(x: number): number {
    const parent = this.parent;
    let root = x;
    while (parent[root] !== root) root = parent[root]!;
    while (x !== root) {
      const next = parent[x]!;
      parent[x] = root;
      x = next;
    }
    return root;
  }

  /** How many indices are in the set whose root is `root` (a root, as `find` returns). */
  size(root: number): number {
    return this.members[root]!;
  }

  /** Joins the sets of a and b under the smaller of the two roots; returns that root. */
  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    return ra < rb ? this.attach(ra, rb) : this.attach(rb, ra);
  }

  /**
   * Joins the sets of a and b under the root of the larger set (equal sizes: the smaller root index);
   * returns the surviving root. The other root, if they differed, is no longer a root.
   */
  unionBySize(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    const sa = this.members[ra]!;
    const sb = this.members[rb]!;
    return sa > sb || (sa === sb && ra < rb) ? this.attach(ra, rb) : this.attach(rb, ra);
  }

  private attach(root: number, child: number): number {
    this.parent[child] = root;
    this.members[root]! += this.members[child]!;
    return root;
  }
}

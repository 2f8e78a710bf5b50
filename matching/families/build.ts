/**
 * Persons -> family units as at the run date. Pure and deterministic.
 *
 * 1. Explicit relationships first (maternity mother -> baby, social care relationships and groupings, school
 *    contacts -> pupil), active at the as-at date. Two related persons who live at the same address (or one of whom
 *    has no known address) are joined; related persons who live apart are NOT merged: the one living elsewhere gets
 *    an `also_in` membership of the other's family (separated parents, shared care, a grandparent nearby).
 * 2. Then co-residence at the same normalised address: the children living there (and an expectant mother) are
 *    joined, and adults join only by living with those children. Guards: an address on the communal list, with a
 *    communal keyword, with more people than the household-size cap, or with too many unrelated adult groups
 *    (automatic detection) never makes a family by co-residence; only explicit relationships count there.
 * 3. Every connected group holding a child or an expectant mother is a family; adults-only groups are not.
 * Every membership carries its evidence: the relationship records or the co-residence records behind it.
 */
import { createHash } from 'node:crypto';
import { ageInYears } from '../../models/dates.ts';
import { ageBandAt, type AgeBand } from '../../models/age-bands.ts';
import type { FamiliesConfig } from './config.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}


export interface PersonAddress {
  recordId: string;
  extractDate: string;
  postcode: string | null;
  addressLine1: string | null;
}

export interface FamilyPerson {
  personId: string;
  dateOfBirth: string | null;
  /** Addresses on the person's current records (secure input: used for co-residence, never written out). */
  addresses: PersonAddress[];
  /** A current pregnancy (booked, not yet delivered) at the as-at date. */
  expectant?: boolean;
}

export interface FamilyRelationship {
  relationshipId: string;
  source: string;
  feed: string;
  recordRef: string;
  /** The person who IS the relationship ... */
  fromPersonId: string;
  /** ... OF this person. */
  toPersonId: string;
  relationship: 'mother' | 'father' | 'carer' | 'step_parent' | 'grandparent' | 'sibling' | 'other';
  groupRef: string | null;
  startDate: string | null;
  endDate: string | null;
}

export type MembershipEvidence =
  | { kind: 'relationship'; relationshipId: string; relationship: string; fromPersonId: string; toPersonId: string; source: string; feed: string; recordRef: string }
  | { kind: 'group'; source: string; groupRef: string; relationshipIds: string[] }
  | { kind: 'co_residence'; withPersonIds: string[]; recordIds: string[] }
  | { kind: 'resident'; recordIds: string[] };

/** A member's role in a family (curated family_members.role). */
export const FAMILY_ROLES = ['child', 'expectant_mother', 'parent', 'carer', 'step_parent', 'grandparent', 'adult'] as const;
export type FamilyRole = (typeof FAMILY_ROLES)[number];

export interface FamilyMembership {
  familyId: string;
  personId: string;
  role: FamilyRole;
  membership: 'primary' | 'also_in';
  ageBand: AgeBand;
  isChild: boolean;
  evidence: MembershipEvidence[];
}

export interface Family {
  familyId: string;
  /** Secure only: the household's address, for the locality lookup. Never written to a curated table. */
  postcode: string | null;
  members: FamilyMembership[];
  flags: string[];
}

export interface FamilyBuildResult {
  families: Family[];
  /** Persons in no family (adults-only households, unknown people) */
  personsWithoutFamily: number;
  communalAddresses: { configured: number; keyword: number; overCap: number; unrelatedAdults: number };
  counts: Record<string, number>;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const PARENT_TYPES = new Set(['mother', 'father', 'carer', 'step_parent', 'grandparent']);

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined && p !== root; p = this.parent.get(root)) root = p;
    // path compression: everything on the way now points at the root
    while (x !== root) {
      const next = this.parent.get(x)!;
      this.parent.set(x, root);
      x = next;
    }
    return root;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // deterministic: the smaller id is the root
    if (ra < rb) this.parent.set(rb, ra);
    else this.parent.set(ra, rb);
  }
}


const norm = (x: string | null) => (x ? x.toUpperCase().replace(/\s+/g, ' ').trim() || null : null);

/** `POSTCODE|LINE 1`, either part possibly blank; null when both are blank. `normal` may memoise norm. */
export function rawAddressKey(a: Pick<PersonAddress, 'postcode' | 'addressLine1'>, normal: (x: string | null) => string | null = norm): string | null {
  const pc = normal(a.postcode);
  const line = normal(a.addressLine1);
  return pc || line ? `${pc ?? ''}|${line ?? ''}` : null;
}

/** norm with a memo: postcodes and first lines repeat across a household's records and people. */
function memoNorm(): (x: string | null) => string | null {
  const memo = new Map<string, string | null>();
  return (x) => {
    if (!x) return null;
    let v = memo.get(x);
    if (v === undefined) {
      v = norm(x);
      memo.set(x, v);
    }
    return v;
  };
}

/** Optimal string alignment distance is at most 1 (one substitution, insertion, deletion or adjacent swap). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // adjacent swap
  }
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

/**
 * Address clusters: the same first line with postcodes one edit apart is one address (a postcode typo); an address
 * with a blank postcode joins the one full address with that first line, and one with a blank first line joins the one
 * full address at that postcode, when there is exactly one; otherwise they are no address (absent from the map: an
 * ambiguous partial address must not make strangers co-resident). Returns raw key -> cluster key.
 */
export function clusterAddresses(addresses: Array<Pick<PersonAddress, 'postcode' | 'addressLine1'>>): Map<string, string> {
  const normal = memoNorm();
  return clusterRawKeys(addresses.map((a) => rawAddressKey(a, normal)));
}

/** clusterAddresses over the addresses' raw keys (rawAddressKey; null for a blank address). */
function clusterRawKeys(rawKeys: Iterable<string | null>): Map<string, string> {
  const counts = new Map<string, number>();
  for (const k of rawKeys) if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  const keysSorted = [...counts.keys()].sort(cmp);
  const full = keysSorted.filter((k) => !k.startsWith('|') && !k.endsWith('|'));
  const uf = new UnionFind();
  const byLine = new Map<string, string[]>();
  for (const k of full) {
    const line = k.slice(k.indexOf('|') + 1);
    pushTo(byLine, line, k);
  }
  for (const group of byLine.values()) {
    if (group.length < 2) continue;
    const compact = group.map((k) => k.slice(0, k.indexOf('|')).replace(' ', ''));
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        // the same first line at a postcode one edit away is a typo of the same address
        if (withinOneEdit(compact[i]!, compact[j]!)) uf.union(group[i]!, group[j]!);
      }
    }
  }
  // representative: the most-held full key of each cluster
  const members = new Map<string, string[]>();
  for (const k of full) pushTo(members, uf.find(k), k);
  const rep = new Map<string, string>();
  for (const ks of members.values()) {
    const best = [...ks].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || cmp(a, b))[0]!;
    for (const k of ks) rep.set(k, best);
  }
  const out = new Map<string, string>();
  for (const k of full) out.set(k, rep.get(k)!);
  const clustersByLine = new Map<string, Set<string>>();
  const clustersByPostcode = new Map<string, Set<string>>();
  for (const k of full) {
    const [pc, line] = [k.slice(0, k.indexOf('|')), k.slice(k.indexOf('|') + 1)];
    clustersByLine.set(line, (clustersByLine.get(line) ?? new Set()).add(rep.get(k)!));
    clustersByPostcode.set(pc, (clustersByPostcode.get(pc) ?? new Set()).add(rep.get(k)!));
  }
  for (const k of keysSorted) {
    if (out.has(k)) continue;
    const candidates = k.startsWith('|') ? clustersByLine.get(k.slice(1)) : clustersByPostcode.get(k.slice(0, -1));
    // an ambiguous partial address is not an address: it makes no co-residence
    if (candidates && candidates.size === 1) out.set(k, [...candidates][0]!);
  }
  return out;
}

export function familyIdOf(anchorPersonId: string): string {
  return `F${createHash('sha256').update(`family:${anchorPersonId}`).digest('hex').slice(0, 12)}`;
}

function activeAt(r: FamilyRelationship, asAt: string): boolean {
  return (r.startDate === null || r.startDate <= asAt) && (r.endDate === null || r.endDate > asAt);
}

export function buildFamilies(persons: FamilyPerson[], relationships: FamilyRelationship[], asAt: string, cfg: FamiliesConfig): FamilyBuildResult {
  const byId = new Map<string, FamilyPerson>();
  for (const p of [...persons].sort((a, b) => cmp(a.personId, b.personId))) byId.set(p.personId, p);
  const ids = [...byId.keys()];
  // ages once (dates are parsed once per person, not on every test)
  const childSet = new Set<string>();
  const childByDob = new Map<string, boolean>(); // people share dates of birth: each is aged once
  for (const id of ids) {
    const dob = byId.get(id)!.dateOfBirth;
    if (!dob || dob > asAt) continue;
    let child = childByDob.get(dob);
    if (child === undefined) {
      child = ageInYears(dob, asAt) < cfg.adultAge;
      childByDob.set(dob, child);
    }
    if (child) childSet.add(id);
  }
  const bandByDob = new Map<string | null, AgeBand>();
  const ageBandOf = (id: string): AgeBand => {
    const dob = byId.get(id)!.dateOfBirth;
    let band = bandByDob.get(dob);
    if (band === undefined) {
      band = ageBandAt(dob, asAt);
      bandByDob.set(dob, band);
    }
    return band;
  };
  const isChild = (id: string) => childSet.has(id);
  const anchorSet = new Set(ids.filter((id) => childSet.has(id) || (cfg.expectantMothersAnchor && byId.get(id)!.expectant === true)));
  const isAnchor = (id: string) => anchorSet.has(id);

  // ---- addresses: every address a person's current records hold, clustered to tolerate typos and blanks
  const normal = memoNorm();
  const rawKeys = ids.map((id) => byId.get(id)!.addresses.map((a) => rawAddressKey(a, normal)));
  const canonical = clusterRawKeys(rawKeys.flat());
  const personKeys = new Map<string, Map<string, string[]>>(); // person -> address cluster -> recordIds
  const residents = new Map<string, Set<string>>(); // address cluster -> persons
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const addresses = byId.get(id)!.addresses;
    const raws = rawKeys[i]!;
    const m = new Map<string, string[]>();
    for (let j = 0; j < addresses.length; j++) {
      const raw = raws[j]!;
      const k = raw === null ? undefined : canonical.get(raw);
      if (!k) continue;
      const list = m.get(k);
      if (list) list.push(addresses[j]!.recordId);
      else m.set(k, [addresses[j]!.recordId]);
    }
    let most = 0;
    for (const l of m.values()) {
      l.sort(cmp);
      if (l.length > most) most = l.length;
    }
    personKeys.set(id, m);
    // where the person lives now: the address most of their records agree on (all of them on a tie). A stale address
    // one source still holds is evidence for a relationship, but makes no co-residence (someone else may live there now).
    for (const [k, l] of m) {
      if (l.length < most) continue;
      const set = residents.get(k) ?? new Set<string>();
      set.add(id);
      residents.set(k, set);
    }
  }
  const sharesAddress = (a: string, b: string): boolean => {
    const ka = personKeys.get(a)!;
    const kb = personKeys.get(b)!;
    if (ka.size === 0 || kb.size === 0) return true; // no known address: the relationship decides
    for (const k of ka.keys()) if (kb.has(k)) return true;
    return false;
  };

  // ---- explicit relationships active at the as-at date, between known persons
  const rels = relationships
    .filter((r) => activeAt(r, asAt) && cfg.relationshipTypes.includes(r.relationship) && byId.has(r.fromPersonId) && byId.has(r.toPersonId) && r.fromPersonId !== r.toPersonId)
    .sort((a, b) => cmp(a.relationshipId, b.relationshipId));
  const relUf = new UnionFind(); // relationship components, for the unrelated-adults guard
  for (const r of rels) relUf.union(r.fromPersonId, r.toPersonId);
  const groups = new Map<string, FamilyRelationship[]>();
  for (const r of rels) {
    if (!r.groupRef) continue;
    const g = `${r.source}:${r.groupRef}`;
    pushTo(groups, g, r);
  }
  for (const g of groups.values()) for (const r of g) relUf.union(g[0]!.fromPersonId, r.fromPersonId);

  // ---- communal addresses
  const configured = new Set(cfg.communalAddresses.map((c) => {
    const raw = rawAddressKey({ postcode: c.postcode, addressLine1: c.addressLine1 ?? null })!;
    return c.addressLine1 ? canonical.get(raw) ?? raw : `${norm(c.postcode)}|*`;
  }));
  const communal = new Map<string, 'configured' | 'keyword' | 'over_cap' | 'unrelated_adults'>();
  for (const [k, set] of [...residents.entries()].sort((a, b) => cmp(a[0], b[0]))) {
    const [pc, line] = k.split('|') as [string, string];
    if (configured.has(k) || (pc && configured.has(`${pc}|*`))) communal.set(k, 'configured');
    else if (cfg.communalKeywords.some((w) => ` ${line} `.includes(` ${w.toUpperCase()} `))) communal.set(k, 'keyword');
    else if (set.size > cfg.householdSizeCap) communal.set(k, 'over_cap');
    else {
      const adultGroups = new Set([...set].filter((id) => !isChild(id)).map((id) => relUf.find(id)));
      if (adultGroups.size > cfg.maxUnrelatedAdultGroups) communal.set(k, 'unrelated_adults');
    }
  }

  // ---- join: relationships between co-located persons, then co-residence
  const uf = new UnionFind();
  const evidence = new Map<string, MembershipEvidence[]>(); // person -> evidence (primary)
  const addEv = (id: string, e: MembershipEvidence) => pushTo(evidence, id, e);
  const apart: FamilyRelationship[] = [];
  for (const r of rels) {
    if (sharesAddress(r.fromPersonId, r.toPersonId)) {
      uf.union(r.fromPersonId, r.toPersonId);
      const e: MembershipEvidence = { kind: 'relationship', relationshipId: r.relationshipId, relationship: r.relationship, fromPersonId: r.fromPersonId, toPersonId: r.toPersonId, source: r.source, feed: r.feed, recordRef: r.recordRef };
      addEv(r.fromPersonId, e);
      addEv(r.toPersonId, e);
    } else apart.push(r);
  }
  for (const [g, list] of [...groups.entries()].sort((a, b) => cmp(a[0], b[0]))) {
    const members = [...new Set(list.flatMap((r) => [r.fromPersonId, r.toPersonId]))].sort(cmp);
    // a grouping joins only members who live together (or whose address is unknown)
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) if (sharesAddress(members[i]!, members[j]!)) uf.union(members[i]!, members[j]!);
    }
    const e: MembershipEvidence = { kind: 'group', source: list[0]!.source, groupRef: g.slice(list[0]!.source.length + 1), relationshipIds: list.map((r) => r.relationshipId).sort(cmp) };
    for (const m of members) addEv(m, e);
  }
  for (const [k, set] of [...residents.entries()].sort((a, b) => cmp(a[0], b[0]))) {
    if (communal.has(k)) continue;
    const here = [...set].sort(cmp);
    const anchors = here.filter(isAnchor);
    if (anchors.length === 0) continue;
    for (const id of here) {
      uf.union(anchors[0]!, id);
      const others = (isAnchor(id) ? here : anchors).filter((x) => x !== id);
      if (others.length > 0) addEv(id, { kind: 'co_residence', withPersonIds: others, recordIds: personKeys.get(id)!.get(k)! });
    }
  }

  // ---- components holding an anchor are families
  const comps = new Map<string, string[]>();
  for (const id of ids) {
    const root = uf.find(id);
    pushTo(comps, root, id);
  }
  const familyOfPerson = new Map<string, string>();
  const families: Family[] = [];
  const relsTo = new Map<string, FamilyRelationship[]>();
  for (const r of rels) {
    pushTo(relsTo, r.toPersonId, r);
    pushTo(relsTo, r.fromPersonId, r);
  }
  const roleIn = (id: string, memberSet: Set<string>): FamilyRole => {
    // an explicit parent-type relationship to a child in the family decides the role
    const as = (relsTo.get(id) ?? []).filter((r) => r.fromPersonId === id && PARENT_TYPES.has(r.relationship) && memberSet.has(r.toPersonId))
      .map((r) => r.relationship).sort(cmp);
    const order: FamilyRole[] = ['parent', 'step_parent', 'carer', 'grandparent'];
    const mapped = as.map((x) => (x === 'mother' || x === 'father' ? 'parent' : x) as FamilyRole);
    for (const o of order) if (mapped.includes(o)) return o;
    if (byId.get(id)?.expectant && cfg.expectantMothersAnchor) return 'expectant_mother';
    return isChild(id) ? 'child' : 'adult';
  };
  let flaggedAddresses = 0;
  for (const members of [...comps.values()].map((m) => m.sort(cmp)).sort((a, b) => cmp(a[0]!, b[0]!))) {
    const anchors = members.filter(isAnchor);
    if (anchors.length === 0) continue;
    const familyId = familyIdOf(anchors[0]!);
    const set = new Set(members);
    // the household address: the key most held among anchors' records, then members'
    const tally = new Map<string, number>();
    for (const id of members) for (const [k, recs] of personKeys.get(id)!) tally.set(k, (tally.get(k) ?? 0) + recs.length * (isAnchor(id) ? 100 : 1));
    const best = [...tally.entries()].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]))[0];
    const flags: string[] = [];
    if (!best) flags.push('address_unknown');
    if (best && communal.has(best[0])) {
      flags.push(`communal_address:${communal.get(best[0])}`);
      flaggedAddresses += 1;
    }
    const keysHeld = new Set<string>();
    for (const id of members) for (const k of personKeys.get(id)!.keys()) keysHeld.add(k);
    if (keysHeld.size > 1) flags.push('members_at_several_addresses');
    const fam: Family = {
      familyId,
      postcode: best ? best[0].split('|')[0]! || null : null,
      flags,
      members: members.map((id) => {
        // a person is primary in one family only: their evidence list is theirs to keep
        const ev = evidence.get(id) ?? [];
        if (ev.length === 0) ev.push({ kind: 'resident', recordIds: [...personKeys.get(id)!.values()].flat().sort(cmp) });
        return { familyId, personId: id, role: roleIn(id, set), membership: 'primary' as const, ageBand: ageBandOf(id), isChild: isChild(id), evidence: ev };
      }),
    };
    for (const id of members) familyOfPerson.set(id, familyId);
    families.push(fam);
  }

  // ---- related persons living apart: also_in memberships (never merged)
  const famById = new Map(families.map((f) => [f.familyId, f]));
  const alsoIn = new Map<string, FamilyMembership>(); // `${familyId}|${personId}`
  for (const r of apart) {
    if (!PARENT_TYPES.has(r.relationship) && r.relationship !== 'sibling') continue;
    const e: MembershipEvidence = { kind: 'relationship', relationshipId: r.relationshipId, relationship: r.relationship, fromPersonId: r.fromPersonId, toPersonId: r.toPersonId, source: r.source, feed: r.feed, recordRef: r.recordRef };
    const link = (personId: string, familyId: string | undefined, role: FamilyRole) => {
      if (!familyId || familyOfPerson.get(personId) === familyId) return;
      const key = `${familyId}|${personId}`;
      const m = alsoIn.get(key);
      if (m) {
        if (!m.evidence.some((x) => x.kind === 'relationship' && x.relationshipId === r.relationshipId)) m.evidence.push(e);
        return;
      }
      alsoIn.set(key, { familyId, personId, role, membership: 'also_in', ageBand: ageBandOf(personId), isChild: isChild(personId), evidence: [e] });
    };
    if (r.relationship === 'sibling') {
      link(r.fromPersonId, familyOfPerson.get(r.toPersonId), isChild(r.fromPersonId) ? 'child' : 'adult');
      link(r.toPersonId, familyOfPerson.get(r.fromPersonId), isChild(r.toPersonId) ? 'child' : 'adult');
    } else {
      const parentRole: FamilyRole = r.relationship === 'mother' || r.relationship === 'father' ? 'parent' : (r.relationship as FamilyRole);
      link(r.fromPersonId, familyOfPerson.get(r.toPersonId), parentRole); // the parent, in the child's family
      link(r.toPersonId, familyOfPerson.get(r.fromPersonId), isChild(r.toPersonId) ? 'child' : 'adult'); // the child, in the parent's household (shared care)
    }
  }
  for (const m of [...alsoIn.values()].sort((a, b) => cmp(a.familyId, b.familyId) || cmp(a.personId, b.personId))) {
    const f = famById.get(m.familyId)!;
    m.evidence.sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b)));
    f.members.push(m);
  }
  for (const f of families) {
    f.members.sort((a, b) => cmp(a.membership, b.membership) || cmp(a.personId, b.personId));
    if (f.members.some((m) => m.membership === 'also_in')) f.flags.push('has_members_living_elsewhere');
    f.flags.sort(cmp);
  }
  families.sort((a, b) => cmp(a.familyId, b.familyId));

  const communalCount = (kind: string) => [...communal.values()].filter((v) => v === kind).length;
  const primaryPersons = familyOfPerson.size;
  return {
    families,
    personsWithoutFamily: ids.length - primaryPersons,
    communalAddresses: { configured: communalCount('configured'), keyword: communalCount('keyword'), overCap: communalCount('over_cap'), unrelatedAdults: communalCount('unrelated_adults') },
    counts: {
      persons: ids.length,
      families: families.length,
      persons_in_families: primaryPersons,
      persons_without_family: ids.length - primaryPersons,
      also_in_memberships: alsoIn.size,
      relationships_used: rels.length,
      relationships_across_households: apart.length,
      communal_addresses: communal.size,
      families_at_communal_addresses: flaggedAddresses,
    },
  };
}

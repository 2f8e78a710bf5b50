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
import { cmp } from '../../models/order.ts';
import { PARENT_LIKE_RELATIONSHIPS, type RelationshipType } from '../records.ts';
import { UnionFind } from '../union-find.ts';

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
  relationship: RelationshipType;
  groupRef: string | null;
  startDate: string | null;
  endDate: string | null;
}

export type MembershipEvidence =
  | {
      kind: 'relationship';
      relationshipId: string;
      relationship: string;
      fromPersonId: string;
      toPersonId: string;
      source: string;
      feed: string;
      recordRef: string;
    }
  | { kind: 'group'; source: string; groupRef: string; relationshipIds: string[] }
  | { kind: 'co_residence'; withPersonIds: string[]; recordIds: string[] }
  | { kind: 'resident'; recordIds: string[] };

/** A member's role in a family (curated family_members.role). */
export const FAMILY_ROLES = [
  'child',
  'expectant_mother',
  'parent',
  'carer',
  'step_parent',
  'grandparent',
  'adult',
] as const;
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

const norm = (x: string | null) => (x ? x.toUpperCase().replace(/\s+/g, ' ').trim() || null : null);

/** `POSTCODE|LINE 1`, either part possibly blank; null when both are blank. `normal` may memoise norm. */
export function rawAddressKey(
  a: Pick<PersonAddress, 'postcode' | 'addressLine1'>,
  normal: (x: string | null) => string | null = norm,
): string | null {
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
export function clusterAddresses(
  addresses: Array<Pick<PersonAddress, 'postcode' | 'addressLine1'>>,
): Map<string, string> {
  const normal = memoNorm();
  return clusterRawKeys(addresses.map((a) => rawAddressKey(a, normal)));
}

/** clusterAddresses over the addresses' raw keys (rawAddressKey; null for a blank address). */
function clusterRawKeys(rawKeys: Iterable<string | null>): Map<string, string> {
  const counts = new Map<string, number>();
  for (const k of rawKeys) if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  return clusterCounted(counts);
}

/** clusterRawKeys over distinct raw keys with how many addresses hold each (raw key -> cluster key). */
export function clusterCounted(counts: Map<string, number>): Map<string, string> {
  const keysSorted = [...counts.keys()].sort(cmp);
  const full = keysSorted.filter((k) => !k.startsWith('|') && !k.endsWith('|'));
  // union-find over positions in `full`
  const uf = new UnionFind(full.length);
  const byLine = new Map<string, number[]>();
  full.forEach((k, i) => pushTo(byLine, k.slice(k.indexOf('|') + 1), i));
  for (const group of byLine.values()) {
    if (group.length < 2) continue;
    const compact = group.map((i) => full[i]!.slice(0, full[i]!.indexOf('|')).replace(' ', ''));
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        // the same first line at a postcode one edit away is a typo of the same address
        if (withinOneEdit(compact[i]!, compact[j]!)) uf.union(group[i]!, group[j]!);
      }
    }
  }
  // representative: the most-held full key of each cluster
  const members = new Map<number, string[]>();
  full.forEach((k, i) => pushTo(members, uf.find(i), k));
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

function activeAt(r: Pick<FamilyRelationship, 'startDate' | 'endDate'>, asAt: string): boolean {
  return (r.startDate === null || r.startDate <= asAt) && (r.endDate === null || r.endDate > asAt);
}

/** A relationship of a type family formation uses (`types`: the configured ones), active at the as-at date. */
export function activeOfType(
  r: Pick<FamilyRelationship, 'startDate' | 'endDate' | 'relationship'>,
  asAt: string,
  types: ReadonlySet<string>,
): boolean {
  return activeAt(r, asAt) && types.has(r.relationship);
}

/** A person anchors a family: a child on the as-at date (by their date of birth), or an expectant mother when configured. */
export function anchorsFamily(
  dateOfBirth: string | null,
  expectant: boolean,
  asAt: string,
  cfg: FamiliesConfig,
): boolean {
  if (dateOfBirth && dateOfBirth <= asAt && ageInYears(dateOfBirth, asAt) < cfg.adultAge) return true;
  return cfg.expectantMothersAnchor && expectant;
}

const COMMUNAL_KINDS = ['', 'configured', 'keyword', 'over_cap', 'unrelated_adults'] as const;
const NO_ADDRESSES: never[] = [];

/**
 * Persons are numbered 0..n-1 in person id order (so comparing indices compares ids) and addresses (clusters) 0..A-1
 * in key order: everything below is per-index arrays, not maps keyed by id strings.
 */
/** The persons in person id order, each id once (the last person given with an id is kept, as a map keyed by id would). */
function personsById(persons: FamilyPerson[]): { ids: string[]; people: FamilyPerson[] } {
  let ids: string[];
  let people: FamilyPerson[];
  let ascending = true;
  for (let i = 1; i < persons.length && ascending; i++) ascending = persons[i - 1]!.personId < persons[i]!.personId;
  if (ascending) {
    ids = persons.map((p) => p.personId);
    people = persons;
  } else {
    const byId = new Map<string, FamilyPerson>();
    for (const p of persons) byId.set(p.personId, p);
    ids = [...byId.keys()].sort(); // default sort: UTF-16 code unit order, as cmp
    people = ids.map((id) => byId.get(id)!);
  }
  return { ids, people };
}

/** Who is a child, who anchors a family (a child, or an expectant mother when configured), each age band: once per date of birth. */
function agesOf(
  people: FamilyPerson[],
  asAt: string,
  cfg: FamiliesConfig,
): { child: Uint8Array; anchor: Uint8Array; bands: AgeBand[] } {
  const n = people.length;
  const child = new Uint8Array(n);
  const anchor = new Uint8Array(n);
  const bands = new Array<AgeBand>(n);
  const ageByDob = new Map<string, { child: boolean; band: AgeBand }>();
  for (let i = 0; i < n; i++) {
    const p = people[i]!;
    const dob = p.dateOfBirth;
    if (dob && dob <= asAt) {
      let age = ageByDob.get(dob);
      if (age === undefined) {
        age = { child: ageInYears(dob, asAt) < cfg.adultAge, band: ageBandAt(dob, asAt) };
        ageByDob.set(dob, age);
      }
      if (age.child) child[i] = 1;
      bands[i] = age.band;
    } else bands[i] = ageBandAt(dob, asAt);
    if (child[i] === 1 || (cfg.expectantMothersAnchor && p.expectant === true)) anchor[i] = 1;
  }
  return { child, anchor, bands };
}

/** Each address of each person as a raw key id (-1: blank), counted: the same (postcode, first line) as given is normalised once. */
function rawAddressIds(people: FamilyPerson[]): {
  addrStart: Int32Array;
  rawOfAddress: Int32Array;
  rawKeyList: string[];
  rawCount: number[];
} {
  const n = people.length;
  const normal = memoNorm();
  const addrStart = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) addrStart[i + 1] = addrStart[i]! + people[i]!.addresses.length;
  const rawOfAddress = new Int32Array(addrStart[n]!);
  const rawIdOf = new Map<string, number>();
  const rawKeyList: string[] = [];
  const rawCount: number[] = [];
  // postcode as given -> first line as given -> raw key id (-1: blank); null and '' normalise alike
  const rawIdAsGiven = new Map<string, Map<string, number>>();
  for (let i = 0, at = 0; i < n; i++) {
    for (const a of people[i]!.addresses) {
      const postcode = a.postcode ?? '';
      const line = a.addressLine1 ?? '';
      let byLine = rawIdAsGiven.get(postcode);
      if (!byLine) {
        byLine = new Map<string, number>();
        rawIdAsGiven.set(postcode, byLine);
      }
      let r = byLine.get(line);
      if (r === undefined) {
        const raw = rawAddressKey(a, normal);
        r = raw === null ? -1 : rawIdOf.get(raw);
        if (r === undefined) {
          r = rawKeyList.length;
          rawIdOf.set(raw!, r);
          rawKeyList.push(raw!);
          rawCount.push(0);
        }
        byLine.set(line, r);
      }
      if (r >= 0) rawCount[r]! += 1;
      rawOfAddress[at++] = r;
    }
  }
  return { addrStart, rawOfAddress, rawKeyList, rawCount };
}

/** The raw keys clustered (typos, blanks): each raw key's cluster index (-1: none), clusters numbered in key order. */
function clustersOfRawKeys(
  rawKeyList: string[],
  rawCount: number[],
  given?: ReadonlyMap<string, string>,
): { canonical: ReadonlyMap<string, string>; clusterKeys: string[]; clusterOfRaw: Int32Array } {
  // `given`: the whole population's clusters (a shard of the families stage sees only its own persons' keys)
  const canonical = given ?? clusterCounted(new Map(rawKeyList.map((k, r) => [k, rawCount[r]!])));
  const present = new Set<string>();
  for (const k of rawKeyList) {
    const c = canonical.get(k);
    if (c !== undefined) present.add(c);
  }
  const clusterKeys = [...present].sort(cmp); // cluster index order = key order
  const clusterIndex = new Map<string, number>();
  for (let c = 0; c < clusterKeys.length; c++) clusterIndex.set(clusterKeys[c]!, c);
  const clusterOfRaw = new Int32Array(rawKeyList.length);
  for (let r = 0; r < rawKeyList.length; r++) {
    const k = canonical.get(rawKeyList[r]!);
    clusterOfRaw[r] = k === undefined ? -1 : clusterIndex.get(k)!;
  }
  return { canonical, clusterKeys, clusterOfRaw };
}

/** One person's address clusters and the (sorted) record ids behind each. */
function clustersOfPerson(
  addresses: readonly PersonAddress[],
  from: number,
  rawOfAddress: Int32Array,
  clusterOfRaw: Int32Array,
): { ks: number[]; recs: string[][] } {
  let ks: number[] = NO_ADDRESSES;
  let recs: string[][] = NO_ADDRESSES;
  for (let j = 0, at = from; j < addresses.length; j++, at++) {
    const r = rawOfAddress[at]!;
    const k = r < 0 ? -1 : clusterOfRaw[r]!;
    if (k < 0) continue;
    if (ks === NO_ADDRESSES) {
      ks = [];
      recs = [];
    }
    const pos = ks.indexOf(k);
    if (pos >= 0) recs[pos]!.push(addresses[j]!.recordId);
    else {
      ks.push(k);
      recs.push([addresses[j]!.recordId]);
    }
  }
  for (const l of recs) if (l.length > 1) l.sort(cmp);
  return { ks, recs };
}

/** Every address a person's current records hold, clustered to tolerate typos and blanks: each person's clusters and the record ids behind each, and who lives where now. */
function addressClusters(
  people: FamilyPerson[],
  given?: ReadonlyMap<string, string>,
): {
  canonical: ReadonlyMap<string, string>;
  clusterKeys: string[];
  personAddr: number[][];
  personRecs: string[][][];
  residents: number[][];
} {
  const n = people.length;
  const { addrStart, rawOfAddress, rawKeyList, rawCount } = rawAddressIds(people);
  const { canonical, clusterKeys, clusterOfRaw } = clustersOfRawKeys(rawKeyList, rawCount, given);
  // per person: the address clusters their records hold, and the (sorted) record ids behind each
  const personAddr: number[][] = new Array<number[]>(n);
  const personRecs: string[][][] = new Array<string[][]>(n);
  const residents: number[][] = new Array<number[]>(clusterKeys.length); // cluster -> persons living there, ascending
  for (let i = 0; i < n; i++) {
    const { ks, recs } = clustersOfPerson(people[i]!.addresses, addrStart[i]!, rawOfAddress, clusterOfRaw);
    personAddr[i] = ks;
    personRecs[i] = recs;
    let most = 0;
    for (const l of recs) if (l.length > most) most = l.length;
    // where the person lives now: the address most of their records agree on (all of them on a tie). A stale address
    // one source still holds is evidence for a relationship, but makes no co-residence (someone else may live there now).
    for (let x = 0; x < ks.length; x++) {
      if (recs[x]!.length < most) continue;
      const k = ks[x]!;
      const list = residents[k];
      if (list) list.push(i);
      else residents[k] = [i];
    }
  }
  return { canonical, clusterKeys, personAddr, personRecs, residents };
}

/** The explicit relationships active at the as-at date between known persons (by relationship id), their ends, and their components (groupings joined). */
function activeRelationships(
  relationships: FamilyRelationship[],
  indexOf: Map<string, number>,
  n: number,
  asAt: string,
  cfg: FamiliesConfig,
): {
  rels: FamilyRelationship[];
  relFrom: Int32Array;
  relTo: Int32Array;
  relUf: UnionFind;
  groups: Map<string, number[]>;
} {
  const types = new Set<string>(cfg.relationshipTypes);
  const kept: Array<{ r: FamilyRelationship; from: number; to: number }> = [];
  for (const r of relationships) {
    if (!activeAt(r, asAt) || !types.has(r.relationship) || r.fromPersonId === r.toPersonId) continue;
    const from = indexOf.get(r.fromPersonId);
    const to = from === undefined ? undefined : indexOf.get(r.toPersonId);
    if (from !== undefined && to !== undefined) kept.push({ r, from, to });
  }
  kept.sort((a, b) => cmp(a.r.relationshipId, b.r.relationshipId));
  const rels = kept.map((k) => k.r);
  const relFrom = Int32Array.from(kept, (k) => k.from);
  const relTo = Int32Array.from(kept, (k) => k.to);
  const relUf = new UnionFind(n); // relationship components, for the unrelated-adults guard
  for (let x = 0; x < rels.length; x++) relUf.union(relFrom[x]!, relTo[x]!);
  const groups = new Map<string, number[]>(); // `${source}:${groupRef}` -> relationship positions
  for (let x = 0; x < rels.length; x++) {
    const r = rels[x]!;
    if (!r.groupRef) continue;
    pushTo(groups, `${r.source}:${r.groupRef}`, x);
  }
  for (const g of groups.values()) for (const x of g) relUf.union(relFrom[g[0]!]!, relFrom[x]!);
  return { rels, relFrom, relTo, relUf, groups };
}

/** Each address cluster's communal kind (index into COMMUNAL_KINDS: configured, keyword, over the household cap, unrelated adults) and how many of each. */
function communalKinds(
  cfg: FamiliesConfig,
  canonical: ReadonlyMap<string, string>,
  clusterKeys: string[],
  residents: number[][],
  child: Uint8Array,
  relUf: UnionFind,
): { communal: Uint8Array; communalCounts: number[] } {
  const A = clusterKeys.length;
  const configured = new Set(
    cfg.communalAddresses.map((c) => {
      const raw = rawAddressKey({ postcode: c.postcode, addressLine1: c.addressLine1 ?? null })!;
      return c.addressLine1 ? (canonical.get(raw) ?? raw) : `${norm(c.postcode)}|*`;
    }),
  );
  const keywords = cfg.communalKeywords.map((w) => ` ${w.toUpperCase()} `);
  const communal = new Uint8Array(A); // index into COMMUNAL_KINDS
  const communalCounts = [0, 0, 0, 0, 0];
  for (let k = 0; k < A; k++) {
    const set = residents[k];
    if (!set) continue;
    const key = clusterKeys[k]!;
    const [pc, line] = key.split('|') as [string, string];
    let kind = 0;
    if (configured.has(key) || (pc && configured.has(`${pc}|*`))) kind = 1;
    else if (keywords.some((w) => ` ${line} `.includes(w))) kind = 2;
    else if (set.length > cfg.householdSizeCap) kind = 3;
    else {
      const adultGroups = new Set<number>();
      for (const i of set) if (child[i] === 0) adultGroups.add(relUf.find(i));
      if (adultGroups.size > cfg.maxUnrelatedAdultGroups) kind = 4;
    }
    communal[k] = kind;
    communalCounts[kind]! += 1;
  }
  return { communal, communalCounts };
}

/** What the join reads: the persons, their addresses and anchors, and the active relationships. */
interface JoinInput {
  n: number;
  ids: string[];
  anchor: Uint8Array;
  A: number;
  residents: number[][];
  communal: Uint8Array;
  rels: FamilyRelationship[];
  relFrom: Int32Array;
  relTo: Int32Array;
  groups: Map<string, number[]>;
  sharesAddress: (a: number, b: number) => boolean;
  recordsAt: (i: number, k: number) => string[];
}

/**
 * The join: relationships between co-located persons, groupings among members who live together, then co-residence
 * with an anchor at an address that is not communal; each join is a member's evidence. `apart`: relationships whose
 * ends live apart (positions in rels).
 */
function joinPersons({
  n,
  ids,
  anchor,
  A,
  residents,
  communal,
  rels,
  relFrom,
  relTo,
  groups,
  sharesAddress,
  recordsAt,
}: JoinInput): { uf: UnionFind; evidence: Array<MembershipEvidence[] | undefined>; apart: number[] } {
  const uf = new UnionFind(n);
  const evidence: Array<MembershipEvidence[] | undefined> = new Array<MembershipEvidence[] | undefined>(n); // person -> evidence (primary)
  const addEv = (i: number, e: MembershipEvidence) => {
    const l = evidence[i];
    if (l) l.push(e);
    else evidence[i] = [e];
  };
  const apart: number[] = [];
  for (let x = 0; x < rels.length; x++) {
    const r = rels[x]!;
    const from = relFrom[x]!;
    const to = relTo[x]!;
    if (sharesAddress(from, to)) {
      uf.union(from, to);
      const e: MembershipEvidence = {
        kind: 'relationship',
        relationshipId: r.relationshipId,
        relationship: r.relationship,
        fromPersonId: r.fromPersonId,
        toPersonId: r.toPersonId,
        source: r.source,
        feed: r.feed,
        recordRef: r.recordRef,
      };
      addEv(from, e);
      addEv(to, e);
    } else apart.push(x);
  }
  for (const [g, list] of [...groups.entries()].sort((a, b) => cmp(a[0], b[0]))) {
    const memberSet = new Set<number>();
    for (const x of list) memberSet.add(relFrom[x]!).add(relTo[x]!);
    const members = [...memberSet].sort((a, b) => a - b);
    // a grouping joins only members who live together (or whose address is unknown)
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++)
        if (sharesAddress(members[i]!, members[j]!)) uf.union(members[i]!, members[j]!);
    }
    const first = rels[list[0]!]!;
    const e: MembershipEvidence = {
      kind: 'group',
      source: first.source,
      groupRef: g.slice(first.source.length + 1),
      relationshipIds: list.map((x) => rels[x]!.relationshipId).sort(cmp),
    };
    for (const m of members) addEv(m, e);
  }
  for (let k = 0; k < A; k++) {
    const here = residents[k];
    if (!here || communal[k] !== 0) continue;
    const anchors = here.filter((i) => anchor[i] === 1);
    if (anchors.length === 0) continue;
    for (const i of here) {
      uf.union(anchors[0]!, i);
      const others: string[] = [];
      for (const x of anchor[i] === 1 ? here : anchors) if (x !== i) others.push(ids[x]!);
      if (others.length > 0) addEv(i, { kind: 'co_residence', withPersonIds: others, recordIds: recordsAt(i, k) });
    }
  }
  return { uf, evidence, apart };
}

/** The join's components, numbered in order of their smallest person: each person's component and each component's persons (ascending). */
function componentsOf(uf: UnionFind, n: number): { compOf: Int32Array; comps: number[][] } {
  const compOfRoot = new Int32Array(n).fill(-1);
  const compOf = new Int32Array(n);
  const comps: number[][] = [];
  for (let i = 0; i < n; i++) {
    const root = uf.find(i);
    let c = compOfRoot[root]!;
    if (c < 0) {
      c = comps.length;
      compOfRoot[root] = c;
      comps.push([]);
    }
    compOf[i] = c;
    comps[c]!.push(i);
  }
  return { compOf, comps };
}

type Rels = ReturnType<typeof activeRelationships>;
type Clusters = ReturnType<typeof addressClusters>;
type Ages = ReturnType<typeof agesOf>;

/** A person's role in their family: an explicit parent-type relationship to a child in the family decides it. */
function roleFinder(
  { rels, relFrom, relTo }: Pick<Rels, 'rels' | 'relFrom' | 'relTo'>,
  compOf: Int32Array,
  people: FamilyPerson[],
  child: Ages['child'],
  cfg: FamiliesConfig,
): (i: number) => FamilyRole {
  // parent-type relationships from each person (positions in rels)
  const parentRelsFrom: Array<number[] | undefined> = new Array<number[] | undefined>(people.length);
  for (let x = 0; x < rels.length; x++) {
    if (!PARENT_LIKE_RELATIONSHIPS.has(rels[x]!.relationship)) continue;
    const l = parentRelsFrom[relFrom[x]!];
    if (l) l.push(x);
    else parentRelsFrom[relFrom[x]!] = [x];
  }
  const order: FamilyRole[] = ['parent', 'step_parent', 'carer', 'grandparent'];
  return (i: number): FamilyRole => {
    const out = parentRelsFrom[i];
    if (out) {
      const mapped: FamilyRole[] = [];
      for (const x of out) {
        if (compOf[relTo[x]!] !== compOf[i]) continue;
        const rel = rels[x]!.relationship;
        mapped.push((rel === 'mother' || rel === 'father' ? 'parent' : rel) as FamilyRole);
      }
      for (const o of order) if (mapped.includes(o)) return o;
    }
    if (people[i]!.expectant && cfg.expectantMothersAnchor) return 'expectant_mother';
    return child[i] === 1 ? 'child' : 'adult';
  };
}

/**
 * The household address of a family's members: the cluster most held among anchors' records, then members' (the
 * smaller cluster on a tie; -1: none), and how many clusters they hold. `tally` is all zero before and after.
 */
function householdAddress(
  members: number[],
  { personAddr, personRecs }: Pick<Clusters, 'personAddr' | 'personRecs'>,
  anchor: Ages['anchor'],
  tally: Float64Array,
  touched: number[],
): { best: number; keysHeld: number } {
  touched.length = 0;
  for (const i of members) {
    const ks = personAddr[i]!;
    const recs = personRecs[i]!;
    const w = anchor[i] === 1 ? 100 : 1;
    for (let x = 0; x < ks.length; x++) {
      const k = ks[x]!;
      if (tally[k] === 0) touched.push(k);
      tally[k]! += recs[x]!.length * w;
    }
  }
  let best = -1;
  for (const k of touched) if (best < 0 || tally[k]! > tally[best]! || (tally[k] === tally[best] && k < best)) best = k;
  for (const k of touched) tally[k] = 0;
  return { best, keysHeld: touched.length };
}

interface FamilyParts {
  ids: string[];
  ages: Ages;
  clusters: Clusters;
  communal: Uint8Array | number[];
  evidence: Array<MembershipEvidence[] | undefined>;
  roleIn: (i: number) => FamilyRole;
}

/** Components holding an anchor are families (in component order), each member primary there; `familyOf`: person -> family index (-1: none). */
function primaryFamilies(
  comps: number[][],
  { ids, ages, clusters, communal, evidence, roleIn }: FamilyParts,
): { families: Family[]; familyOf: Int32Array; flaggedAddresses: number; primaryPersons: number } {
  const { anchor, child, bands } = ages;
  const familyOf = new Int32Array(ids.length).fill(-1);
  const families: Family[] = [];
  const tally = new Float64Array(clusters.clusterKeys.length);
  const touched: number[] = [];
  let flaggedAddresses = 0;
  let primaryPersons = 0;
  for (const members of comps) {
    const firstAnchor = members.find((i) => anchor[i] === 1) ?? -1;
    if (firstAnchor < 0) continue;
    const familyId = familyIdOf(ids[firstAnchor]!);
    const { best, keysHeld } = householdAddress(members, clusters, anchor, tally, touched);
    const flags: string[] = [];
    if (best < 0) flags.push('address_unknown');
    if (best >= 0 && communal[best] !== 0) {
      flags.push(`communal_address:${COMMUNAL_KINDS[communal[best]!]}`);
      flaggedAddresses += 1;
    }
    if (keysHeld > 1) flags.push('members_at_several_addresses');
    const familyIndex = families.length;
    const fam: Family = {
      familyId,
      postcode: best >= 0 ? clusters.clusterKeys[best]!.split('|')[0]! || null : null,
      flags,
      members: members.map((i) => {
        // a person is primary in one family only: their evidence list is theirs to keep
        const ev = evidence[i] ?? [];
        if (ev.length === 0) ev.push({ kind: 'resident', recordIds: clusters.personRecs[i]!.flat().sort(cmp) });
        familyOf[i] = familyIndex;
        return {
          familyId,
          personId: ids[i]!,
          role: roleIn(i),
          membership: 'primary' as const,
          ageBand: bands[i]!,
          isChild: child[i] === 1,
          evidence: ev,
        };
      }),
    };
    primaryPersons += members.length;
    families.push(fam);
  }
  return { families, familyOf, flaggedAddresses, primaryPersons };
}

/** Related persons living apart (parent-type and sibling relationships): also_in memberships, keyed `${familyId}|${personId}`, never merged. */
function alsoInMemberships(
  apart: number[],
  { rels, relFrom, relTo }: Pick<Rels, 'rels' | 'relFrom' | 'relTo'>,
  { ids, ages }: Pick<FamilyParts, 'ids' | 'ages'>,
  families: Family[],
  familyOf: Int32Array,
): Map<string, { m: FamilyMembership; familyIndex: number }> {
  const { child, bands } = ages;
  const alsoIn = new Map<string, { m: FamilyMembership; familyIndex: number }>();
  for (const x of apart) {
    const r = rels[x]!;
    if (!PARENT_LIKE_RELATIONSHIPS.has(r.relationship) && r.relationship !== 'sibling') continue;
    const e: MembershipEvidence = {
      kind: 'relationship',
      relationshipId: r.relationshipId,
      relationship: r.relationship,
      fromPersonId: r.fromPersonId,
      toPersonId: r.toPersonId,
      source: r.source,
      feed: r.feed,
      recordRef: r.recordRef,
    };
    const link = (person: number, familyIndex: number, role: FamilyRole) => {
      if (familyIndex < 0 || familyOf[person] === familyIndex) return;
      const familyId = families[familyIndex]!.familyId;
      const key = `${familyId}|${ids[person]!}`;
      const had = alsoIn.get(key);
      if (had) {
        if (!had.m.evidence.some((y) => y.kind === 'relationship' && y.relationshipId === r.relationshipId))
          had.m.evidence.push(e);
        return;
      }
      const m: FamilyMembership = {
        familyId,
        personId: ids[person]!,
        role,
        membership: 'also_in',
        ageBand: bands[person]!,
        isChild: child[person] === 1,
        evidence: [e],
      };
      alsoIn.set(key, { m, familyIndex });
    };
    const from = relFrom[x]!;
    const to = relTo[x]!;
    if (r.relationship === 'sibling') {
      link(from, familyOf[to]!, child[from] === 1 ? 'child' : 'adult');
      link(to, familyOf[from]!, child[to] === 1 ? 'child' : 'adult');
    } else {
      const parentRole: FamilyRole =
        r.relationship === 'mother' || r.relationship === 'father' ? 'parent' : (r.relationship as FamilyRole);
      link(from, familyOf[to]!, parentRole); // the parent, in the child's family
      link(to, familyOf[from]!, child[to] === 1 ? 'child' : 'adult'); // the child, in the parent's household (shared care)
    }
  }
  return alsoIn;
}

/** Each family's also_in members (by person id) before its primary members (already by person id): 'also_in' < 'primary'; flags sorted. */
function attachAlsoIn(families: Family[], alsoIn: Map<string, { m: FamilyMembership; familyIndex: number }>): void {
  const elsewhere: Array<FamilyMembership[] | undefined> = new Array<FamilyMembership[] | undefined>(families.length);
  const sorted = [...alsoIn.values()].sort(
    (a, b) => cmp(a.m.familyId, b.m.familyId) || cmp(a.m.personId, b.m.personId),
  );
  for (const { m, familyIndex } of sorted) {
    m.evidence.sort((a, b) => cmp(JSON.stringify(a), JSON.stringify(b)));
    const l = elsewhere[familyIndex];
    if (l) l.push(m);
    else elsewhere[familyIndex] = [m];
  }
  for (let f = 0; f < families.length; f++) {
    const fam = families[f]!;
    const l = elsewhere[f];
    if (l) {
      fam.members = l.concat(fam.members);
      fam.flags.push('has_members_living_elsewhere');
    }
    fam.flags.sort(cmp);
  }
}

/** What buildFamilies' join can ever connect, and the whole population's address clusters (familyComponents). */
export interface FamilyComponents {
  /** The persons in person id order (each id once, as buildFamilies takes them). */
  people: FamilyPerson[];
  /** Each person's component (index into people), components numbered in order of their smallest person. */
  componentOf: Int32Array;
  /** Persons in each component. */
  sizes: number[];
  /** Components holding an anchor (a child, or an expectant mother when configured): at most one family each is a lower bound. */
  withAnchor: number;
  /** The whole population's address clusters: raw address key (rawAddressKey) -> cluster key. */
  canonical: ReadonlyMap<string, string>;
}

/**
 * The connected components of the person graph family formation reads: a person is joined to every address cluster
 * any of their records holds, to both ends of every relationship active at the as-at date of a configured type, and
 * to every other member of the same grouping. Nothing buildFamilies does crosses a component (the join, the communal
 * guards, roles, households and also_in memberships all follow these edges), so buildFamilies over any union of
 * components, given the whole population's address clusters, gives exactly those components' families.
 */
export function familyComponents(
  persons: FamilyPerson[],
  relationships: FamilyRelationship[],
  asAt: string,
  cfg: FamiliesConfig,
): FamilyComponents {
  const { ids, people } = personsById(persons);
  const n = ids.length;
  const { addrStart, rawOfAddress, rawKeyList, rawCount } = rawAddressIds(people);
  const addrPerson = new Int32Array(rawOfAddress.length);
  for (let i = 0; i < n; i++) addrPerson.fill(i, addrStart[i]!, addrStart[i + 1]!);
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set(ids[i]!, i);
  const { relFrom, relTo, groups } = activeRelationships(relationships, indexOf, n, asAt, cfg);
  const relGroup = new Int32Array(relFrom.length).fill(-1);
  let g = 0;
  for (const list of groups.values()) {
    for (const x of list) relGroup[x] = g;
    g += 1;
  }
  const { anchor } = agesOf(people, asAt, cfg);
  const graph = {
    n,
    anchor,
    rawKeys: rawKeyList,
    rawCount,
    addrPerson,
    addrRaw: rawOfAddress,
    relFrom,
    relTo,
    relGroup,
  };
  return { people, ...personGraphComponents(graph) };
}

/**
 * The person graph in numbers (persons 0..n-1 in person id order), what familyComponents reads: each person's
 * addresses as raw key ids (`addrPerson[x]` holds `rawKeys[addrRaw[x]]`, -1: a blank address), the used
 * relationships' ends and groupings (`relGroup`: a grouping's number, -1: none), who anchors a family.
 */
export interface PersonGraph {
  n: number;
  anchor: Uint8Array;
  rawKeys: readonly string[];
  /** How many addresses hold each raw key (the clusters' representatives are the most held). */
  rawCount: readonly number[];
  addrPerson: Int32Array;
  addrRaw: Int32Array;
  relFrom: Int32Array;
  relTo: Int32Array;
  relGroup: Int32Array;
}

/**
 * The components of the person graph (familyComponents without the persons): typed arrays over person numbers, the
 * one map the address clusters. The families plan builds the graph straight from its tables (DuckDB joins), so no
 * person's records are held as objects for the whole population.
 */
export function personGraphComponents(graph: PersonGraph): Omit<FamilyComponents, 'people'> {
  const { n, anchor, rawKeys, rawCount, addrPerson, addrRaw, relFrom, relTo, relGroup } = graph;
  const canonical = clusterCounted(new Map(rawKeys.map((k, r) => [k, rawCount[r]!])));
  // clusters numbered in order of first sight (their numbers do not change the components or their order)
  const clusterIndex = new Map<string, number>();
  const clusterOfRaw = new Int32Array(rawKeys.length);
  for (let r = 0; r < rawKeys.length; r++) {
    const c = canonical.get(rawKeys[r]!);
    if (c === undefined) {
      clusterOfRaw[r] = -1;
      continue;
    }
    let k = clusterIndex.get(c);
    if (k === undefined) {
      k = clusterIndex.size;
      clusterIndex.set(c, k);
    }
    clusterOfRaw[r] = k;
  }
  const A = clusterIndex.size;
  const uf = new UnionFind(n + A); // persons, then address clusters
  for (let x = 0; x < addrPerson.length; x++) {
    const r = addrRaw[x]!;
    const k = r < 0 ? -1 : clusterOfRaw[r]!;
    if (k >= 0) uf.union(addrPerson[x]!, n + k);
  }
  const firstOfGroup = new Map<number, number>();
  for (let x = 0; x < relFrom.length; x++) {
    uf.union(relFrom[x]!, relTo[x]!);
    const g = relGroup[x]!;
    if (g < 0) continue;
    const first = firstOfGroup.get(g);
    if (first === undefined) firstOfGroup.set(g, relFrom[x]!);
    else uf.union(first, relFrom[x]!);
  }
  const compOfRoot = new Int32Array(n + A).fill(-1);
  const componentOf = new Int32Array(n);
  const sizes: number[] = [];
  const anchored: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const root = uf.find(i);
    let c = compOfRoot[root]!;
    if (c < 0) {
      c = sizes.length;
      compOfRoot[root] = c;
      sizes.push(0);
      anchored.push(false);
    }
    componentOf[i] = c;
    sizes[c]! += 1;
    if (anchor[i] === 1) anchored[c] = true;
  }
  return { componentOf, sizes, withAnchor: anchored.filter(Boolean).length, canonical };
}

/**
 * Family units at the as-at date, in its steps: persons and ages, address clusters, active relationships, communal
 * addresses, the join (joinPersons), its components, the primary families, the also_in memberships; by family id.
 */
export function buildFamilies(
  persons: FamilyPerson[],
  relationships: FamilyRelationship[],
  asAt: string,
  cfg: FamiliesConfig,
  addressClustersOf?: ReadonlyMap<string, string>,
): FamilyBuildResult {
  const { ids, people } = personsById(persons);
  const n = ids.length;
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set(ids[i]!, i);
  const ages = agesOf(people, asAt, cfg);
  const clusters = addressClusters(people, addressClustersOf);
  const { clusterKeys, personAddr, personRecs, residents, canonical } = clusters;
  const recordsAt = (i: number, k: number): string[] => personRecs[i]![personAddr[i]!.indexOf(k)]!;
  const sharesAddress = (a: number, b: number): boolean => {
    const ka = personAddr[a]!;
    const kb = personAddr[b]!;
    if (ka.length === 0 || kb.length === 0) return true; // no known address: the relationship decides
    for (const k of ka) if (kb.includes(k)) return true;
    return false;
  };
  const active = activeRelationships(relationships, indexOf, n, asAt, cfg);
  const { rels, relFrom, relTo, relUf, groups } = active;
  const { communal, communalCounts } = communalKinds(cfg, canonical, clusterKeys, residents, ages.child, relUf);
  const join = { n, ids, anchor: ages.anchor, A: clusterKeys.length, residents, communal };
  const { uf, evidence, apart } = joinPersons({ ...join, rels, relFrom, relTo, groups, sharesAddress, recordsAt });
  const { compOf, comps } = componentsOf(uf, n);
  const roleIn = roleFinder(active, compOf, people, ages.child, cfg);
  const parts: FamilyParts = { ids, ages, clusters, communal, evidence, roleIn };
  const { families, familyOf, flaggedAddresses, primaryPersons } = primaryFamilies(comps, parts);
  const alsoIn = alsoInMemberships(apart, active, parts, families, familyOf);
  attachAlsoIn(families, alsoIn);
  families.sort((a, b) => cmp(a.familyId, b.familyId));
  return buildResult(
    families,
    { n, primaryPersons, alsoIn: alsoIn.size, rels: rels.length, apart: apart.length },
    {
      communalCounts,
      flaggedAddresses,
    },
  );
}

/** The result and its counts. */
function buildResult(
  families: Family[],
  c: { n: number; primaryPersons: number; alsoIn: number; rels: number; apart: number },
  { communalCounts, flaggedAddresses }: { communalCounts: ArrayLike<number>; flaggedAddresses: number },
): FamilyBuildResult {
  const communalTotal = communalCounts[1]! + communalCounts[2]! + communalCounts[3]! + communalCounts[4]!;
  return {
    families,
    personsWithoutFamily: c.n - c.primaryPersons,
    communalAddresses: {
      configured: communalCounts[1]!,
      keyword: communalCounts[2]!,
      overCap: communalCounts[3]!,
      unrelatedAdults: communalCounts[4]!,
    },
    counts: {
      persons: c.n,
      families: families.length,
      persons_in_families: c.primaryPersons,
      persons_without_family: c.n - c.primaryPersons,
      also_in_memberships: c.alsoIn,
      relationships_used: c.rels,
      relationships_across_households: c.apart,
      communal_addresses: communalTotal,
      families_at_communal_addresses: flaggedAddresses,
    },
  };
}

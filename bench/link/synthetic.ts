/**
 * A seeded synthetic person-linkage set for the speed benchmark: households of people (shared
 * surname, address and postcode, some twins), each person with 1-5 records carrying realistic
 * errors (typos, nicknames, married surnames, transposed day/month, moves, missing values), in
 * shuffled order, with the ground-truth person in `cluster`.
 *
 * Columns: unique_id, given_name, surname, date_of_birth (YYYY-MM-DD), sex, postcode, address_1,
 * nhs_number, cluster. Upper case throughout (both tools then see the same casing).
 *
 *   npx tsx bench/link/synthetic.ts --records 1000000 --seed 1 --out bench/.data/synthetic.csv
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { mulberry32 } from '../../matching/random.ts';
import {
  COMMON_SURNAMES,
  FEMALE_FORENAMES,
  MALE_FORENAMES,
  NICKNAMES,
  POSTCODE_AREAS,
  STREET_ABBREVIATIONS,
  STREET_TYPES,
  STREET_WORDS,
  SURNAME_HEADS,
  SURNAME_TAILS,
} from './synthetic-names.ts';

export const SYNTHETIC_COLUMNS = [
  'unique_id',
  'given_name',
  'surname',
  'date_of_birth',
  'sex',
  'postcode',
  'address_1',
  'nhs_number',
  'cluster',
] as const;

/** The project's seeded PRNG (mulberry32): same seed, same data set. */
export const prng = mulberry32;

/** Sampling from a fixed weighted vocabulary by binary search over the cumulative weights. */
class Weighted<T> {
  private readonly cumulative: Float64Array;
  constructor(
    private readonly items: readonly T[],
    weights: readonly number[],
  ) {
    this.cumulative = new Float64Array(items.length);
    let total = 0;
    for (let i = 0; i < items.length; i++) {
      total += weights[i] as number;
      this.cumulative[i] = total;
    }
    for (let i = 0; i < items.length; i++) this.cumulative[i] = (this.cumulative[i] as number) / total;
  }
  pick(random: () => number): T {
    const r = random();
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    return this.items[lo] as T;
  }
}

/** Rank-shaped weights 1/(rank + offset): common names common, without a single name dominating. */
function rankWeights(n: number, offset: number): number[] {
  return Array.from({ length: n }, (_, r) => 1 / (r + 1 + offset));
}

interface Person {
  id: number;
  givenName: string;
  surname: string;
  dob: string; // YYYY-MM-DD
  sex: 'M' | 'F';
  postcode: string;
  address: string;
  nhs: string;
  adultFemale: boolean;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const UNIT_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

export interface SyntheticOptions {
  records: number;
  seed: number;
}

export class SyntheticLinkageSet {
  private readonly random: () => number;
  private readonly forenameM: Weighted<string>;
  private readonly forenameF: Weighted<string>;
  private readonly surnames: Weighted<string>;
  private readonly areas: Weighted<string>;
  private readonly postcodes: string[] = [];
  private readonly streets: string[] = [];

  constructor(private readonly options: SyntheticOptions) {
    this.random = prng(options.seed);
    this.forenameM = new Weighted(MALE_FORENAMES, rankWeights(MALE_FORENAMES.length, 8));
    this.forenameF = new Weighted(FEMALE_FORENAMES, rankWeights(FEMALE_FORENAMES.length, 8));
    // Common surnames carry about a third of people; the rest spread over a long tail of rarer ones.
    const tail: string[] = [];
    for (const head of SURNAME_HEADS) for (const end of SURNAME_TAILS) tail.push(head + end);
    const common = rankWeights(COMMON_SURNAMES.length, 4);
    const commonTotal = common.reduce((a, b) => a + b, 0);
    const tailWeight = (commonTotal * 2) / tail.length;
    this.surnames = new Weighted([...COMMON_SURNAMES, ...tail], [...common, ...tail.map(() => tailWeight)]);
    this.areas = new Weighted(POSTCODE_AREAS, rankWeights(POSTCODE_AREAS.length, 10));
    // One postcode unit per ~8 households, each on one street: about the density of a real city.
    const units = Math.max(1000, Math.round(options.records / 16));
    const seen = new Set<string>();
    while (this.postcodes.length < units) {
      const pc = this.makePostcode();
      if (seen.has(pc)) continue;
      seen.add(pc);
      this.postcodes.push(pc);
      this.streets.push(`${this.choose(STREET_WORDS)} ${this.choose(STREET_TYPES)}`);
    }
  }

  private choose<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  private makePostcode(): string {
    const area = this.areas.pick(this.random);
    const district = this.int(1, 30);
    const sector = this.int(0, 9);
    return `${area}${district} ${sector}${this.choose(UNIT_LETTERS.split(''))}${this.choose(UNIT_LETTERS.split(''))}`;
  }

  private dob(fromYear: number, toYear: number): string {
    const y = this.int(fromYear, toYear);
    const m = this.int(1, 12);
    const days = [31, y % 4 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] as number;
    const d = this.int(1, days);
    return `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  }

  /** One keyboard-style error: substitute, delete, insert or transpose a character. */
  private typo(value: string): string {
    if (value.length < 2) return value + this.choose(LETTERS.split(''));
    const i = this.int(0, value.length - 1);
    switch (this.int(0, 3)) {
      case 0:
        return value.slice(0, i) + this.choose(LETTERS.split('')) + value.slice(i + 1);
      case 1:
        return value.slice(0, i) + value.slice(i + 1);
      case 2:
        return value.slice(0, i) + this.choose(LETTERS.split('')) + value.slice(i);
      default: {
        const j = Math.min(i + 1, value.length - 1);
        if (j === i) return value.slice(0, i - 1) + value[i] + value[i - 1];
        return value.slice(0, i) + value[j] + value[i] + value.slice(j + 1);
      }
    }
  }

  private digitTypo(value: string): string {
    const positions: number[] = [];
    for (let i = 0; i < value.length; i++) if (value[i] !== '-') positions.push(i);
    const i = this.choose(positions);
    const digit = String((Number(value[i]) + this.int(1, 9)) % 10);
    return value.slice(0, i) + digit + value.slice(i + 1);
  }

  private *households(): Generator<Person[]> {
    let personId = 0;
    for (;;) {
      const unit = this.int(0, this.postcodes.length - 1);
      const postcode = this.postcodes[unit] as string;
      const address = `${this.int(1, 240)} ${this.streets[unit]}`;
      const surname = this.surnames.pick(this.random);
      const adults = this.chance(0.55) ? 2 : 1;
      const children = this.choose([0, 0, 0, 1, 1, 2, 2, 3, 4]);
      const members: Person[] = [];
      const nhs = () => String(1_000_000_000 + ((personId * 2_654_435_761) % 9_000_000_000));
      for (let a = 0; a < adults; a++) {
        const sex: 'M' | 'F' = adults === 2 ? (a === 0 ? 'F' : 'M') : this.chance(0.6) ? 'F' : 'M';
        const person: Person = {
          id: personId,
          givenName: (sex === 'M' ? this.forenameM : this.forenameF).pick(this.random),
          surname,
          dob: this.dob(1950, 2002),
          sex,
          postcode,
          address,
          nhs: nhs(),
          adultFemale: sex === 'F',
        };
        personId += 1;
        members.push(person);
      }
      const twins = children >= 2 && this.chance(0.04);
      let previousDob = '';
      for (let c = 0; c < children; c++) {
        const sex: 'M' | 'F' = this.chance(0.5) ? 'F' : 'M';
        const dob = twins && c === 1 ? previousDob : this.dob(2004, 2025);
        previousDob = dob;
        members.push({
          id: personId,
          givenName: (sex === 'M' ? this.forenameM : this.forenameF).pick(this.random),
          surname,
          dob,
          sex,
          postcode,
          address,
          nhs: nhs(),
          adultFemale: false,
        });
        personId += 1;
      }
      yield members;
    }
  }

  /** A record of `p` as one agency holds it: the first is clean-ish, later ones carry errors. */
  private record(p: Person, copy: number): string[] {
    let given: string = p.givenName;
    let surname: string = p.surname;
    let dob: string = p.dob;
    let sex: string = p.sex;
    let postcode: string = p.postcode;
    let address: string = p.address;
    let nhs: string = this.chance(0.7) ? p.nhs : '';
    if (copy > 0) {
      const nick = NICKNAMES[given];
      if (nick && this.chance(0.15)) given = this.choose(nick);
      else if (this.chance(0.07)) given = this.typo(given);
      if (this.chance(0.02)) given = '';
      if (p.adultFemale && this.chance(0.08)) surname = this.surnames.pick(this.random);
      else if (this.chance(0.06)) surname = this.typo(surname);
      if (this.chance(0.01)) surname = '';
      const r = this.random();
      if (r < 0.03) dob = this.digitTypo(dob);
      else if (r < 0.045 && Number(dob.slice(8, 10)) <= 12)
        dob = `${dob.slice(0, 5)}${dob.slice(8, 10)}-${dob.slice(5, 7)}`;
      else if (r < 0.055) dob = `${Number(dob.slice(0, 4)) + (this.chance(0.5) ? 1 : -1)}${dob.slice(4)}`;
      else if (r < 0.065) dob = '';
      if (this.chance(0.01)) sex = '';
      if (this.chance(0.12)) {
        const unit = this.int(0, this.postcodes.length - 1);
        postcode = this.postcodes[unit] as string;
        address = `${this.int(1, 240)} ${this.streets[unit]}`;
      } else {
        if (this.chance(0.03)) postcode = postcode.slice(0, -1) + this.choose(UNIT_LETTERS.split(''));
        if (this.chance(0.06)) {
          const type = address.slice(address.lastIndexOf(' ') + 1);
          const abbreviation = STREET_ABBREVIATIONS[type];
          address = abbreviation ? address.slice(0, address.lastIndexOf(' ') + 1) + abbreviation : this.typo(address);
        } else if (this.chance(0.05)) address = this.typo(address);
      }
      if (this.chance(0.02)) postcode = '';
      if (this.chance(0.03)) address = '';
      if (nhs !== '' && this.chance(0.005)) nhs = this.digitTypo(nhs);
    }
    return [given, surname, dob, sex, postcode, address, nhs, `P${p.id}`];
  }

  /** Every record (without unique_id), in shuffled order: exactly `options.records` rows. */
  rows(): string[][] {
    const out: string[][] = [];
    const copiesWeights = new Weighted([1, 2, 3, 4, 5], [0.5, 0.25, 0.14, 0.07, 0.04]);
    outer: for (const household of this.households()) {
      for (const person of household) {
        const copies = copiesWeights.pick(this.random);
        for (let c = 0; c < copies; c++) {
          out.push(this.record(person, c));
          if (out.length >= this.options.records) break outer;
        }
      }
    }
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = out[i] as string[];
      out[i] = out[j] as string[];
      out[j] = t;
    }
    return out;
  }
}

function csvField(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Write the set as CSV (header + rows) to `path`, atomically (temp file then rename). */
export async function writeSyntheticCsv(
  path: string,
  options: SyntheticOptions,
): Promise<{ records: number; persons: number }> {
  await mkdir(dirname(path), { recursive: true });
  const rows = new SyntheticLinkageSet(options).rows();
  const tmp = `${path}.tmp-${process.pid}`;
  const stream = createWriteStream(tmp);
  const width = String(rows.length).length;
  let chunk = `${SYNTHETIC_COLUMNS.join(',')}\n`;
  const persons = new Set<string>();
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as string[];
    persons.add(row[7] as string);
    chunk += `R${String(i + 1).padStart(width, '0')},${row.map(csvField).join(',')}\n`;
    if (chunk.length > 1 << 20) {
      if (!stream.write(chunk)) await once(stream, 'drain');
      chunk = '';
    }
  }
  stream.end(chunk);
  await once(stream, 'finish');
  await rename(tmp, path);
  return { records: rows.length, persons: persons.size };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
  };
  const records = Number(arg('records', '1000000'));
  const seed = Number(arg('seed', '1'));
  const out = arg('out', `bench/.data/synthetic-${records}-seed${seed}.csv`);
  const started = performance.now();
  const result = await writeSyntheticCsv(out, { records, seed });
  console.log(
    `${out}: ${result.records} records, ${result.persons} persons, ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

import { describe, expect, it } from 'vitest';
import { identifierIndexFromLines, identifierIndexLines } from '../../pipelines/privacy/identifier-index-file.ts';
import { addPerson, emptyIndex, type SecurePerson } from '../../pipelines/privacy/identifiers.ts';

// A publish plan builds the identifier index once and its shards read it back (issue #12): what they read must be
// the index built, or a shard would miss an identifier the whole scan finds.

const FORENAMES = ['ZEBEDEE', 'MARGOT', 'OTTILIE', 'JAN', 'ANNE MARIE'];
const SURNAMES = ['QUILLFEATHER', 'WARDROBE', 'KOWALSKI', 'DE LA CRUZ', "O'NEILL-SMITH"];

function index() {
  const ix = emptyIndex();
  for (let i = 0; i < 60; i++) {
    const surname = SURNAMES[i % SURNAMES.length]!;
    const p: SecurePerson = {
      recordId: `health:people:H${i}`,
      forename: FORENAMES[i % FORENAMES.length]!,
      middleNames: i % 3 === 0 ? 'ROSE' : null,
      surname,
      surnameParts: surname.split(/[ -]/),
      dateOfBirth: `20${String(10 + (i % 9)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
      postcode: i % 4 === 0 ? null : `M${1 + (i % 30)} ${i % 10}AB`,
      addressLine1: i % 5 === 0 ? null : `${i} ACACIA AVENUE`,
      nhsNumberToken: i % 2 ? `tok-nhs-${i % 17}` : null,
      upnToken: i % 7 === 0 ? `tok-upn-${i}` : null,
    };
    addPerson(ix, p);
  }
  ix.quarantinedRows = 3;
  return ix;
}

describe('the identifier index as a file (publish shards)', () => {
  it('reads back exactly the index written: every map in order, phrases shared with phraseEntries', async () => {
    const ix = index();
    expect(ix.phrases.size).toBeGreaterThan(0);
    expect(ix.postcodes.size).toBeGreaterThan(0);
    const lines = [...identifierIndexLines(ix)];
    const back = await identifierIndexFromLines(lines, 'test.jsonl');
    expect(back).toEqual(ix);
    for (const m of [
      'wholeValues',
      'phrases',
      'phraseEntries',
      'postcodes',
      'tokens',
      'datesOfBirth',
      'surnameDob',
    ] as const)
      expect([...back[m].keys()]).toEqual([...ix[m].keys()]);
    expect([...back.forenameWords]).toEqual([...ix.forenameWords]);
    expect([...back.surnameWords]).toEqual([...ix.surnameWords]);
    for (const list of back.phrases.values())
      for (const p of list) expect(back.phraseEntries.get(`${p.kind}|${p.words.join(' ')}`)).toBe(p);
    // building on after reading (a record id added to a phrase) changes the phrase in both maps, as when built
    const [first] = back.phraseEntries.values();
    first!.recordIds.push('x');
    expect(back.phrases.get(`${first!.words[0]} ${first!.words[1]}`)!.some((p) => p.recordIds.includes('x'))).toBe(
      true,
    );
  });

  it('refuses a file without its head, with a line that is not JSON, or an entry it does not know, naming the line', async () => {
    const lines = [...identifierIndexLines(index())];
    await expect(identifierIndexFromLines([], 'a.jsonl')).rejects.toThrow(/a\.jsonl is empty/);
    await expect(identifierIndexFromLines(lines.slice(1), 'b.jsonl')).rejects.toThrow(/b\.jsonl has no head line/);
    await expect(identifierIndexFromLines([lines[0]!, '{oops'], 'c.jsonl')).rejects.toThrow(
      /c\.jsonl line 2 is not JSON/,
    );
    await expect(identifierIndexFromLines([lines[0]!, '["nope","x"]'], 'd.jsonl')).rejects.toThrow(
      /d\.jsonl line 2: unknown entry "nope"/,
    );
    await expect(identifierIndexFromLines([lines[0]!, lines[0]!], 'e.jsonl')).rejects.toThrow(/line 2: a second head/);
  });
});

import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  hmacToken,
  loadTokenKey,
  nhsCheckDigit,
  normaliseNhsNumber,
  normaliseUpn,
  tokenKeyFrom,
  tokenise,
  upnCheckLetter,
  TOKEN_PATTERN,
} from '../../pipelines/feeds/pseudonymise.ts';
import { parseColumnSpec, tokeniseCsv } from '../../pipelines/cli/commands/tokenise.ts';

describe('NHS number (modulus 11)', () => {
  it('accepts published valid examples and computes their check digit', () => {
    // 943 476 5919 and 401 023 2137 are the NHS's own documentation examples.
    expect(nhsCheckDigit('943476591')).toBe(9);
    expect(nhsCheckDigit('401023213')).toBe(7);
    expect(normaliseNhsNumber('943 476 5919')).toEqual({ ok: true, value: '9434765919' });
    expect(normaliseNhsNumber('401-023-2137')).toEqual({ ok: true, value: '4010232137' });
    expect(normaliseNhsNumber(' 4010232137 ')).toEqual({ ok: true, value: '4010232137' });
  });
  it('rejects a wrong check digit, a number whose check would be 10, bad length and letters', () => {
    expect(normaliseNhsNumber('9434765918')).toEqual({ ok: false, reason: 'bad_check_digit' });
    // 000000006x: sum = 6*2 = 12, 12 mod 11 = 1, 11 - 1 = 10: never issued, whatever the last digit.
    expect(nhsCheckDigit('000000006')).toBeNull();
    for (let d = 0; d <= 9; d++) expect(normaliseNhsNumber(`000000006${d}`).ok).toBe(false);
    // check 11 -> 0
    expect(nhsCheckDigit('000000000')).toBe(0);
    expect(normaliseNhsNumber('943476591')).toEqual({ ok: false, reason: 'bad_length' });
    expect(normaliseNhsNumber('94347659199')).toEqual({ ok: false, reason: 'bad_length' });
    expect(normaliseNhsNumber('94347A5919')).toEqual({ ok: false, reason: 'bad_characters' });
    expect(normaliseNhsNumber('   ')).toEqual({ ok: false, reason: 'blank' });
  });
});

describe('UPN (check letter)', () => {
  it('accepts a known valid UPN and computes its check letter', () => {
    // B801200005001: 8*2+0*3+1*4+2*5+0+0+0+0+5*10+0+0+1*13 = 93; 93 mod 23 = 1 -> B
    expect(upnCheckLetter('801200005001')).toBe('B');
    expect(normaliseUpn('B801200005001')).toEqual({ ok: true, value: 'B801200005001' });
    expect(normaliseUpn(' b8012 0000 5001 ')).toEqual({ ok: true, value: 'B801200005001' });
  });
  it('handles temporary UPNs ending in a letter', () => {
    const body = '80120000500A'; // A counts 0 at position 13
    expect(upnCheckLetter(body)).toBe(upnCheckLetter('801200005000'));
    expect(normaliseUpn(`${upnCheckLetter(body)}${body}`).ok).toBe(true);
  });
  it('rejects a wrong check letter, bad length and characters outside the UPN alphabet', () => {
    expect(normaliseUpn('A801200005001')).toEqual({ ok: false, reason: 'bad_check_letter' });
    expect(normaliseUpn('B80120000500')).toEqual({ ok: false, reason: 'bad_length' });
    expect(normaliseUpn('I801200005001')).toEqual({ ok: false, reason: 'bad_characters' }); // I, O, S are never used
    expect(normaliseUpn('B80120000500S')).toEqual({ ok: false, reason: 'bad_characters' });
  });
});

describe('HMAC-SHA256 tokens', () => {
  it('matches the RFC 4231 test case 2 vector', () => {
    expect(hmacToken(Buffer.from('Jefe'), 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
  it('agrees with node:crypto createHmac for short, block-sized and long keys', () => {
    for (const key of ['0123456789abcdef', 'k'.repeat(64), 'a much longer partnership key '.repeat(5)]) {
      for (const value of ['9434765919', 'B801200005001', '']) {
        expect(hmacToken(Buffer.from(key), value)).toBe(createHmac('sha256', key).update(value).digest('hex'));
      }
    }
  });
  it('tokenises the normalised value, so formatting does not change the token; different keys give different tokens', () => {
    const k1 = tokenKeyFrom('a partnership key of some length', 'test');
    const k2 = tokenKeyFrom('another partnership key entirely', 'test');
    const a = tokenise('nhs_number', k1, '943 476 5919');
    const b = tokenise('nhs_number', k1, '9434765919');
    const c = tokenise('nhs_number', k2, '9434765919');
    expect(a.ok && b.ok && c.ok).toBe(true);
    if (a.ok && b.ok && c.ok) {
      expect(a.token).toBe(b.token);
      expect(a.token).toMatch(TOKEN_PATTERN);
      expect(c.token).not.toBe(a.token);
      expect(a.token).toBe(hmacToken(k1, '9434765919'));
    }
    expect(tokenise('upn', k1, 'A801200005001')).toEqual({ ok: false, reason: 'bad_check_letter' });
  });
  it('loads the key from a file or the environment, refuses short or missing keys without echoing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-'));
    await writeFile(join(dir, 'key'), 'file-key-0123456789abcdef\n');
    expect(loadTokenKey(join(dir, 'key'), {}).toString()).toBe('file-key-0123456789abcdef');
    expect(loadTokenKey(undefined, { LOCALITY_TOKEN_KEY: 'env-key-0123456789abcdef' }).toString()).toBe(
      'env-key-0123456789abcdef',
    );
    expect(() => loadTokenKey(undefined, {})).toThrow(/LOCALITY_TOKEN_KEY/);
    expect(() => loadTokenKey(undefined, { LOCALITY_TOKEN_KEY: 'shortkey' })).toThrow(/too short/);
    try {
      loadTokenKey(undefined, { LOCALITY_TOKEN_KEY: 'shortkey' });
    } catch (e) {
      expect((e as Error).message).not.toContain('shortkey');
    }
    expect(() => loadTokenKey(join(dir, 'missing'), {})).toThrow(/cannot read key file/);
  });
});

describe('tokenise (end to end)', () => {
  it('replaces identifier columns by tokens, rejects invalid rows with line/column/reason, and counts reconcile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    const input = join(dir, 'in.csv');
    // line 1 header; line 3 has a quoted field with an embedded newline, so line numbers are physical lines
    await writeFile(
      input,
      [
        '\uFEFFperson_ref,nhs_number,upn,note',
        'A1,943 476 5919,B801200005001,ok',
        'A2,4010232137,,"two\nlines"',
        'A3,9434765918,B801200005001,bad nhs',
        'A4,,A801200005001,bad upn',
        'A5,,,no ids',
        'A6,4010232137,B801200005001',
      ].join('\r\n') + '\r\n',
    );
    const key = tokenKeyFrom('test-partnership-key-0123456789', 'test');
    const notes: Array<{ line: number; column: string; reason: string }> = [];
    const counts = await tokeniseCsv({
      input,
      output: join(dir, 'out.csv'),
      rejects: join(dir, 'rejects.csv'),
      key,
      columns: [parseColumnSpec('nhs_number=nhs_number_token'), parseColumnSpec('upn=upn_token')],
      onReject: (n) => notes.push(n),
    });
    expect(counts.rowsIn).toBe(6);
    expect(counts.rowsOut + counts.rowsRejected).toBe(counts.rowsIn);
    expect(counts.rowsOut).toBe(3);
    expect(counts.columns.nhs_number).toEqual({ valid: 2, blank: 2, invalid: { bad_check_digit: 1 } });
    expect(counts.columns.upn).toEqual({ valid: 2, blank: 2, invalid: { bad_check_letter: 1 } });
    expect(notes).toEqual([
      { line: 5, column: 'nhs_number', reason: 'bad_check_digit' },
      { line: 6, column: 'upn', reason: 'bad_check_letter' },
      { line: 8, column: '', reason: 'wrong_field_count_3_of_4' },
    ]);
    const out = (await readFile(join(dir, 'out.csv'), 'utf8')).trimEnd().split('\n');
    expect(out[0]).toBe('person_ref,nhs_number_token,upn_token,note');
    expect(out[1]).toBe(`A1,${hmacToken(key, '9434765919')},${hmacToken(key, 'B801200005001')},ok`);
    expect(out.join('\n')).not.toMatch(/9434765919|4010232137|B801200005001/);
    const rejects = await readFile(join(dir, 'rejects.csv'), 'utf8');
    expect(rejects.split('\n')[0]).toBe('line,column,reason,person_ref,nhs_number,upn,note');
    expect(rejects).toContain('5,nhs_number,bad_check_digit,A3,9434765918');
  });
  it('names the file and column when a named column is missing, and the file when it is not UTF-8', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    await writeFile(join(dir, 'in.csv'), 'person_ref,nhs\nA1,9434765919\n');
    await expect(
      tokeniseCsv({
        input: join(dir, 'in.csv'),
        output: join(dir, 'o.csv'),
        rejects: join(dir, 'r.csv'),
        key: tokenKeyFrom('test-partnership-key-0123456789', 't'),
        columns: [parseColumnSpec('nhs_number=nhs_number_token')],
      }),
    ).rejects.toThrow(/in\.csv: no column "nhs_number"/);
    // valid rows for more than one read chunk (64 KiB), then a Latin-1 byte: output has begun when the error comes
    const good = 'A1,943 476 5919\n'.repeat(6000);
    await writeFile(
      join(dir, 'latin1.csv'),
      Buffer.concat([Buffer.from(`person_ref,nhs_number\n${good}`), Buffer.from('A2,caf\xe9\n', 'latin1')]),
    );
    await expect(
      tokeniseCsv({
        input: join(dir, 'latin1.csv'),
        output: join(dir, 'o2.csv'),
        rejects: join(dir, 'r2.csv'),
        key: tokenKeyFrom('test-partnership-key-0123456789', 't'),
        columns: [parseColumnSpec('nhs_number=nhs_number_token')],
      }),
    ).rejects.toThrow(/latin1\.csv: not UTF-8.*line 6002/);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'o2.csv'))).toBe(false); // no half-written output left behind
    expect(existsSync(join(dir, 'r2.csv'))).toBe(false);
    expect(() => parseColumnSpec('pupil=token')).toThrow(/cannot tell/);
    expect(parseColumnSpec('upn:pupil=token')).toEqual({ kind: 'upn', source: 'pupil', target: 'token' });
  });
});

describe('tokenise command (CLI)', () => {
  it('reports bad rows by line and column without echoing any identifier, and exits 2', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = await mkdtemp(join(tmpdir(), 'tok-cli-'));
    await writeFile(join(dir, 'in.csv'), 'person_ref,nhs_number\nA1,943 476 5919\nA2,9434765918\nA3,12345\n');
    await writeFile(join(dir, 'key'), 'cli-test-partnership-key-0123456789\n');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'pipelines/cli/main.ts',
        'tokenise',
        '--in',
        join(dir, 'in.csv'),
        '--out',
        join(dir, 'out.csv'),
        '--column',
        'nhs_number=nhs_number_token',
        '--key-file',
        join(dir, 'key'),
      ],
      { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'debug' } },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('line 3, column nhs_number: bad_check_digit');
    expect(r.stderr).toContain('line 4, column nhs_number: bad_length');
    expect(r.stdout).toContain('3 rows in = 1 written');
    for (const secret of ['9434765918', '12345', '943 476 5919', '9434765919', 'cli-test-partnership-key']) {
      expect(r.stdout + r.stderr).not.toContain(secret);
    }
    expect(await readFile(join(dir, 'out.rejects.csv'), 'utf8')).toContain(
      '3,nhs_number,bad_check_digit,A2,9434765918',
    );
  });
});

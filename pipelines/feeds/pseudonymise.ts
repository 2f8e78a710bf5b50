/**
 * Pseudonymisation of strong identifiers (the contract in DESIGN.md): an NHS number or UPN is
 * normalised, check-digit validated, and replaced by HMAC-SHA256(partnership key, normalised value)
 * as 64 lowercase hex characters. The same function serves the `tokenise` command that providers run
 * and the synthetic generator, so fixtures never hold a raw identifier.
 *
 * Nothing here logs or echoes an identifier value: errors carry a reason code only.
 */
import { createHash, hash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type IdentifierKind = 'nhs_number' | 'upn';

export type InvalidReason =
  | 'blank'
  | 'bad_length' //        wrong number of characters after normalisation
  | 'bad_characters' //    not digits (NHS) / not the UPN character set
  | 'bad_check_digit' //   NHS modulus 11 check digit wrong, or the check would be 10
  | 'bad_check_letter'; // UPN check letter wrong

export type Normalised = { ok: true; value: string } | { ok: false; reason: InvalidReason };

/** Spaces, hyphens and dots that people type inside identifiers. */
const SEPARATORS = /[\s\-.]/g;

// ---- NHS number (modulus 11) ---------------------------------------------------------------

/** The modulus 11 check digit for the first nine digits, or null when the check would be 10 (never issued). */
export function nhsCheckDigit(nineDigits: string): number | null {
  if (!/^\d{9}$/.test(nineDigits)) throw new Error('nhsCheckDigit needs exactly nine digits');
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (nineDigits.charCodeAt(i) - 48) * (10 - i);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return null;
  return check;
}

export function normaliseNhsNumber(raw: string): Normalised {
  const value = raw.replace(SEPARATORS, '');
  if (value === '') return { ok: false, reason: 'blank' };
  if (!/^\d+$/.test(value)) return { ok: false, reason: 'bad_characters' };
  if (value.length !== 10) return { ok: false, reason: 'bad_length' };
  const check = nhsCheckDigit(value.slice(0, 9));
  if (check === null || check !== value.charCodeAt(9) - 48) return { ok: false, reason: 'bad_check_digit' };
  return { ok: true, value };
}

// ---- UPN (DfE unique pupil number) -----------------------------------------------------------

/** The 23 letters of the UPN alphabet (no I, O, S): index = check value. */
const UPN_LETTERS = 'ABCDEFGHJKLMNPQRTUVWXYZ';

/**
 * The UPN check letter for characters 2-13 (12 characters: LA code 3, establishment 4, year 2,
 * serial 3; a temporary UPN ends in a letter). Each character's value (digit, or for a letter its
 * position in the UPN alphabet) is multiplied by its position (2..13); the sum modulo 23 indexes the
 * UPN alphabet.
 */
export function upnCheckLetter(last12: string): string {
  if (!/^\d{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]$/.test(last12))
    throw new Error('upnCheckLetter needs 11 digits then a digit or UPN letter');
  let sum = 0;
  for (let i = 0; i < 12; i++) {
    const ch = last12[i]!;
    const v = ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : UPN_LETTERS.indexOf(ch);
    sum += v * (i + 2);
  }
  return UPN_LETTERS[sum % 23]!;
}

export function normaliseUpn(raw: string): Normalised {
  const value = raw.replace(SEPARATORS, '').toUpperCase();
  if (value === '') return { ok: false, reason: 'blank' };
  if (value.length !== 13) return { ok: false, reason: 'bad_length' };
  if (!/^[ABCDEFGHJKLMNPQRTUVWXYZ]\d{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]$/.test(value))
    return { ok: false, reason: 'bad_characters' };
  if (upnCheckLetter(value.slice(1)) !== value[0]) return { ok: false, reason: 'bad_check_letter' };
  return { ok: true, value };
}

export function normaliseIdentifier(kind: IdentifierKind, raw: string): Normalised {
  return kind === 'nhs_number' ? normaliseNhsNumber(raw) : normaliseUpn(raw);
}

// ---- tokens ------------------------------------------------------------------------------------

/** A partnership key: at least 16 bytes. Hold it as a Buffer; never log it. */
export type TokenKey = Buffer;

export const TOKEN_KEY_ENV = 'LOCALITY_TOKEN_KEY';
const MIN_KEY_BYTES = 16;

export function tokenKeyFrom(secret: string | Buffer, where: string): TokenKey {
  const key = typeof secret === 'string' ? Buffer.from(secret.trim(), 'utf8') : secret;
  if (key.length < MIN_KEY_BYTES)
    throw new Error(`token key from ${where} is too short: at least ${MIN_KEY_BYTES} bytes are required`);
  return key;
}

/**
 * The key from --key-file (its contents, surrounding whitespace trimmed) or else the
 * LOCALITY_TOKEN_KEY environment variable. Errors name where the key was sought, never its value.
 */
export function loadTokenKey(keyFile: string | undefined, env: NodeJS.ProcessEnv = process.env): TokenKey {
  if (keyFile) {
    let text: string;
    try {
      text = readFileSync(keyFile, 'utf8');
    } catch (err) {
      throw new Error(`cannot read key file ${keyFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, {
        cause: err,
      });
    }
    return tokenKeyFrom(text, `key file ${keyFile}`);
  }
  const fromEnv = env[TOKEN_KEY_ENV];
  if (fromEnv === undefined || fromEnv.trim() === '') {
    throw new Error(`no token key: pass --key-file <file> or set ${TOKEN_KEY_ENV}`);
  }
  return tokenKeyFrom(fromEnv, `environment variable ${TOKEN_KEY_ENV}`);
}

interface Pads {
  inner: Buffer;
  outer: Buffer;
}
const padsByKey = new WeakMap<TokenKey, Pads>();

/** RFC 2104 key pads (keys longer than the 64-byte block are hashed first). */
function padsOf(key: TokenKey): Pads {
  let p = padsByKey.get(key);
  if (!p) {
    const block = Buffer.alloc(64);
    (key.length > 64 ? createHash('sha256').update(key).digest() : key).copy(block);
    p = { inner: Buffer.from(block.map((b) => b ^ 0x36)), outer: Buffer.from(block.map((b) => b ^ 0x5c)) };
    padsByKey.set(key, p);
  }
  return p;
}

/**
 * HMAC-SHA256(key, value) as 64 lowercase hex characters. `value` must already be normalised.
 * Computed as RFC 2104 H(K^opad || H(K^ipad || m)) with Node's one-shot `crypto.hash`, which is
 * several times faster than `createHmac` per call (OpenSSL 3 builds a MAC context each time);
 * the test suite checks it against `createHmac` and the RFC 4231 vectors.
 */
export function hmacToken(key: TokenKey, normalisedValue: string): string {
  const p = padsOf(key);
  const inner = hash('sha256', Buffer.concat([p.inner, Buffer.from(normalisedValue, 'utf8')]), 'buffer');
  return hash('sha256', Buffer.concat([p.outer, inner]), 'hex');
}

export type TokenResult = { ok: true; token: string } | { ok: false; reason: InvalidReason };

/** Normalise, validate and tokenise one identifier. */
export function tokenise(kind: IdentifierKind, key: TokenKey, raw: string): TokenResult {
  const n = normaliseIdentifier(kind, raw);
  return n.ok ? { ok: true, token: hmacToken(key, n.value) } : n;
}

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

// How a sign-in's secrets are named in a secret store and split to fit a keychain entry. Each part
// is stored as `<fingerprint>.<index>.<count>:<text>`, so that a reader can tell the parts of one
// secret from a mix left by two writers, and a stale tail from a live part.
import { createHash } from 'node:crypto';
import { AppError, Code } from '../errors.js';
import { registerSecret } from '../log.js';
import type { SecretChange, SecretStore } from './secrets.js';
import type { TokenInfo, Tokens } from './types.js';

/** A secret longer than a store entry is split; more parts than this means something is wrong. */
export const MAX_PARTS = 16;

const PART = /^([0-9a-f]{16})\.(\d+)\.(\d+):/;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function fingerprint(secret: string): string {
  return sha256(secret).slice(0, 16);
}

/** Where a sign-in keeps each of its secrets. */
export function secretName(key: string, which: 'access' | 'refresh' | 'client-secret' | 'dpop-key'): string {
  return `${key} ${which}`;
}

/** Entry names of a secret's parts: `<name>`, `<name> (2)`, `<name> (3)`, … */
export function partNames(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? name : `${name} (${i + 1})`));
}

export function encodeParts(secret: string, maxLength: number): string[] {
  const fp = fingerprint(secret);
  const header = (i: number, n: number) => `${fp}.${i}.${n}:`;
  const room = maxLength - header(MAX_PARTS, MAX_PARTS).length;
  const n = Math.max(1, Math.ceil(secret.length / room));
  if (n > MAX_PARTS) throw new AppError(Code.SAVE_FAILED, `a token of ${secret.length} characters does not fit in ${MAX_PARTS} keychain entries`);
  return Array.from({ length: n }, (_, i) => header(i + 1, n) + secret.slice(i * room, (i + 1) * room));
}

/** The writes that store `secret` under `name`, split as the store needs. */
export function secretWrites(store: SecretStore, name: string, secret: string): SecretChange[] {
  const parts = encodeParts(secret, store.maxValueLength);
  return partNames(name, parts.length).map((n, i) => [n, parts[i]] as const);
}

/** A secret read back whole, or undefined when it is missing, torn or mixed from two writers. */
export async function readSecret(store: SecretStore, name: string, expectedParts: number): Promise<string | undefined> {
  const names = partNames(name, Math.min(Math.max(1, expectedParts), MAX_PARTS));
  const values = await Promise.all(names.map((n) => store.read(n)));
  const first = values[0] === undefined ? undefined : PART.exec(values[0]);
  if (!first) return undefined;
  const count = Number(first[3]);
  if (count > MAX_PARTS) return undefined;
  if (count > values.length) values.push(...(await Promise.all(partNames(name, count).slice(values.length).map((n) => store.read(n)))));
  let secret = '';
  for (let i = 0; i < count; i++) {
    const part = values[i] === undefined ? undefined : PART.exec(values[i]!);
    if (!part || part[1] !== first[1] || Number(part[2]) !== i + 1 || Number(part[3]) !== count) return undefined;
    secret += values[i]!.slice(part[0].length);
  }
  if (fingerprint(secret) !== first[1]) return undefined;
  registerSecret(secret);
  return secret;
}

/** The entry names a stored secret occupies, read from its first part's header. */
export async function storedPartNames(store: SecretStore, name: string): Promise<string[]> {
  const first = await store.read(name);
  if (first === undefined) return [];
  const part = PART.exec(first);
  return partNames(name, part ? Math.min(Number(part[3]), MAX_PARTS) : 1);
}

/** Deletes every part of a stored secret. */
export async function deleteSecret(store: SecretStore, name: string): Promise<void> {
  await store.write((await storedPartNames(store, name)).map((n) => [n, undefined] as const));
}

/**
 * The writes that store `tokens` for `key`, in durability order (refresh token, then access
 * token, then stale tails removed), and the record's new token facts.
 */
export function tokenWrites(store: SecretStore, key: string, tokens: Tokens, previous: TokenInfo | undefined): { changes: SecretChange[]; token: TokenInfo } {
  const refreshName = secretName(key, 'refresh');
  const changes: SecretChange[] = tokens.refreshToken ? secretWrites(store, refreshName, tokens.refreshToken) : [];
  const access = secretWrites(store, secretName(key, 'access'), tokens.accessToken);
  changes.push(...access);
  if (!tokens.refreshToken && previous?.hasRefreshToken) changes.push([refreshName, undefined]);
  for (const name of partNames(secretName(key, 'access'), previous?.parts ?? 0).slice(access.length)) changes.push([name, undefined]);
  const token: TokenInfo = {
    fingerprint: fingerprint(tokens.accessToken),
    parts: access.length,
    expiresAt: tokens.expiresAt,
    obtainedAt: tokens.obtainedAt,
    scopes: tokens.scopes,
    ...(tokens.tokenType ? { tokenType: tokens.tokenType } : {}),
    hasRefreshToken: Boolean(tokens.refreshToken),
  };
  return { changes, token };
}

/** The tokens a record's facts and its access token make (the refresh token is read only when due). */
export function tokensOf(info: TokenInfo, accessToken: string): Tokens {
  return { accessToken, expiresAt: info.expiresAt, obtainedAt: info.obtainedAt, scopes: info.scopes, tokenType: info.tokenType };
}

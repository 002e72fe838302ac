// The workload's identity token (src/auth/workload-identity.ts): read from a file the platform
// rotates (replaced, or a Kubernetes-style `..data` symlink swap) or from an environment variable;
// read again when it changed or nears its `exp`; never returned past it; errors that say what is
// wrong and never contain the token. Real files, real JWTs (jose), a real FIFO.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { audienceNamesAs } from '../../src/auth/jwt-bearer-grant.js';
import { MAX_TOKEN_BYTES, WorkloadTokenReader } from '../../src/auth/workload-identity.js';
import { redact } from '../../src/log.js';

let key: CryptoKey;
const T0 = 1_900_000_000_000; // a fixed clock (epoch ms)
beforeAll(async () => { ({ privateKey: key } = await generateKeyPair('ES256')); });

async function jwt(claims: { sub?: string; exp?: number; aud?: string | string[] } = {}): Promise<string> {
  const t = new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://idp.example.test').setSubject(claims.sub ?? 'system:serviceaccount:ci:deployer')
    .setAudience(claims.aud ?? 'https://as.example.test').setIssuedAt(Math.floor(T0 / 1000));
  if (claims.exp !== null) t.setExpirationTime(claims.exp ?? Math.floor(T0 / 1000) + 3600);
  return t.sign(key);
}

const dirs: string[] = [];
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'appwrite-mcp-wif-'));
  dirs.push(d);
  return d;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** Replaces `path` atomically, as platforms do (write aside, rename over). */
function replace(path: string, text: string): void {
  writeFileSync(`${path}.new`, text);
  renameSync(`${path}.new`, path);
}

async function failure(p: Promise<unknown>): Promise<Error & { code: string; hint?: string }> {
  return p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as Error & { code: string; hint?: string });
}

describe('workload identity token', () => {
  it('reads the token from a file (trailing newline and all) with the claims it may show', async () => {
    const path = join(dir(), 'token');
    const token = await jwt();
    writeFileSync(path, `${token}\n`);
    const reader = new WorkloadTokenReader({ file: path }, { now: () => T0 });
    const got = await reader.current();
    expect(got.jwt).toBe(token);
    expect(got.claims).toEqual({ iss: 'https://idp.example.test', sub: 'system:serviceaccount:ci:deployer', aud: ['https://as.example.test'], exp: T0 / 1000 + 3600 });
    expect(reader.describe()).toBe(`the file ${path}`);
    expect(redact(`grant failed for ${token}`)).toBe('grant failed for [redacted]');
  });

  it('picks up a rotated file: replaced by rename, or a Kubernetes ..data symlink swap', async () => {
    const d = dir();
    const path = join(d, 'token');
    const [a, b, c] = [await jwt({ sub: 'a' }), await jwt({ sub: 'b' }), await jwt({ sub: 'c' })];
    writeFileSync(path, a);
    const reader = new WorkloadTokenReader({ file: path }, { now: () => T0 });
    expect((await reader.current()).claims.sub).toBe('a');
    expect((await reader.current()).claims.sub).toBe('a');
    replace(path, b);
    expect((await reader.current()).jwt).toBe(b);

    // The kubelet's projected volume: token -> ..data/token, ..data -> ..<timestamp>, swapped whole.
    const k8s = dir();
    for (const [name, token] of [['..2024_01', a], ['..2024_02', c]] as const) {
      mkdirSync(join(k8s, name));
      writeFileSync(join(k8s, name, 'token'), token);
    }
    symlinkSync('..2024_01', join(k8s, '..data'));
    symlinkSync('..data/token', join(k8s, 'token'));
    const projected = new WorkloadTokenReader({ file: join(k8s, 'token') }, { now: () => T0 });
    expect((await projected.current()).claims.sub).toBe('a');
    symlinkSync('..2024_02', join(k8s, '..data_tmp'));
    renameSync(join(k8s, '..data_tmp'), join(k8s, '..data'));
    expect((await projected.current()).claims.sub).toBe('c');
  });

  it('reads again as the token nears its exp, and never returns it past exp', async () => {
    const path = join(dir(), 'token');
    const exp = T0 / 1000 + 120;
    const old = await jwt({ sub: 'old', exp });
    writeFileSync(path, old);
    let now = T0;
    const reader = new WorkloadTokenReader({ file: path }, { now: () => now });
    expect((await reader.current()).claims.sub).toBe('old');
    now = T0 + 100_000; // 20 s left: read again; still the same token, still usable
    expect((await reader.current()).jwt).toBe(old);
    now = T0 + 118_000; // 2 s left: as good as expired, and the file was not rotated
    const err = await failure(reader.current());
    expect(err.code).toBe('AUTH_SIGN_IN_REQUIRED');
    expect(err.message).toMatch(new RegExp(`^the workload identity token in the file ${path} expires in 2 s \\(exp 20\\d\\d-.*\\), and no newer one has been put there$`));
    expect(err.hint).toMatch(/platform/);
    replace(path, await jwt({ sub: 'new', exp: exp + 3600 }));
    expect((await reader.current()).claims.sub).toBe('new');
    now = T0 + 3_800_000; // past the new one's exp too
    expect((await failure(reader.current())).message).toMatch(/expired \d+ s ago/);
  });

  it('reads the token from an environment variable, each time', async () => {
    const env: NodeJS.ProcessEnv = { MCP_WORKLOAD_TOKEN: await jwt({ sub: 'one' }) };
    const reader = new WorkloadTokenReader({ env: 'MCP_WORKLOAD_TOKEN' }, { env, now: () => T0 });
    expect((await reader.current()).claims.sub).toBe('one');
    env.MCP_WORKLOAD_TOKEN = await jwt({ sub: 'two' });
    expect((await reader.current()).claims.sub).toBe('two');
    expect(reader.describe()).toBe('the environment variable MCP_WORKLOAD_TOKEN');
    delete env.MCP_WORKLOAD_TOKEN;
    expect((await failure(reader.current())).message).toBe('the environment variable MCP_WORKLOAD_TOKEN, which should hold the workload identity token, is not set');
    env.MCP_WORKLOAD_TOKEN = ' \n';
    expect((await failure(reader.current())).message).toMatch(/is empty$/);
  });

  it('says what is wrong with what is there, and never echoes it', async () => {
    const secretish = 'ghp_THIS1sAS3cretTok3nTHATmustN0tBePrinted';
    const exp = await jwt({ exp: null as unknown as number });
    const cases: Array<[string, RegExp]> = [
      [secretish, /does not hold a JWT \(a JWT is three base64url parts separated by "\."; it holds 42 characters in 1 part\)$/],
      [`${secretish}.${secretish}.${secretish}`, /has a payload that is not JSON$/],
      [`eyJhbGciOiJFUzI1NiJ9.${Buffer.from('[1,2]').toString('base64url')}.c2ln`, /payload that is not a JSON object$/],
      [exp, /has no numeric "exp" claim, which the JWT bearer grant requires \(RFC 7523 §3\)$/],
      [`${await jwt()} extra`, /does not hold a JWT/],
    ];
    for (const [contents, message] of cases) {
      const path = join(dir(), 'token');
      writeFileSync(path, contents);
      const err = await failure(new WorkloadTokenReader({ file: path }, { now: () => T0 }).current());
      expect(err.code, contents).toBe('CLI_USAGE');
      expect(err.message).toMatch(message);
      expect(err.message).toContain(path);
      for (const part of contents.split(/[.\s]/)) if (part.length > 8) expect(err.message).not.toContain(part);
    }
  });

  it('refuses a missing file, a directory, a FIFO (without hanging) and an oversized file', async () => {
    const d = dir();
    const missing = await failure(new WorkloadTokenReader({ file: join(d, 'nope') }).current());
    expect(missing.message).toMatch(new RegExp(`^cannot read the workload identity token file ${join(d, 'nope')}: ENOENT`));
    expect((await failure(new WorkloadTokenReader({ file: d }).current())).message).toMatch(/is not a regular file$/);

    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    expect((await failure(new WorkloadTokenReader({ file: fifo }).current())).message).toBe(`the workload identity token file ${fifo} is not a regular file`);
    expect(Date.now() - started).toBeLessThan(2000);

    const big = join(d, 'big');
    writeFileSync(big, 'a'.repeat(MAX_TOKEN_BYTES + 1));
    expect((await failure(new WorkloadTokenReader({ file: big }).current())).message).toMatch(/is 65537 bytes; a workload JWT is a few kilobytes/);
  });
});

describe('the assertion audience', () => {
  const as = { issuer: 'https://as.example.test/oauth', token_endpoint: 'https://as.example.test/oauth/token' };
  const claims = (aud: string[]) => ({ aud, exp: 0 });
  it('names the authorization server by its issuer or token endpoint (RFC 7523 §3), a trailing slash aside', () => {
    expect(audienceNamesAs(claims(['https://as.example.test/oauth']), as)).toBe(true);
    expect(audienceNamesAs(claims(['https://as.example.test/oauth/']), as)).toBe(true);
    expect(audienceNamesAs(claims(['sts.example', 'https://as.example.test/oauth/token']), as)).toBe(true);
    expect(audienceNamesAs(claims(['https://as.example.test']), as)).toBe(false);
    expect(audienceNamesAs(claims([]), as)).toBe(false);
  });
});

// logout reports what happened to each token (issue 19, item 11), against an authorization server
// that revokes as better-auth's OAuth provider does (test/cloud/tamper.ts `betterAuthRevocation`,
// from better-auth packages/oauth-provider/src/revoke.ts): the JWT access token is refused with
// 400 unsupported_token_type, the refresh token is revoked. "✓ revoked the tokens" would be a lie.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run as login } from '../../src/commands/login.js';
import { run as logout } from '../../src/commands/logout.js';
import { startCloud, type Cloud } from '../cloud/index.js';
import { tempConfigDir } from '../helpers/cli.js';
import { testFactory } from '../helpers/factory.js';
import { signInOverHttp } from '../helpers/http-user.js';
import { readStored } from '../helpers/stored.js';

let cloud: Cloud;
beforeAll(async () => { cloud = await startCloud({ tamper: { betterAuthRevocation: true } }); });
afterAll(async () => { await cloud?.stop(); });
const cleanups: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

function world(dir?: string) {
  const config = dir ? { dir, cleanup: () => {} } : tempConfigDir();
  cleanups.push(() => config.cleanup());
  const pages: Array<Promise<unknown>> = [];
  return { dir: config.dir, pages, ...testFactory({ dir: config.dir, browser: (url) => pages.push(signInOverHttp(url, cloud.user)) }) };
}

describe('logout says what became of each token', () => {
  it('better-auth: the refresh token revoked, the JWT access token refused (unsupported_token_type), both said', async () => {
    const w = world();
    expect(await login({ url: cloud.mcpUrl, browser: true }, w.f)).toBe(0);
    const stored = (await readStored(w.dir, cloud.mcpUrl))!;
    const out = world(w.dir);
    expect(await logout({ url: cloud.mcpUrl, urlGiven: true }, out.f)).toBe(0);
    const said = out.stderr();
    expect(said).toContain(`  ✓ refresh token: revoked at ${cloud.issuer}`);
    expect(said).toContain(`  ! access token: not revoked: ${cloud.issuer} does not revoke this kind of token (unsupported_token_type: JWT access tokens are self-contained and cannot be revoked server-side); it may stay valid until it expires`);
    expect(said).not.toMatch(/revoked the tokens/);
    expect(said).toContain('✓ removed the local sign-in record');
    expect(await cloud.tokenStatus(stored.refreshToken!)).toBe('revoked');
  });
});

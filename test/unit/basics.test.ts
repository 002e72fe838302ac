import { describe, expect, it } from 'vitest';
import { isLoopbackHost, parseSecureUrl } from '../../src/net.js';
import { parseAuthChallenge } from '../../src/authorization.js';
import { authorizationServerMetadataUrls, protectedResourceMetadataUrls, resourceMatches } from '../../src/auth/discovery.js';
import { chooseScopes, describeScopes, narrowedScopes, unionScopes } from '../../src/auth/scopes.js';
import { createLogger, redact, registerSecret } from '../../src/log.js';
import { parseHeaders, resolveServerUrl } from '../../src/target.js';
import { AppError } from '../../src/errors.js';

describe('loopback rule', () => {
  it('accepts all of 127.0.0.0/8, ::1 and localhost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '[::1]', '::1', 'localhost', 'LOCALHOST', 'app.localhost', '[::ffff:127.0.0.1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
  });
  it('refuses everything else', () => {
    for (const host of ['128.0.0.1', '10.0.0.1', '192.168.1.1', 'example.com', 'localhost.example.com', '[::2]', '0.0.0.0', '127.0.0.1.nip.io']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
  it('allows plain http only on loopback', () => {
    expect(parseSecureUrl('http://127.0.0.7:8080/mcp', 'server URL').href).toBe('http://127.0.0.7:8080/mcp');
    expect(parseSecureUrl('http://[::1]:3000/', 'server URL').hostname).toBe('[::1]');
    expect(parseSecureUrl('http://localhost/', 'server URL').hostname).toBe('localhost');
    expect(parseSecureUrl('https://mcp.appwrite.io/', 'server URL').protocol).toBe('https:');
    expect(() => parseSecureUrl('http://mcp.appwrite.io/', 'server URL')).toThrow(/plain http:\/\/ on a non-loopback host/);
    expect(() => parseSecureUrl('http://10.1.2.3/', 'server URL')).toThrow(AppError);
    expect(() => parseSecureUrl('ftp://127.0.0.1/', 'server URL')).toThrow(/must be an https:\/\/ URL/);
    expect(() => parseSecureUrl('not a url', 'server URL')).toThrow(/"not a url" is not a valid URL/);
  });
  it('defaults to the hosted server and normalizes', () => {
    expect(resolveServerUrl(undefined, {})).toBe('https://mcp.appwrite.io/');
    expect(resolveServerUrl(undefined, { APPWRITE_MCP_URL: 'https://x.example/p/mcp#frag' })).toBe('https://x.example/p/mcp');
    expect(resolveServerUrl('https://MCP.appwrite.io:443', {})).toBe('https://mcp.appwrite.io/');
  });
});

describe('WWW-Authenticate parsing', () => {
  it('reads the Bearer challenge with quoted values and escapes', () => {
    const c = parseAuthChallenge('Bearer error="insufficient_scope", scope="a b\\"c", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp"');
    expect(c).toEqual({ error: 'insufficient_scope', errorDescription: undefined, scope: 'a b"c', resourceMetadata: 'https://h/.well-known/oauth-protected-resource/mcp' });
  });
  it('finds Bearer among several schemes and token68 forms', () => {
    expect(parseAuthChallenge('Basic realm="x", Bearer realm="y", error=invalid_token')?.error).toBe('invalid_token');
    expect(parseAuthChallenge('Negotiate abc==, Bearer scope="s"')?.scope).toBe('s');
    expect(parseAuthChallenge('Bearer')).toEqual({ error: undefined, errorDescription: undefined, scope: undefined, resourceMetadata: undefined });
    expect(parseAuthChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseAuthChallenge(null)).toBeUndefined();
  });
});

describe('discovery URLs (MCP authorization spec order)', () => {
  it('tries path-inserted, then root protected-resource metadata', () => {
    expect(protectedResourceMetadataUrls('https://h/p1/mcp')).toEqual(['https://h/.well-known/oauth-protected-resource/p1/mcp', 'https://h/.well-known/oauth-protected-resource']);
    expect(protectedResourceMetadataUrls('https://h/')).toEqual(['https://h/.well-known/oauth-protected-resource']);
  });
  it('orders AS metadata: 8414 inserted, OIDC inserted, OIDC appended', () => {
    expect(authorizationServerMetadataUrls('https://a/v1/oauth2/console')).toEqual([
      'https://a/.well-known/oauth-authorization-server/v1/oauth2/console',
      'https://a/.well-known/openid-configuration/v1/oauth2/console',
      'https://a/v1/oauth2/console/.well-known/openid-configuration',
    ]);
    expect(authorizationServerMetadataUrls('https://a')).toEqual(['https://a/.well-known/oauth-authorization-server', 'https://a/.well-known/openid-configuration']);
  });
  it('matches a PRM resource to the server URL on segment boundaries only', () => {
    expect(resourceMatches('https://h/', 'https://h/mcp')).toBe(true);
    expect(resourceMatches('https://h/p/mcp', 'https://h/p/mcp')).toBe(true);
    expect(resourceMatches('https://h/p/mcp/', 'https://h/p/mcp')).toBe(true);
    expect(resourceMatches('https://h/p', 'https://h/pq/mcp')).toBe(false);
    expect(resourceMatches('https://other/', 'https://h/mcp')).toBe(false);
    expect(resourceMatches('http://h/', 'https://h/mcp')).toBe(false);
    expect(resourceMatches('not a url', 'https://h/mcp')).toBe(false);
  });
});

describe('scope selection', () => {
  it('prefers --scope, then the challenge, then scopes_supported, and adds offline_access/openid when offered', () => {
    const as = ['openid', 'offline_access', 'email', 'mcp:read'];
    expect(chooseScopes({ requested: ['x'], challengeScope: 'a', resourceScopes: ['b'], asScopes: as })).toEqual(['x', 'offline_access', 'openid', 'email']);
    expect(chooseScopes({ challengeScope: 'a b', resourceScopes: ['c'], asScopes: [] })).toEqual(['a', 'b']);
    expect(chooseScopes({ resourceScopes: ['c'] })).toEqual(['c']);
    expect(chooseScopes({})).toEqual([]);
    expect(unionScopes(['a', 'b'], ['b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('after an invalid_scope: the umbrellas the AS lists (+ offline_access, openid email profile), else no scope, never the same again', () => {
    const catalog = Array.from({ length: 70 }, (_, i) => `service${i}.read`);
    const as = [...catalog, 'organization:all', 'all', 'openid', 'email', 'offline_access'];
    expect(narrowedScopes([...catalog, 'offline_access'], as)).toEqual(['all', 'organization:all', 'offline_access', 'openid', 'email']);
    expect(narrowedScopes(['project:all', 'x'], ['project:all'])).toEqual(['project:all']);
    // No umbrella listed (or no AS metadata scopes): no `scope` parameter, the AS's default.
    expect(narrowedScopes(catalog, [...catalog, 'openid', 'offline_access'])).toEqual([]);
    expect(narrowedScopes(catalog, undefined)).toEqual([]);
    // The umbrella request itself refused: no scope; nothing refused but no scope: nothing left to try.
    expect(narrowedScopes(['offline_access', 'all'], ['all', 'offline_access'])).toEqual([]);
    expect(narrowedScopes([], ['all'])).toEqual(['all']);
    expect(narrowedScopes([], ['openid'])).toBeUndefined();
  });

  it('describes a scope list for a message: quoted when short, counted when long', () => {
    expect(describeScopes([])).toBe('no scope');
    expect(describeScopes(['all', 'offline_access'])).toBe('"all offline_access"');
    const long = Array.from({ length: 70 }, (_, i) => `databases${i}.read`);
    expect(describeScopes(long)).toBe(`70 scopes, ${long.join(' ').length} characters (databases0.read databases1.read databases2.read …)`);
  });
});

describe('redaction', () => {
  it('masks known secrets and token shapes', () => {
    registerSecret('opaque-refresh-token-value-123');
    const line = redact('refresh opaque-refresh-token-value-123 Authorization: Bearer abc.def.ghi {"access_token":"zzz"} code=xyz&state=1 eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig');
    expect(line).not.toMatch(/opaque-refresh-token-value-123|abc\.def\.ghi|zzz|xyz|eyJhbGci/);
    expect(line).toContain('state=1');
  });
});

describe('--header values', () => {
  it('expands ${VAR} from the environment, redacts what it expanded, and refuses what it cannot use', () => {
    const headers = parseHeaders(['X-Api-Key: ${MY_KEY}', 'X-Project: p-${PROJECT}-1', 'X-Plain: $NOT_EXPANDED'], { MY_KEY: 'sk-expanded-secret-123', PROJECT: 'alpha' });
    expect(headers).toEqual({ 'X-Api-Key': 'sk-expanded-secret-123', 'X-Project': 'p-alpha-1', 'X-Plain': '$NOT_EXPANDED' });
    expect(redact('sent sk-expanded-secret-123')).toBe('sent [redacted]');
    expect(() => parseHeaders(['X-Api-Key: ${UNSET_VARIABLE_FOR_TEST}'], {})).toThrow(/UNSET_VARIABLE_FOR_TEST is not set/);
    expect(() => parseHeaders(['Authorization: Bearer x'], {})).toThrow(/Authorization is not allowed/);
    expect(() => parseHeaders(['Bad Name: x'], {})).toThrow(/--header Bad is not Name:value/);
  });
});

describe('logger', () => {
  it('--quiet keeps warnings and errors only; --debug wins over it', () => {
    const lines: string[] = [];
    const quiet = createLogger({ quiet: true, write: (l) => void lines.push(l) });
    quiet.info('signed in');
    quiet.debug('details');
    quiet.warn('the keychain is locked');
    quiet.error('failed');
    expect(lines).toEqual(['appwrite-mcp warning: the keychain is locked\n', 'appwrite-mcp error: failed\n']);
    const both = createLogger({ quiet: true, debug: true, write: (l) => void lines.push(l) });
    both.info('shown');
    expect(lines.at(-1)).toBe('appwrite-mcp: shown\n');
  });
});

// How the suite's per-scenario context (MCP_CONFORMANCE_CONTEXT: credentials, keys, tokens) reaches
// the proxy under test: only through flags and variables that proxy has. Whatever cannot be passed is
// listed (and printed by client.ts), never worked around.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// CONFORMANCE_INTEROP_DIR: this folder, when the client runs as the bundle conformance.ts makes of it.
const here = process.env.CONFORMANCE_INTEROP_DIR ?? dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** The CIMD client_id the suite's auth/basic-cimd scenario expects (hard-coded in the suite, not passed as context). */
export const CIMD_CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';

export type Target = 'appwrite-mcp' | 'mcp-remote';

/** Context the suite passes in MCP_CONFORMANCE_CONTEXT (see its src/schemas/context.ts). */
export interface ConformanceContext {
  name: string;
  client_id?: string;
  client_secret?: string;
  private_key_pem?: string;
  signing_algorithm?: string;
  idp_client_id?: string;
  idp_id_token?: string;
  idp_issuer?: string;
  idp_token_endpoint?: string;
  /** http-custom-headers: the tool calls (name, arguments) the client is to make. */
  toolCalls?: { name: string; arguments?: Record<string, unknown> }[];
  [key: string]: unknown;
}


export interface ProxySetup {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Something to run before the proxy (e.g. a login with a pre-registered client id). */
  before?: { args: string[]; why: string };
  /** Context the proxy has no way to take. */
  unmapped: string[];
}

/**
 * Flags and variables that map the suite's context onto appwrite-mcp, by the names proposed in
 * /work/notes/conformance.md. None exists today; each is used as soon as `appwrite-mcp proxy --help`
 * (or `--help`) mentions it, so a build that adds one is tested with it without changing this file.
 */
const APPWRITE_MCP_CONTEXT_OPTIONS = {
  clientId: '--client-id',
  clientSecretEnv: 'APPWRITE_MCP_CLIENT_SECRET',
  clientMetadataUrl: '--client-metadata-url',
  clientCredentials: '--client-credentials',
  privateKeyFile: '--private-key-file',
  idpTokenEndpoint: '--idp-token-endpoint',
  idpClientId: '--idp-client-id',
  idpIdTokenEnv: 'APPWRITE_MCP_IDP_ID_TOKEN',
  // auth/wif-jwt-bearer (RFC 7523 jwt-bearer grant, SEP-1933): names proposed in
  // /work/shared-notes/conformance-findings.md; the file is re-read at each token request.
  workloadJwtFile: '--workload-jwt-file',
} as const;

/** `appwrite-mcp --help` (which lists the environment variables) and `appwrite-mcp proxy --help`. */
function proxyHelp(cli: string): string {
  return [['--help'], ['proxy', '--help']]
    .map((args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 10_000 }))
    .map((r) => `${r.stdout ?? ''}${r.stderr ?? ''}`)
    .join('\n');
}

/**
 * How the scenario's context reaches each proxy: only through flags and variables that the proxy
 * has. Whatever cannot be passed is listed in `unmapped` (and printed), not worked around.
 */
export function proxySetup(target: Target, url: string, scenario: string, ctx: ConformanceContext | undefined, env: Record<string, string>, work: string): ProxySetup {
  const unmapped: string[] = [];
  if (target === 'appwrite-mcp') {
    // CONFORMANCE_APPWRITE_MCP_BIN: another build of the CLI to test (conformance.ts --cli).
    const cli = process.env.CONFORMANCE_APPWRITE_MCP_BIN || join(root, 'bin', 'appwrite-mcp.js');
    const help = ctx || scenario === 'auth/basic-cimd' ? proxyHelp(cli) : '';
    const has = (option: string) => new RegExp(`(^|[\\s,])${option}\\b`).test(help);
    const o = APPWRITE_MCP_CONTEXT_OPTIONS;
    const args = [cli, '--url', url, '--debug'];
    let before: ProxySetup['before'];
    const proxyEnv = { ...env };
    if (ctx?.client_id) {
      if (has(o.clientId)) {
        args.push(o.clientId, ctx.client_id);
      } else if (scenario === 'auth/pre-registration') {
        // `login --client-id` is today's only way to give appwrite-mcp a pre-registered client.
        before = { args: [cli, 'login', '--url', url, '--client-id', ctx.client_id, '--timeout', '20', '--debug'], why: 'login --client-id (pre-registered client)' };
      } else {
        unmapped.push(`client_id (proxy has no ${o.clientId}; \`login --client-id\` is for the authorization-code flow only)`);
      }
    }
    if (ctx?.client_secret) {
      if (has(o.clientSecretEnv)) proxyEnv[o.clientSecretEnv] = ctx.client_secret;
      else unmapped.push(`client_secret (no ${o.clientSecretEnv} or other way to give a client secret)`);
    }
    if (scenario.startsWith('auth/client-credentials-')) {
      if (has(o.clientCredentials)) args.push(o.clientCredentials);
      else unmapped.push(`the client_credentials grant (no ${o.clientCredentials})`);
    }
    if (ctx?.private_key_pem) {
      if (has(o.privateKeyFile)) {
        const pem = join(work, 'client-key.pem');
        writeFileSync(pem, ctx.private_key_pem, { mode: 0o600 });
        args.push(o.privateKeyFile, pem);
      } else {
        unmapped.push(`private_key_pem / signing_algorithm (no ${o.privateKeyFile}: no private_key_jwt client authentication)`);
      }
    }
    if (ctx?.idp_id_token) {
      if (has(o.idpTokenEndpoint) && has(o.idpIdTokenEnv) && ctx.idp_token_endpoint && ctx.idp_client_id) {
        args.push(o.idpTokenEndpoint, ctx.idp_token_endpoint, o.idpClientId, ctx.idp_client_id);
        proxyEnv[o.idpIdTokenEnv] = ctx.idp_id_token;
      } else {
        unmapped.push('idp_id_token / idp_token_endpoint / idp_client_id / idp_issuer (no token exchange, no ID-JAG jwt-bearer grant)');
      }
    }
    if (typeof ctx?.valid_jwt === 'string') {
      if (has(o.workloadJwtFile)) {
        const jwt = join(work, 'workload.jwt');
        writeFileSync(jwt, ctx.valid_jwt, { mode: 0o600 });
        args.push(o.workloadJwtFile, jwt);
      } else {
        unmapped.push(`valid_jwt (no ${o.workloadJwtFile}: no RFC 7523 jwt-bearer grant with a workload identity token)`);
      }
    }
    if (scenario === 'auth/basic-cimd') {
      if (has(o.clientMetadataUrl)) args.push(o.clientMetadataUrl, CIMD_CLIENT_METADATA_URL);
      else unmapped.push(`the suite's CIMD URL ${CIMD_CLIENT_METADATA_URL} (no ${o.clientMetadataUrl})`);
    }
    return { command: process.execPath, args, env: proxyEnv, before, unmapped };
  }
  const args = [join(root, 'node_modules', 'mcp-remote', 'dist', 'proxy.js'), url];
  if (scenario === 'auth/pre-registration' && ctx?.client_id) {
    args.push('--static-oauth-client-info', JSON.stringify({ client_id: ctx.client_id, client_secret: ctx.client_secret }));
  } else if (scenario === 'auth/client-credentials-basic' && ctx?.client_id) {
    args.push('--client-credentials', '--static-oauth-client-info', JSON.stringify({ client_id: ctx.client_id, client_secret: ctx.client_secret }));
  } else {
    if (ctx?.client_id) unmapped.push('client_id / client_secret (no flag for this grant)');
    if (ctx?.private_key_pem) unmapped.push('private_key_pem (mcp-remote leaves private_key_jwt out)');
    if (ctx?.idp_id_token) unmapped.push('idp_* (no token exchange / ID-JAG support)');
    if (ctx?.valid_jwt) unmapped.push('valid_jwt (no jwt-bearer grant)');
  }
  if (scenario === 'auth/basic-cimd') args.push('--client-metadata-url', CIMD_CLIENT_METADATA_URL);
  return { command: process.execPath, args, env, unmapped };
}

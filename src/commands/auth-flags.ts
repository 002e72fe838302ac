// How `login`, `token` and the proxy sign in, read from their flags and environment into a sign-in
// plan (auth/plan.ts): which client to be (--client-id with APPWRITE_MCP_CLIENT_SECRET, --issuer,
// --client-metadata-url, or a registered one) and which grant (the browser, `login --device-code`,
// --client-credentials, or enterprise-managed --idp-token-endpoint).
// Secrets come from the environment or stdin, never from argv (other users can read it in `ps`).
import { readFileSync } from 'node:fs';
import type { RequestTweaks, SignInPlan } from '../auth/plan.js';
import { AppError, Code } from '../errors.js';
import { jsonSyntaxError, registerSecret } from '../log.js';
import { parseSecureUrl } from '../net.js';
import { expandVariables } from '../target.js';

export interface AuthFlags {
  /** `--resource <uri>`, or false for `--no-resource`. */
  resource?: string | false;
  authorizeParam?: string[];
  callbackPort?: string;
  callbackHost?: string;
  callbackPath?: string;
  clientId?: string;
  clientMetadataUrl?: string;
  clientCredentials?: boolean;
  privateKeyFile?: string;
  idpTokenEndpoint?: string;
  idpClientId?: string;
  /** `login --device-code`: the device authorization grant (RFC 8628) instead of the browser redirect. */
  deviceCode?: boolean;
  /** mcp-remote's `--static-oauth-client-info`: `{"client_id", "client_secret"?}` as JSON or `@file`, `${VAR}` expanded. */
  staticOauthClientInfo?: string;
  /** `--issuer`: the authorization server a pre-registered client belongs to. */
  issuer?: string;
  /** `--dpop` (true: bind the tokens to a key or refuse) / `--no-dpop` (false: never); unset: when both servers take it. */
  dpop?: boolean;
  /** Workload identity (SEP-1933), proxy only: the platform's JWT in this file (re-read when it rotates)… */
  workloadJwtFile?: string;
  /** …or in this environment variable. */
  workloadJwtEnv?: string;
}

/** Parameters the authorization request sets itself: --authorize-param cannot replace them. */
const PROTECTED_PARAMS: Record<string, string> = {
  response_type: '', client_id: ' (use --client-id)', redirect_uri: ' (use --callback-host/-port/-path)', state: '',
  code_challenge: '', code_challenge_method: '', resource: ' (use --resource or --no-resource)', scope: ' (use --scope)',
};

function requestTweaks(flags: AuthFlags): RequestTweaks {
  const tweaks: RequestTweaks = {};
  if (flags.dpop !== undefined) tweaks.dpop = flags.dpop ? 'require' : 'off';
  if (flags.resource !== undefined) tweaks.resource = flags.resource === false ? false : parseSecureUrl(flags.resource, '--resource').href;
  for (const item of flags.authorizeParam ?? []) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq);
    if (eq <= 0) throw new AppError(Code.USAGE, `--authorize-param "${item}" is not key=value`);
    if (key in PROTECTED_PARAMS) throw new AppError(Code.USAGE, `--authorize-param cannot set "${key}": appwrite-mcp sets it${PROTECTED_PARAMS[key]}`);
    (tweaks.authorizeParams ??= {})[key] = item.slice(eq + 1);
  }
  if (flags.callbackPort !== undefined || flags.callbackHost !== undefined || flags.callbackPath !== undefined) {
    const port = flags.callbackPort === undefined ? undefined : Number(flags.callbackPort);
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new AppError(Code.USAGE, `--callback-port "${flags.callbackPort}" is not a port number`);
    const host = flags.callbackHost?.replace(/^\[|\]$/g, '');
    if (host !== undefined && host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      throw new AppError(Code.USAGE, `--callback-host "${flags.callbackHost}" is not a loopback host: use 127.0.0.1, localhost or [::1]`);
    }
    if (flags.callbackPath !== undefined && !/^\/[\w\-./~%]*$/.test(flags.callbackPath)) throw new AppError(Code.USAGE, `--callback-path "${flags.callbackPath}" must be a path starting with /`);
    tweaks.callback = { ...(port !== undefined ? { port } : {}), ...(host ? { host } : {}), ...(flags.callbackPath ? { path: flags.callbackPath } : {}) };
  }
  return tweaks;
}

export function signInPlan(flags: AuthFlags, env: NodeJS.ProcessEnv, clientSecretFromStdin?: string): SignInPlan {
  const tweaks = requestTweaks(flags);
  const info = flags.staticOauthClientInfo === undefined ? undefined : staticClientInfo(flags.staticOauthClientInfo, env);
  if (info && flags.clientId !== undefined && flags.clientId !== info.clientId) {
    throw new AppError(Code.USAGE, `--client-id "${flags.clientId}" and --static-oauth-client-info (client_id "${info.clientId}") disagree`);
  }
  const clientId = flags.clientId ?? info?.clientId ?? (env.APPWRITE_MCP_CLIENT_ID || undefined);
  const clientSecret = clientSecretFromStdin ?? info?.clientSecret ?? (env.APPWRITE_MCP_CLIENT_SECRET || undefined);
  registerSecret(clientSecret);
  const metadataUrl = flags.clientMetadataUrl ?? (env.APPWRITE_MCP_CLIENT_METADATA_URL || undefined);
  const clientMetadataUrl = metadataUrl === undefined ? undefined : parseSecureUrl(metadataUrl, '--client-metadata-url').href;
  if (clientSecret !== undefined && clientId === undefined) {
    throw new AppError(Code.USAGE, 'a client secret was given (APPWRITE_MCP_CLIENT_SECRET) without a client id', { hint: 'Pass --client-id <id> (or APPWRITE_MCP_CLIENT_ID) too.' });
  }
  const issuerText = flags.issuer ?? (env.APPWRITE_MCP_ISSUER || undefined);
  const issuer = issuerText === undefined ? undefined : (parseSecureUrl(issuerText, '--issuer'), issuerText);
  if (issuer !== undefined && clientId === undefined) {
    throw new AppError(Code.USAGE, '--issuer pins a pre-registered client to its authorization server: it goes with --client-id (or --static-oauth-client-info)');
  }
  const unattended = flags.clientCredentials || flags.idpTokenEndpoint !== undefined || flags.idpClientId !== undefined;
  if (flags.deviceCode && tweaks.callback) {
    throw new AppError(Code.USAGE, '--device-code uses no callback: --callback-port, --callback-host and --callback-path do not go with it');
  }
  if (flags.workloadJwtFile !== undefined || flags.workloadJwtEnv !== undefined) {
    return { ...tweaks, unattended: true, clientId, issuer, workload: workloadSource(flags, env, unattended || flags.deviceCode === true || clientSecret !== undefined) };
  }
  if (flags.deviceCode && unattended) {
    throw new AppError(Code.USAGE, '--device-code signs a person in; it does not go with --client-credentials or enterprise-managed sign-in (--idp-token-endpoint)');
  }
  if (flags.idpTokenEndpoint !== undefined || flags.idpClientId !== undefined) {
    const idToken = env.APPWRITE_MCP_IDP_ID_TOKEN || undefined;
    if (!flags.idpTokenEndpoint || !flags.idpClientId || !idToken || !clientId) {
      throw new AppError(Code.USAGE, 'enterprise-managed sign-in needs --idp-token-endpoint, --idp-client-id, --client-id and the ID token in APPWRITE_MCP_IDP_ID_TOKEN', {
        hint: 'The client secret for the MCP server\'s authorization server goes in APPWRITE_MCP_CLIENT_SECRET, the IdP client\'s (if any) in APPWRITE_MCP_IDP_CLIENT_SECRET.',
      });
    }
    registerSecret(idToken);
    const idpClientSecret = env.APPWRITE_MCP_IDP_CLIENT_SECRET || undefined;
    registerSecret(idpClientSecret);
    return {
      ...tweaks,
      unattended: true,
      clientId,
      clientSecret,
      issuer,
      privateKeyFile: flags.privateKeyFile,
      idp: { tokenEndpoint: parseSecureUrl(flags.idpTokenEndpoint, '--idp-token-endpoint').href, clientId: flags.idpClientId, clientSecret: idpClientSecret, idToken },
    };
  }
  if (flags.clientCredentials) {
    if (!clientId || (clientSecret === undefined && !flags.privateKeyFile)) {
      throw new AppError(Code.USAGE, '--client-credentials needs --client-id and either APPWRITE_MCP_CLIENT_SECRET or --private-key-file <pem>');
    }
    return { ...tweaks, unattended: true, clientId, clientSecret, issuer, privateKeyFile: flags.privateKeyFile };
  }
  if (flags.privateKeyFile) {
    throw new AppError(Code.USAGE, '--private-key-file is for --client-credentials or enterprise-managed sign-in (--idp-token-endpoint)');
  }
  return { ...tweaks, unattended: false, ...(flags.deviceCode ? { device: true } : {}), clientId, clientSecret, issuer, clientMetadataUrl };
}

/** `--workload-jwt-file` or `--workload-jwt-env`: one of them, alone among the grants. */
function workloadSource(flags: AuthFlags, env: NodeJS.ProcessEnv, otherGrant: boolean): { file: string } | { env: string } {
  if (flags.workloadJwtFile !== undefined && flags.workloadJwtEnv !== undefined) {
    throw new AppError(Code.USAGE, '--workload-jwt-file and --workload-jwt-env do not go together: give the one where the platform puts the token');
  }
  if (otherGrant) {
    throw new AppError(Code.USAGE, 'workload identity (--workload-jwt-file/--workload-jwt-env) is a sign-in of its own: it does not go with --client-credentials, --device-code, enterprise-managed sign-in or a client secret');
  }
  if (flags.workloadJwtFile !== undefined) return { file: flags.workloadJwtFile };
  const name = flags.workloadJwtEnv!;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AppError(Code.USAGE, `--workload-jwt-env "${name}" is not an environment variable name`);
  if (env[name] === undefined) throw new AppError(Code.USAGE, `--workload-jwt-env ${name}: the variable is not set`);
  return { env: name };
}

/**
 * `--static-oauth-client-info` as mcp-remote takes it: JSON, or `@path` to a JSON file, with
 * `${VAR}` replaced from the environment; `client_id` required, `client_secret` optional. The same
 * client as `--client-id` with APPWRITE_MCP_CLIENT_SECRET; a secret should come from `@file` or
 * `${VAR}`, not be written on the command line (other users can read it in `ps`).
 */
function staticClientInfo(value: string, env: NodeJS.ProcessEnv): { clientId: string; clientSecret?: string } {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      throw new AppError(Code.USAGE, `cannot read --static-oauth-client-info ${value}: ${(err as Error).message}`);
    }
  }
  // Inside JSON strings: each value goes in escaped.
  const expanded = expandVariables(text, env, '--static-oauth-client-info', (v) => JSON.stringify(v).slice(1, -1));
  let parsed: { client_id?: unknown; client_secret?: unknown };
  try {
    parsed = JSON.parse(expanded) as typeof parsed;
  } catch (err) {
    // Never V8's message: it quotes a slice of the text, and the text holds the expanded secret.
    throw new AppError(Code.USAGE, `--static-oauth-client-info is not valid JSON (${jsonSyntaxError(err, expanded)})`, { hint: 'Give {"client_id": "…", "client_secret": "${MY_SECRET}"} or @path/to/client.json.' });
  }
  if (typeof parsed?.client_id !== 'string' || !parsed.client_id) throw new AppError(Code.USAGE, '--static-oauth-client-info needs a "client_id" string');
  if (parsed.client_secret !== undefined && typeof parsed.client_secret !== 'string') throw new AppError(Code.USAGE, '--static-oauth-client-info: "client_secret" must be a string');
  return { clientId: parsed.client_id, ...(parsed.client_secret ? { clientSecret: parsed.client_secret } : {}) };
}

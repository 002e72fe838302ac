// Non-secret state (`<configDir>/state.json`): the sign-ins, their AS metadata and client
// registrations. Every change is a read-modify-write under a cross-process lock, so concurrent
// proxies never lose each other's updates. Only sign-ins.ts uses this module.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthorizationServer } from 'oauth4webapi';
import { AppError, Code } from '../errors.js';
import { jsonSyntaxError, type Logger } from '../log.js';
import { withLock } from './lock.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, tightenMode, writePrivateFile } from './private-file.js';
import type { ClientRecord, SignInRecord, StateFile } from './types.js';

export const STATE_FILE_NAME = 'state.json';
const STATE_VERSION = 2;
const STATE_LOCK = 'state';

export function statePath(dir: string): string {
  return join(dir, STATE_FILE_NAME);
}

export function emptyState(): StateFile {
  return { version: STATE_VERSION, signIns: {}, clients: {} };
}

/**
 * Reads the state. Missing → empty. Unreadable or malformed → moved aside to
 * `state.json.corrupt-<timestamp>` with a warning, then empty. Version 1 (appwrite-mcp 0.1) →
 * converted. A newer version → AppError STATE_VERSION.
 */
export async function loadState(dir: string, logger: Logger): Promise<StateFile> {
  const path = statePath(dir);
  await tightenMode(dir, PRIVATE_DIR_MODE, logger);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    return moveAside(path, `it could not be read (${(error as Error).message})`, logger);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return moveAside(path, `it is not valid JSON (${jsonSyntaxError(error, text)})`, logger);
  }
  if (isRecord(parsed) && typeof parsed.version === 'number' && parsed.version > STATE_VERSION) {
    throw new AppError(Code.STATE_VERSION, `${path} has version ${parsed.version}, but this appwrite-mcp only understands versions up to ${STATE_VERSION}`, {
      hint: 'Upgrade appwrite-mcp (or move the file away to start over).',
    });
  }
  if (isRecord(parsed) && parsed.version === 1 && isRecord(parsed.servers) && isRecord(parsed.clients)) {
    await tightenMode(path, PRIVATE_FILE_MODE, logger);
    return fromVersion1(parsed as unknown as StateV1);
  }
  if (!isRecord(parsed) || parsed.version !== STATE_VERSION || !isRecord(parsed.signIns) || !isRecord(parsed.clients)) {
    return moveAside(path, `it is not a version ${STATE_VERSION} state file with "signIns" and "clients"`, logger);
  }
  await tightenMode(path, PRIVATE_FILE_MODE, logger);
  return parsed as unknown as StateFile;
}

/**
 * Runs `change` on the current state and saves the result, all under the state lock. `change`
 * edits the state in place; what it returns is passed through.
 */
export async function updateState<T>(dir: string, logger: Logger, change: (state: StateFile) => T | Promise<T>): Promise<T> {
  return withLock(dir, STATE_LOCK, async () => {
    const state = await loadState(dir, logger);
    const result = await change(state);
    await writePrivateFile(statePath(dir), `${JSON.stringify(state, null, 2)}\n`, logger);
    return result;
  });
}

async function moveAside(path: string, why: string, logger: Logger): Promise<StateFile> {
  const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  try {
    await rename(path, aside);
    logger.warn(`ignoring ${path} because ${why}; moved it to ${aside} and starting with no saved sign-ins`);
  } catch (error) {
    // Another process may have moved it already; either way, carry on with an empty state.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`ignoring ${path} because ${why}; could not move it aside: ${(error as Error).message}`);
  }
  return emptyState();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The state file of appwrite-mcp 0.1: one server per URL, its tokens as one JSON entry named `secretKey`. */
interface StateV1 {
  servers: Record<string, {
    url: string;
    resource: string;
    as: { issuer: string; authorizationEndpoint: string; tokenEndpoint: string; registrationEndpoint?: string; revocationEndpoint?: string; userinfoEndpoint?: string; scopesSupported?: string[]; issParameterSupported?: boolean };
    clientId: string;
    registration: ClientRecord['method'];
    scopes: string[];
    expiresAt?: number;
    hasRefreshToken: boolean;
    account?: SignInRecord['account'];
    secretStore: SignInRecord['store'];
    secretKey: string;
    signedInAt: number;
    updatedAt: number;
  }>;
  clients: Record<string, ClientRecord>;
  signInFailures?: Record<string, number>;
}

function fromVersion1(v1: StateV1): StateFile {
  const state = emptyState();
  state.clients = v1.clients;
  state.signInFailures = v1.signInFailures;
  for (const server of Object.values(v1.servers)) {
    const e = server.as;
    const as: AuthorizationServer = {
      issuer: e.issuer,
      authorization_endpoint: e.authorizationEndpoint,
      token_endpoint: e.tokenEndpoint,
      registration_endpoint: e.registrationEndpoint,
      revocation_endpoint: e.revocationEndpoint,
      userinfo_endpoint: e.userinfoEndpoint,
      scopes_supported: e.scopesSupported,
      authorization_response_iss_parameter_supported: e.issParameterSupported,
      code_challenge_methods_supported: ['S256'], // checked at sign-in
    };
    state.signIns[server.url] = {
      key: server.url,
      url: server.url,
      resource: server.resource,
      as,
      client: v1.clients[e.issuer]?.clientId === server.clientId
        ? v1.clients[e.issuer]!
        : { issuer: e.issuer, clientId: server.clientId, method: server.registration, redirectUris: [], registeredAt: server.signedInAt },
      account: server.account,
      token: { fingerprint: '', parts: 0, expiresAt: server.expiresAt, obtainedAt: server.updatedAt, scopes: server.scopes, hasRefreshToken: server.hasRefreshToken },
      store: server.secretStore,
      signedInAt: server.signedInAt,
      updatedAt: server.updatedAt,
      legacySecret: server.secretKey,
    };
  }
  return state;
}

// Non-secret state (`<configDir>/state.json`): which servers are signed in, their AS endpoints and
// client registrations. Every change is a read-modify-write under a cross-process lock, so
// concurrent proxies never lose each other's updates.
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { withLock, type LockOptions } from './lock.js';
import { PRIVATE_FILE_MODE, tightenMode, writePrivateFile } from './private-file.js';
import type { StateFile } from './types.js';

export const STATE_FILE_NAME = 'state.json';
const STATE_LOCK = 'state';

export class StateVersionError extends Error {
  readonly code = 'STATE_VERSION_UNSUPPORTED';
  constructor(readonly path: string, readonly version: unknown) {
    super(`${path} has version ${JSON.stringify(version)}, but this appwrite-mcp only understands version 1; upgrade appwrite-mcp (or move the file away to start over)`);
    this.name = 'StateVersionError';
  }
}

export interface StateOptions {
  logger?: Logger;
  lock?: LockOptions;
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE_NAME);
}

export function emptyState(): StateFile {
  return { version: 1, servers: {}, clients: {} };
}

/**
 * Reads the state. Missing → empty. Unreadable or malformed → moved aside to
 * `state.json.corrupt-<timestamp>` with a warning, then empty. A newer version → StateVersionError.
 */
export async function loadState(dir: string, options: StateOptions = {}): Promise<StateFile> {
  const logger = options.logger ?? silentLogger;
  const path = statePath(dir);
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
    return moveAside(path, `it is not valid JSON (${(error as Error).message})`, logger);
  }
  if (isRecord(parsed) && typeof parsed.version === 'number' && parsed.version > 1) throw new StateVersionError(path, parsed.version);
  if (!isRecord(parsed) || parsed.version !== 1 || !isRecord(parsed.servers) || !isRecord(parsed.clients)) {
    return moveAside(path, 'it is not a version 1 state file with "servers" and "clients"', logger);
  }
  await tightenMode(path, PRIVATE_FILE_MODE, logger);
  return parsed as unknown as StateFile;
}

/**
 * Runs `change` on the current state and saves the result, all under the state lock. `change` may
 * edit the state in place or return a replacement.
 */
export async function updateState(dir: string, change: (state: StateFile) => StateFile | void | Promise<StateFile | void>, options: StateOptions = {}): Promise<StateFile> {
  const logger = options.logger ?? silentLogger;
  return withLock(dir, STATE_LOCK, async () => {
    const current = await loadState(dir, options);
    const next = (await change(current)) ?? current;
    await writePrivateFile(statePath(dir), `${JSON.stringify(next, null, 2)}\n`, logger);
    return next;
  }, options.lock);
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

// doctor reads files a cloned repository names (issue 19, item 10): a project's .mcp.json and the
// --header-file its appwrite-mcp entry points at. A FIFO there (mkfifo) must not hang it, nor a
// device: doctor opens regular files only, and reads a bounded amount of each. A URL with
// credentials in an entry is shown without them.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkClients, findClientEntries } from '../../src/doctor/clients.js';
import type { SetupEnvironment } from '../../src/setup/clients.js';

let root: string;
let e: SetupEnvironment;
const fifos: string[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'appwrite-mcp-doctor-files-'));
  mkdirSync(join(root, 'home'));
  mkdirSync(join(root, 'project'));
  e = { platform: 'linux', env: { PATH: '' }, home: join(root, 'home'), cwd: join(root, 'project') };
});
afterEach(() => {
  // A reader still blocked on a FIFO (the bug) gets its end of file, so the worker can exit.
  for (const f of fifos.splice(0)) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader left: nothing to release
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  fifos.push(path);
  return path;
}

/** findClientEntries, or "hung" after `ms`. */
function within<T>(p: Promise<T>, ms = 5_000): Promise<T | 'hung'> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)))]).finally(() => clearTimeout(timer));
}

const entry = (args: string[]) => JSON.stringify({ mcpServers: { appwrite: { command: 'npx', args: ['-y', 'appwrite-mcp', ...args] } } });

describe('doctor opens only regular files, and reads a bounded amount', () => {
  it('a --header-file that is a FIFO or a device: no hang, no header names read', async () => {
    fifo(join(e.cwd, 'headers.fifo'));
    writeFileSync(join(e.cwd, '.mcp.json'), entry(['--header-file', 'headers.fifo']));
    const found = await within(findClientEntries(e));
    expect(found).not.toBe('hung');
    const { entries } = found as Exclude<typeof found, 'hung'>;
    expect(entries.map((x) => [x.label, x.headerNames])).toEqual([['Claude Code (project)', []]]);

    writeFileSync(join(e.cwd, '.mcp.json'), entry(['--header-file', '/dev/zero']));
    const device = await within(findClientEntries(e));
    expect(device).not.toBe('hung');
    expect((device as Exclude<typeof device, 'hung'>).entries[0]!.headerNames).toEqual([]);
  });

  it('a project .mcp.json that is a FIFO: reported as not a regular file, no hang', async () => {
    fifo(join(e.cwd, '.mcp.json'));
    const found = await within(findClientEntries(e));
    expect(found).not.toBe('hung');
    const { entries, unreadable } = found as Exclude<typeof found, 'hung'>;
    expect(entries).toEqual([]);
    expect(unreadable).toEqual([{ file: join(e.cwd, '.mcp.json'), label: 'Claude Code (project)', error: 'not a regular file' }]);
  });

  it('a header file larger than the bound: the names in its first 64 KiB only', async () => {
    writeFileSync(join(e.cwd, 'headers'), `X-First: a\n${'#'.repeat(70 * 1024)}\nX-Late: b\n`);
    writeFileSync(join(e.cwd, '.mcp.json'), entry(['--header-file', 'headers']));
    const { entries } = await findClientEntries(e);
    expect(entries[0]!.headerNames).toEqual(['X-First']);
  });

  it('an entry whose --url has user:password@ (refused as a server URL): shown without the credentials', async () => {
    writeFileSync(join(e.cwd, '.mcp.json'), entry(['--url', 'https://admin:sk-live-SECRET-7f3a9c@mcp.example.test/']));
    const r = await checkClients({ url: 'https://mcp.example.test/' }, e);
    expect(r.detail!.join('\n')).toContain('→ an invalid URL "https://…@mcp.example.test/"');
    expect(JSON.stringify(r)).not.toContain('SECRET');
  });
});

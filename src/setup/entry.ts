// The stdio server entry `setup` writes: the command a client runs to start appwrite-mcp, pinned to
// this release line.

/** How the client starts the server: a command and its arguments. */
export interface ServerCommand {
  command: string;
  args: string[];
}

export const DEFAULT_ENTRY_NAME = 'appwrite';
/** Entry names `setup` accepts: safe as a JSON key, a bare TOML key, a YAML key and a `claude mcp add` name. */
export const ENTRY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export { packageSpec } from '../version.js';

/** The release line a spec pins, comparable: [major, minor] (minor -1 when the spec pins a major). */
export function pinnedLine(spec: string): [number, number] | undefined {
  const m = /^appwrite-mcp@(\d+)(?:\.(\d+))?(?:\.\d+)?(?:-[\w.]+)?$/i.exec(spec.trim());
  if (!m) return undefined;
  return [Number(m[1]), m[1] === '0' && m[2] !== undefined ? Number(m[2]) : -1];
}

/** Whether `existing` pins a newer release line than `ours` (both package specs). */
export function newerPin(existing: string, ours: string): boolean {
  const a = pinnedLine(existing);
  const b = pinnedLine(ours);
  if (!a || !b) return false;
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

/**
 * The words before the package: `npx -y`, or on Windows `cmd /c npx -y`. Desktop clients there
 * start commands without a shell, and `npx` is a `.cmd` script that only cmd can run.
 */
export function launcherWords(platform: NodeJS.Platform): string[] {
  return platform === 'win32' ? ['cmd', '/c', 'npx', '-y'] : ['npx', '-y'];
}

/** `npx -y <spec> [--url URL]` (through cmd on Windows): the entry of a first setup. */
export function serverCommand(platform: NodeJS.Platform, spec: string, url?: string): ServerCommand {
  const [command, ...launcher] = launcherWords(platform);
  return { command: command!, args: [...launcher, spec, ...(url ? ['--url', url] : [])] };
}

const OURS = /(?:^|[\\/])appwrite-mcp(?:@[^\\/\s]*)?(?:\.js|\.cmd|\.exe)?$/i;

/** Where appwrite-mcp itself (its package spec, or a path to its launcher) is in a command line. */
export function appwriteMcpIndex(words: unknown[]): number {
  return words.findIndex((w) => typeof w === 'string' && OURS.test(w.trim()));
}

/**
 * Whether an existing entry starts appwrite-mcp (in any form: npx, a pinned version, a checkout's
 * bin/appwrite-mcp.js, cmd /c …), as opposed to some other server that happens to use the name.
 */
export function runsAppwriteMcp(command: unknown, args: unknown): boolean {
  return appwriteMcpIndex([command, ...(Array.isArray(args) ? args : [])]) >= 0;
}

// The stdio server entry `setup` writes: the command a client runs to start appwrite-mcp.

/** How the client starts the server: a command and its arguments. */
export interface ServerCommand {
  command: string;
  args: string[];
}

export const DEFAULT_ENTRY_NAME = 'appwrite';
/** Entry names `setup` accepts: safe as a JSON key, a bare TOML key and a `claude mcp add` name. */
export const ENTRY_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `npx -y appwrite-mcp [--url URL]`, or on Windows `cmd /c npx -y appwrite-mcp [--url URL]`: desktop
 * clients there start commands without a shell, and `npx` is a `.cmd` script that only cmd can run.
 */
export function serverCommand(platform: NodeJS.Platform, url?: string): ServerCommand {
  const args = ['-y', 'appwrite-mcp', ...(url ? ['--url', url] : [])];
  return platform === 'win32' ? { command: 'cmd', args: ['/c', 'npx', ...args] } : { command: 'npx', args };
}

const OURS = /(?:^|[\\/])appwrite-mcp(?:@[^\\/\s]*)?(?:\.js|\.cmd|\.exe)?$/i;

/**
 * Whether an existing entry starts appwrite-mcp (in any form: npx, a pinned version, a checkout's
 * bin/appwrite-mcp.js, cmd /c …), as opposed to some other server that happens to use the name.
 */
export function runsAppwriteMcp(command: unknown, args: unknown): boolean {
  const words = [command, ...(Array.isArray(args) ? args : [])].filter((w): w is string => typeof w === 'string');
  return words.some((w) => OURS.test(w.trim()));
}

/** A command line for people to read (and paste into a POSIX shell or cmd). */
export function formatCommandLine(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./\\-]+$/.test(w) ? w : `"${w.replace(/(["\\$`])/g, '\\$1')}"`)).join(' ');
}

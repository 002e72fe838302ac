// Re-running `setup` on an entry that already starts appwrite-mcp changes only what setup owns: the
// launcher (`npx -y`, `cmd /c npx -y` on Windows), the package pin, and the server URL when --url is
// given. Every other argument is the user's (--read-only, --ignore-tool, --header, --profile,
// --client-id, …) and stays where it was, in its order.
import { DEFAULT_SERVER_URL, resolveServerUrl } from '../target.js';
import { appwriteMcpIndex, launcherWords, newerPin, serverCommand, type ServerCommand } from './entry.js';

export interface Wanted {
  platform: NodeJS.Platform;
  /** The package spec to pin (`appwrite-mcp@0.1`). */
  spec: string;
  /** The server to connect to, normalized; undefined: keep the entry's own. */
  url?: string;
  /** Replace another server's entry; pin this release even over a newer pin. */
  force: boolean;
}

export interface Merged {
  server: ServerCommand;
  /** For people: what setup changed, one line each (no argument values but its own). */
  changes: string[];
  /** Names of the user's own flags, kept. */
  keptFlags: string[];
  notes: string[];
}

const NONE = '(none: the default server)';

/** The command line of a new entry. */
export function freshServer(w: Wanted): ServerCommand {
  return serverCommand(w.platform, w.spec, w.url === undefined || w.url === DEFAULT_SERVER_URL ? undefined : w.url);
}

/** `npx [flags with -y] …`, or on Windows `cmd /c npx[.cmd] [flags with -y] …`: kept as the user wrote it. */
function isNpxLauncher(words: string[], platform: NodeJS.Platform): boolean {
  let rest = words;
  if (platform === 'win32') {
    if (!/^cmd(\.exe)?$/i.test(rest[0] ?? '') || !/^\/c$/i.test(rest[1] ?? '')) return false;
    rest = rest.slice(2);
    if (!/^npx(\.cmd)?$/i.test(rest[0] ?? '')) return false;
  } else if (!/(^|\/)npx$/.test(rest[0] ?? '')) {
    return false;
  }
  const flags = rest.slice(1);
  return flags.every((f) => f.startsWith('-')) && flags.some((f) => f === '-y' || f === '--yes');
}

/** Words for messages: flag values after `=` hidden (npx --registry=…). */
const shown = (words: string[]) => words.map((w) => (/^--?[\w-]+=/.test(w) ? `${w.slice(0, w.indexOf('=') + 1)}…` : w)).join(' ');

interface UrlSlot {
  index: number;
  form: 'flag' | 'flag=' | 'positional';
  value?: string;
}

/** Where the server URL is in the user's part of the args: --url, --url=, or mcp-remote's positional form. */
function urlSlots(args: string[]): UrlSlot[] {
  const slots: UrlSlot[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--url') slots.push({ index: i++, form: 'flag', value: args[i] });
    else if (args[i]!.startsWith('--url=')) slots.push({ index: i, form: 'flag=', value: args[i]!.slice(6) });
  }
  // `appwrite-mcp <url> [callback-port]` (also after `proxy`), as mcp-remote takes it.
  const first = args[0] === 'proxy' ? 1 : 0;
  if (/^https?:\/\//i.test(args[first] ?? '')) slots.unshift({ index: first, form: 'positional', value: args[first] });
  return slots;
}

const sameServer = (raw: string | undefined, url: string) => {
  try {
    return raw !== undefined && resolveServerUrl(raw, {}) === url;
  } catch {
    return false;
  }
};

/** Sets the server URL in the user's args (in place where it was); returns the old raw value. */
function setUrl(args: string[], url: string): { args: string[]; old?: string; changed: boolean } {
  const slots = urlSlots(args);
  const wantFlag = url !== DEFAULT_SERVER_URL;
  const first = slots[0];
  if (!first) return { args: wantFlag ? ['--url', url, ...args] : args, changed: wantFlag };
  if (slots.length === 1 && sameServer(first.value, url)) return { args, old: first.value, changed: false };
  const out = [...args];
  const drop = new Set<number>();
  for (const s of slots.slice(1)) {
    drop.add(s.index);
    if (s.form === 'flag') drop.add(s.index + 1);
  }
  if (first.form === 'positional') out[first.index] = url; // a following callback port keeps its place
  else if (!wantFlag) drop.add(first.index).add(first.form === 'flag' ? first.index + 1 : -1);
  else if (first.form === 'flag=') out[first.index] = `--url=${url}`;
  else out[first.index + 1] = url;
  return { args: out.filter((_, i) => !drop.has(i)), old: first.value, changed: true };
}

/** The user's flag names (never their values), once each. */
function flagNames(args: string[]): string[] {
  return [...new Set(args.filter((a) => /^-{1,2}[A-Za-z]/.test(a)).map((a) => a.split('=')[0]!).filter((a) => a !== '--url'))];
}

/**
 * The command line for an entry whose `words` (command, then args: all strings, appwrite-mcp among
 * them) already start appwrite-mcp, with what setup owns brought up to date.
 */
export function mergeServer(words: string[], w: Wanted): Merged {
  const at = appwriteMcpIndex(words);
  if (at < 0) throw new TypeError('mergeServer: not an appwrite-mcp command line');
  const before = words.slice(0, at);
  const found = words[at]!.trim();
  const isSpec = /^appwrite-mcp(@\S*)?$/i.test(found);
  const changes: string[] = [];
  const notes: string[] = [];

  let spec = w.spec;
  if (isSpec && newerPin(found, w.spec) && !w.force) {
    spec = found;
    notes.push(`kept the pin ${found}: it is newer than this appwrite-mcp (${w.spec}); --force pins ${w.spec}`);
  }
  const launcher = isSpec && isNpxLauncher(before, w.platform) ? before : launcherWords(w.platform);
  if (!isSpec || launcher !== before) changes.push(`runs: ${shown([...before, found])} → ${[...launcher, spec].join(' ')}`);
  else if (spec !== found) changes.push(`package: ${found} → ${spec}`);

  let args = words.slice(at + 1);
  if (w.url !== undefined) {
    const set = setUrl(args, w.url);
    if (set.changed) changes.push(`--url: ${set.old ?? NONE} → ${w.url === DEFAULT_SERVER_URL && !urlSlots(set.args).length ? NONE : w.url}`);
    args = set.args;
  }
  const [command, ...rest] = launcher;
  return { server: { command: command!, args: [...rest, spec, ...args] }, changes, keptFlags: flagNames(args), notes };
}

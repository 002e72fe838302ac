// The README's claims, checked against what exists: every command, flag, environment variable, file
// path, npm script and in-page link it names, the clients `setup` knows, and the entries it prints.
// The model is cli.test.ts's "--help names every environment variable the CLI reads", the other way
// round: nothing the README tells a user to type may be stale.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempConfigDir } from '../helpers/cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** The README's code: inline spans and fenced blocks, with the section each sits in. */
function code(markdown: string): { text: string; section: string }[] {
  const out: { text: string; section: string }[] = [];
  let section = '';
  let fence: string[] | undefined;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      if (fence) { out.push({ text: fence.join('\n'), section }); fence = undefined; } else fence = [];
      continue;
    }
    if (fence) { fence.push(line); continue; }
    const heading = /^#{1,4} (.*)/.exec(line);
    if (heading) section = heading[1]!;
    for (const m of line.matchAll(/`([^`]+)`/g)) out.push({ text: m[1]!, section });
  }
  return out;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** The flags a `--help` text lists (`-H, --header <name:value>`, `--no-browser`, …). */
function helpFlags(help: string): Set<string> {
  return new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

// Flags of other programs the README names, each with the file that proves it: our own scripts'
// flags are read from their source, other tools' are named with the tool.
const FOREIGN: Record<string, string> = {
  '--quick': 'test/bench/run.ts', '--line': 'test/run.mjs', '--target': 'test/interop/conformance.ts',
  '--catalog': 'test/cloud/main.ts', '--cimd': 'test/cloud/main.ts', '--if-available': 'test/with-keyring.mjs',
  '--omit': 'npm', '--dry-run': 'npm', '--use-env-proxy': 'node', '--dns-result-order': 'node', '--scope': 'claude mcp add',
  // V8 flags the proxy used to set, named where the README says why it no longer does.
  '--semi-space-growth-factor': 'node', '--optimize-for-size': 'node',
};

describe('README', () => {
  const spans = code(README);
  let commands: string[];
  const flagsOf = new Map<string, Set<string>>();
  let allFlags: Set<string>;

  beforeAll(async () => {
    const env = { APPWRITE_MCP_CONFIG_DIR: tempConfigDir().dir };
    const main = (await runCli(['--help'], env)).stdout;
    commands = [...main.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    flagsOf.set('', helpFlags(main.split('Commands:')[0]!));
    await Promise.all(commands.map(async (c) => flagsOf.set(c, helpFlags((await runCli([c, '--help'], env)).stdout))));
    allFlags = new Set([...flagsOf.values()].flatMap((s) => [...s]));
  });

  it('names only commands the CLI has, and each with flags that command takes', () => {
    expect(commands).toEqual(expect.arrayContaining(['proxy', 'login', 'status', 'logout', 'token', 'setup', 'doctor']));
    const problems: string[] = [];
    for (const { text } of spans) {
      for (const line of text.split('\n')) {
        const m = /(?:^|\$ |npx (?:-y )?)appwrite-mcp(?:@[\w.]+)? ([a-z][a-z-]*)((?: [^#|]*)?)/.exec(line);
        if (!m || line.includes('mcp-remote')) continue;
        const [, command, rest] = m;
        if (!commands.includes(command!)) { problems.push(`unknown command in \`${line}\``); continue; }
        for (const f of rest!.matchAll(/(?:^|\s)(--[a-z][a-z0-9-]*)/g)) {
          const flag = f[1]!;
          if (!flagsOf.get(command!)!.has(flag) && !flagsOf.get('')!.has(flag)) problems.push(`${command} does not take ${flag}: \`${line}\``);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('names only flags some command takes (other programs\' flags are listed with their source)', () => {
    const problems: string[] = [];
    for (const { text, section } of spans) {
      for (const f of text.matchAll(/(?:^|[\s[(`,])(--[a-z][a-z0-9-]*)/g)) {
        const flag = f[1]!;
        if (allFlags.has(flag)) continue;
        // mcp-remote's own flags, in the table that maps each to ours.
        if (section === 'Coming from mcp-remote') continue;
        const owner = FOREIGN[flag];
        if (!owner) { problems.push(`${flag} (in "${section}")`); continue; }
        if (owner.includes('/')) expect(readFileSync(join(ROOT, owner), 'utf8'), `${flag} in ${owner}`).toContain(flag);
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents every flag the CLI takes', () => {
    const documented = new Set(spans.flatMap(({ text }) => [...text.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0])));
    expect([...allFlags].filter((flag) => !documented.has(flag))).toEqual([]);
  });

  it('names every APPWRITE_MCP_ variable the CLI reads, and only those', () => {
    const source: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path); else source.push(readFileSync(path, 'utf8'));
      }
    };
    walk(join(ROOT, 'src'));
    const read = new Set(source.flatMap((s) => [...s.matchAll(/\bAPPWRITE_MCP_[A-Z0-9_]+/g)].map((m) => m[0])));
    const named = new Set([...README.matchAll(/\bAPPWRITE_MCP_[A-Z0-9_]+/g)].map((m) => m[0]));
    const environment = README.split('\n## Environment\n')[1]!.split('\n## ')[0]!;
    expect([...named].filter((v) => !read.has(v))).toEqual([]);
    expect([...read].filter((v) => !environment.includes(v))).toEqual([]);
  });

  it('names only files that exist and npm scripts that package.json has', () => {
    const missing: string[] = [];
    for (const { text } of spans) {
      for (const m of text.matchAll(/(?:^|[\s(])((?:src|test|bin|dist)\/[\w./*-]*[\w/*])/g)) {
        const path = m[1]!;
        if (path.includes('*')) continue; // a pattern (mcp-remote's dist/chunk-*.js), not one of our files
        if (!existsSync(join(ROOT, path))) missing.push(path);
      }
      for (const m of text.matchAll(/npm run ([\w:-]+)/g)) if (!PACKAGE.scripts[m[1]!]) missing.push(`npm run ${m[1]}`);
    }
    expect(missing).toEqual([]);
  });

  it('links only to sections it has', () => {
    const anchors = new Set([...README.matchAll(/^#{1,4} (.*)$/gm)].map((m) => anchor(m[1]!)));
    const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });

  it('lists the clients setup knows, and shows the entries setup prints', async () => {
    const env = { APPWRITE_MCP_CONFIG_DIR: tempConfigDir().dir, HOME: tempConfigDir().dir };
    const help = (await runCli(['setup', '--help'], env)).stdout;
    const known = [...help.split('Arguments:')[1]!.split('Options:')[0]!.replace(/^\s*client\b/, '').matchAll(/[a-z][a-z-]+[a-z]/g)]
      .map((m) => m[0]).filter((w) => w !== 'or');
    expect(known.length).toBe(16);
    const firstScreen = README.split('\n## Commands\n')[0]!;
    const block = code(firstScreen).find((c) => c.text.includes('npx -y appwrite-mcp setup '))!.text;
    const listed = block.replace('npx -y appwrite-mcp setup ', '').replace('# or ', '').split(/[\s,#]+/).filter(Boolean);
    expect(new Set(listed)).toEqual(new Set(known));
    const table = README.split('\n### `appwrite-mcp setup')[1]!;
    for (const client of known) expect(table, client).toContain(`| \`${client}\``);
    for (const client of ['claude-desktop', 'vscode', 'codex', 'claude-code']) {
      const printed = (await runCli(['setup', client, '--print'], env)).stdout.trim();
      expect(README, `setup ${client} --print`).toContain(printed);
    }
  });
});

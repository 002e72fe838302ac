// Where the proxy's time goes: `node --import tsx test/bench/profile.ts [--subject proxy|mcp-remote]`
// runs the subject under `node --cpu-prof` against the local cloud (same sign-in as the bench), once
// under load (sequential small and 100 KB echo calls, then calls in flight) and several times from
// a cold start to the initialize response, and prints the top self-time functions and packages.
// The .cpuprofile files stay in --out (open them in Chrome DevTools → Performance, or speedscope).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ROOT } from '../helpers/cli.js';
import { startCloudProcess } from './cloud.js';
import { averageSummaries, summarizeProfile, type ProfileSummary } from './cpuprofile.js';
import { coldStart, inFlight, sequential } from './measure.js';
import { signInOnce } from './sign-in.js';
import { median } from './stats.js';
import { createSubjects } from './subjects.js';

const { values } = parseArgs({
  options: {
    subject: { type: 'string', default: 'proxy' },
    small: { type: 'string', default: '3000' },
    large: { type: 'string', default: '300' },
    inflight: { type: 'string', default: '3000' },
    cold: { type: 'string', default: '7' },
    interval: { type: 'string', default: '200' },
    top: { type: 'string', default: '25' },
    out: { type: 'string', default: '.test-artifacts/profiles' },
  },
});
const subjectName = values.subject as 'proxy' | 'mcp-remote';
if (subjectName !== 'proxy' && subjectName !== 'mcp-remote') throw new Error('--subject must be proxy or mcp-remote');
const top = Number(values.top);
const out = resolve(ROOT, values.out!, subjectName);
rmSync(out, { recursive: true, force: true });
const loadDir = join(out, 'load');
const coldDir = join(out, 'cold');
mkdirSync(loadDir, { recursive: true });
mkdirSync(coldDir, { recursive: true });
const profFlags = (dir: string) => ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', values.interval!];

function print(title: string, s: ProfileSummary) {
  const busy = s.functions.filter((f) => f.key !== '(idle)').reduce((a, f) => a + f.ms, 0);
  process.stdout.write(`\n### ${title}: ${s.totalMs.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms not idle\n\nself time by package / area:\n`);
  for (const g of s.groups.filter((x) => x.key !== '(idle)').slice(0, 15)) process.stdout.write(`  ${g.ms.toFixed(1).padStart(9)} ms  ${((g.ms / busy) * 100).toFixed(1).padStart(5)} %  ${g.key}\n`);
  process.stdout.write('top self-time functions:\n');
  for (const f of s.functions.filter((x) => x.key !== '(idle)').slice(0, top)) process.stdout.write(`  ${f.ms.toFixed(1).padStart(9)} ms  ${((f.ms / busy) * 100).toFixed(1).padStart(5)} %  ${f.key}\n`);
}

const cloud = await startCloudProcess();
try {
  const signIn = await signInOnce(cloud, cloud.mcpUrl);
  const set = createSubjects([subjectName], cloud.mcpUrl, signIn);
  try {
    const cmd = set.subjects[0]!.stdio!;
    // ---- cold start ----
    const coldMs: number[] = [];
    await coldStart(cmd); // page cache
    for (let i = 0; i < Number(values.cold); i++) {
      coldMs.push((await coldStart({ ...cmd, args: [...profFlags(coldDir), ...cmd.args] })).ms);
    }
    const coldFiles = readdirSync(coldDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(coldDir, f));
    process.stdout.write(`# ${subjectName}: cold start under --cpu-prof, median ${median(coldMs).toFixed(1)} ms (${coldFiles.length} profiles; profiling adds overhead)\n`);
    if (coldFiles.length) print(`cold start, averaged over ${coldFiles.length} runs (spawn → exit after initialize)`, averageSummaries(coldFiles.map(summarizeProfile)));
    else process.stdout.write('no cold-start profile was written: the process did not exit by itself on stdin EOF\n');

    // ---- under load ----
    const transport = new StdioClientTransport({ ...cmd, args: [...profFlags(loadDir), ...cmd.args], stderr: 'pipe' });
    transport.stderr?.on('data', () => {});
    const client = new Client({ name: 'appwrite-mcp-profile', version: '1.0.0' });
    await client.connect(transport);
    const echo = async (text: string) => { await client.callTool({ name: 'echo', arguments: { text } }); };
    const t0 = Date.now();
    await sequential(echo, 'hello, bench', Number(values.small));
    await sequential(echo, 'x'.repeat(100 * 1024), Number(values.large));
    await inFlight(echo, 'hello, bench', Number(values.inflight), 32);
    const loadMs = Date.now() - t0;
    await client.close();
    await new Promise((r) => setTimeout(r, 500));
    const loadFiles = readdirSync(loadDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(loadDir, f));
    process.stdout.write(`\n# ${subjectName} under load: ${values.small} small + ${values.large} × 100 KB sequential, ${values.inflight} with 32 in flight, ${loadMs} ms wall\n`);
    for (const f of loadFiles) print(`load (${f.replace(ROOT, '')})`, summarizeProfile(f));
    if (!loadFiles.length) process.stdout.write('no load profile was written: the process did not exit cleanly on close\n');
    process.stdout.write(`\nprofiles in ${out}\n`);
  } finally {
    set.cleanup();
    signIn.cleanup();
  }
} finally {
  await cloud.stop();
}

// quick: peak RSS of the proxy for workload B (n seq + n in flight) per (node, bin)
import { spawn } from 'node:child_process';
import { startCloudProcess } from './cloud.js';
import { signInOnce } from './sign-in.js';
import { memoryOf } from '../helpers/raw-stdio.js';
const N = Number(process.env.N ?? 1000);
const cloud = await startCloudProcess();
const signIn = await signInOnce(cloud, cloud.mcpUrl);
const combos = (process.env.COMBOS ?? '').split(' ').filter(Boolean).map((c) => c.split(':'));
async function run(node: string, bin: string) {
  const child = spawn(node, [...(process.env.PRE ? ['--import', process.env.PRE] : []), ...(process.env.SNAP ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${process.env.SNAP}`] : []), bin, '--url', cloud.mcpUrl], { env: { ...process.env, APPWRITE_MCP_CONFIG_DIR: signIn.configDir, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = ''; const waiters = new Map<string, (m: any) => void>();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); const m = JSON.parse(l); waiters.get(String(m.id))?.(m); } });
  let n = 0;
  const req = (method: string, params: any) => new Promise<any>((r) => { const id = `r${++n}`; waiters.set(id, r); child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n'); });
  await req('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'm', version: '1' } });
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  await req('tools/list', {});
  await new Promise((r) => setTimeout(r, 300));
  const idle = memoryOf(child.pid!)!.peak;
  const text = 'x'.repeat(100 * 1024);
  for (let i = 0; i < N; i++) await req('tools/call', { name: 'echo', arguments: { text } });
  let started = 0;
  await Promise.all(Array.from({ length: 32 }, async () => { while (started < N) { started++; await req('tools/call', { name: 'echo', arguments: { text } }); } }));
  const peak = memoryOf(child.pid!)!.peak;
  if (process.env.SNAP) { child.kill('SIGUSR2'); await new Promise((r) => setTimeout(r, 8000)); }
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  console.log(`${node.split('/').slice(-3).join('/')} ${bin}: idle ${(idle / 2 ** 20).toFixed(1)} MB, peak ${(peak / 2 ** 20).toFixed(1)} MB`);
}
try { for (const [node, bin] of combos) await run(node, bin); } finally { signIn.cleanup(); await cloud.stop(); }

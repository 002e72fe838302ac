// Rough in-process microbenchmark: sequential echo round trips and 32-in-flight throughput,
// SDK Client → server directly vs. SDK Client → bridge (PassThrough stdio) → server.
// Run: node --import tsx test/proxy/microbench.ts [stateless|stateful|json]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startFixture, type FixtureMode } from './fixture-server.js';
import { newClient, startProxy, TestAuthorizer } from './harness.js';

const TOKEN = 'bench-token-aaaaaaaa';
const mode = (process.argv[2] ?? 'stateless') as FixtureMode;
const N = 2000;

async function measure(client: Client) {
  for (let i = 0; i < 200; i++) await client.callTool({ name: 'echo', arguments: { text: 'warm' } });
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await client.callTool({ name: 'echo', arguments: { text: `hello ${i}` } });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const started = performance.now();
  let next = 0;
  await Promise.all([...Array(32)].map(async () => {
    while (next++ < N) await client.callTool({ name: 'echo', arguments: { text: 'x' } });
  }));
  const throughput = N / ((performance.now() - started) / 1000);
  return { p50: times[N / 2]!, p90: times[Math.floor(N * 0.9)]!, throughput };
}

const fixture = await startFixture({ mode, tokens: [TOKEN] });
const direct = new Client({ name: 'bench', version: '1' });
await direct.connect(new StreamableHTTPClientTransport(new URL(fixture.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
const d = await measure(direct);
await direct.close();

const p = startProxy({ url: fixture.url, authorizer: new TestAuthorizer(TOKEN) });
const viaProxy = newClient();
await p.connectClient(viaProxy);
const b = await measure(viaProxy);
p.stop();
await p.done;
await fixture.close();

const fmt = (r: typeof d) => `p50 ${r.p50.toFixed(3)} ms  p90 ${r.p90.toFixed(3)} ms  32-in-flight ${r.throughput.toFixed(0)} calls/s`;
console.log(`mode ${mode}\ndirect  ${fmt(d)}\nbridge  ${fmt(b)}\nadded p50 ${(b.p50 - d.p50).toFixed(3)} ms, throughput ${((b.throughput / d.throughput) * 100).toFixed(0)}% of direct`);

// The local cloud in its own process for the bench, so the server never shares an event loop (or a
// core's time slices) with the clients being measured: the bench process holds only clients, as a
// desktop app would, and the server is "remote". Talks to the parent over the fork IPC channel.
import { startCloud, type CloudStats } from '../cloud/index.js';

export type CloudRequest = { type: 'stats'; id: number } | { type: 'stop' } | { type: 'restart-mcp'; id: number };
export type CloudMessage =
  | { type: 'ready'; mcpUrl: string; projectMcpUrl: string; modernMcpUrl: string; dualMcpUrl: string; issuer: string; user: { login: string; password: string } }
  | { type: 'stats'; id: number; stats: CloudStats }
  | { type: 'restarted'; id: number }
  | { type: 'error'; message: string };

const send = (m: CloudMessage) => process.send!(m);

try {
  const cloud = await startCloud({ accessTokenTtl: Number(process.env.BENCH_ACCESS_TOKEN_TTL ?? 3600) });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cloud.stop().catch(() => {});
    process.exit(0);
  };
  process.on('message', (m: CloudRequest) => {
    if (m.type === 'stats') send({ type: 'stats', id: m.id, stats: { ...cloud.stats } });
    else if (m.type === 'restart-mcp') void cloud.restartMcpServer().then(() => send({ type: 'restarted', id: m.id }));
    else if (m.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop()); // the bench went away
  process.on('SIGTERM', () => void stop());
  send({ type: 'ready', mcpUrl: cloud.mcpUrl, projectMcpUrl: cloud.projectMcpUrl('demo-project'), modernMcpUrl: cloud.modernMcpUrl, dualMcpUrl: cloud.dualMcpUrl, issuer: cloud.issuer, user: { login: cloud.user.login, password: cloud.user.password } });
} catch (error) {
  send({ type: 'error', message: (error as Error).stack ?? String(error) });
  process.exit(1);
}

// The era pairings through the proxy, steady state: p50 of sequential small `tools/call echo`, the
// four pairings taking turns block by block. Each translated pairing is held to the pass-through to
// the same server (the same server work, only the translation added):
//   2025 client → 2026-07-28 server      against  2026-07-28 client ⇄ 2026-07-28 server
//   2026-07-28 client → 2025 server      against  2025 client ⇄ 2025 server
// Every client is the SDK v2 client over stdio, a 2025 one with `versionNegotiation: 'legacy'` (it
// initializes as SDK 1.x does): with one client SDK on both sides of each comparison, the difference
// is the proxy's, not the SDKs' (the v2 client does more per message than SDK 1.32's).
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { BIN, baseEnv } from '../helpers/cli.js';
import { msSince, summarize, type Summary } from './stats.js';

export interface PairingResult {
  name: string;
  small: Summary;
  /** For a translated pairing: the pass-through it is held to, and p50 ÷ that p50. */
  against?: string;
  ratio?: number;
}

export interface PairingTarget {
  /** e.g. '2025': the server kind. */
  url: string;
  configDir: string;
}

const TEXT = 'hello, bench';
const BLOCK = 50;

interface Live {
  name: string;
  echo(): Promise<void>;
  close(): Promise<void>;
  samples: number[];
}

function env(configDir: string): Record<string, string> {
  const e = baseEnv();
  delete e.NODE_OPTIONS;
  return { ...(e as Record<string, string>), APPWRITE_MCP_CONFIG_DIR: configDir };
}

async function v1(name: string, t: PairingTarget): Promise<Live> {
  return v2(name, t, 'legacy');
}

async function v2(name: string, t: PairingTarget, mode: 'auto' | 'legacy' = 'auto'): Promise<Live> {
  const client = new ClientV2({ name: 'bench-v2', version: '2.4.0' }, { versionNegotiation: { mode } });
  await client.connect(new StdioV2({ command: process.execPath, args: [BIN, '--url', t.url], env: env(t.configDir), stderr: 'ignore' }), { timeout: 60_000 } as never);
  const era = mode === 'auto' ? 'modern' : 'legacy';
  if (client.getProtocolEra() !== era) throw new Error(`${name}: the client negotiated ${client.getProtocolEra()}, not ${era}`);
  const echo = async () => check(await client.callTool({ name: 'echo', arguments: { text: TEXT } }) as never);
  return { name, echo, close: () => client.close(), samples: [] };
}

function check(result: { content?: Array<{ text?: string }> }): void {
  if (result.content?.[0]?.text !== TEXT) throw new Error(`echo came back wrong: ${JSON.stringify(result).slice(0, 200)}`);
}

export const PASS_2025 = '2025 client ⇄ 2025 server';
export const PASS_MODERN = '2026-07-28 client ⇄ 2026-07-28 server';
export const TO_MODERN = '2025 client → 2026-07-28 server';
export const TO_2025 = '2026-07-28 client → 2025 server';

/** `calls` sequential echo calls through each pairing, taking turns every BLOCK calls. */
export async function measurePairings(servers: { '2025': PairingTarget; modern: PairingTarget }, calls: number): Promise<PairingResult[]> {
  const live: Live[] = [];
  try {
    live.push(await v1(PASS_2025, servers['2025']), await v2(PASS_MODERN, servers.modern), await v1(TO_MODERN, servers.modern), await v2(TO_2025, servers['2025']));
    for (const l of live) for (let i = 0; i < 30; i++) await l.echo(); // warm-up
    for (let done = 0, b = 0; done < calls; done += BLOCK, b++) {
      for (const l of [...live.slice(b % live.length), ...live.slice(0, b % live.length)]) {
        for (let i = 0; i < Math.min(BLOCK, calls - done); i++) {
          const t0 = process.hrtime.bigint();
          await l.echo();
          l.samples.push(msSince(t0));
        }
      }
    }
  } finally {
    for (const l of live) await l.close().catch(() => {});
  }
  const out = live.map((l) => ({ name: l.name, small: summarize(l.samples) }) as PairingResult);
  const p50 = (name: string) => out.find((r) => r.name === name)!.small.p50;
  for (const [translated, pass] of [[TO_MODERN, PASS_MODERN], [TO_2025, PASS_2025]] as const) {
    const r = out.find((x) => x.name === translated)!;
    r.against = pass;
    r.ratio = r.small.p50 / p50(pass);
  }
  return out;
}

// What the bridge learned about a server's protocol era, kept so that it is learned once: in memory
// for the life of the process, and in `eras.json` in the config directory for the next copies (a
// 2026-07-28 stdio client starts a throw-away copy only to ask `server/discover`, then the real one).
// It is a cache: no secrets, no lock (last writer wins, a lost update costs one probe), and a record
// that turns out wrong is corrected where the server refuses it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { writePrivateFile } from '../../store/private-file.js';
import type { ServerAbout } from './about.js';

export interface EraRecord {
  /**
   * The server speaks 2026-07-28 (true: `server/discover` said so, or an initialize was answered as
   * such) or the 2025 era only (false). A 2025 client trusts `false` for as long as the server does
   * not contradict it (no probe at its start); a 2026-07-28 client re-probes after ERA_TTL_MS.
   */
  modern?: boolean;
  /** What the server said about itself, to answer `initialize` / `server/discover` without asking. */
  about?: ServerAbout;
  /** `--transport auto`: the server refused Streamable HTTP and speaks HTTP+SSE (2024-11-05), or no longer does. */
  transport?: 'http' | 'sse';
  /** When `modern` was last established (epoch ms). */
  checkedAt: number;
}

export interface EraCache {
  load(): Promise<EraRecord | undefined>;
  /** Merges `change` into the record (best effort: a failure is logged, never thrown). */
  save(change: Partial<EraRecord>): Promise<void>;
  /** Resolves once every save begun so far is written (the proxy waits for it before it exits). */
  settled?(): Promise<void>;
}

/** How long a probe's verdict is trusted before a modern client's next start probes again. */
export const ERA_TTL_MS = 24 * 3600_000;

export function isFresh(record: EraRecord | undefined, now = Date.now()): boolean {
  return record !== undefined && record.modern !== undefined && now - record.checkedAt < ERA_TTL_MS;
}

/** `checkedAt` dates the verdict (`modern`), so saving only `about` does not make an old verdict look fresh. */
function merge(record: EraRecord | undefined, change: Partial<EraRecord>): EraRecord {
  const merged = { ...record, ...change, checkedAt: change.modern !== undefined ? Date.now() : record?.checkedAt ?? 0 };
  delete (merged as { legacyRefused?: unknown }).legacyRefused; // the verdict of earlier versions, now in `modern`
  return merged;
}

/** For one process (tests, and when no config directory is wanted). */
export class MemoryEraCache implements EraCache {
  constructor(private record?: EraRecord) {}
  async load(): Promise<EraRecord | undefined> {
    return this.record;
  }
  async save(change: Partial<EraRecord>): Promise<void> {
    this.record = merge(this.record, change);
  }
}

const FILE_NAME = 'eras.json';
const FILE_VERSION = 1;
const MAX_SERVERS = 50;

interface EraFile {
  version: 1;
  servers: Record<string, EraRecord>;
}

/** `eras.json` in the config directory, one record per server key (the sign-in key: URL and headers). */
export class FileEraCache implements EraCache {
  private readonly path: string;
  private loaded: Promise<unknown> | undefined;
  private current: EraRecord | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(dir: string, private readonly key: string, private readonly logger: Logger) {
    this.path = join(dir, FILE_NAME);
  }

  async load(): Promise<EraRecord | undefined> {
    this.loaded ??= this.readFile().then((file) => {
      const record = file.servers[this.key] as (EraRecord & { legacyRefused?: boolean }) | undefined;
      this.current = record?.legacyRefused ? { ...record, modern: true } : record;
    });
    await this.loaded;
    return this.current;
  }

  settled(): Promise<void> {
    return this.writing;
  }

  save(change: Partial<EraRecord>): Promise<void> {
    const write = this.writing.then(() => this.write(change));
    this.writing = write;
    return write;
  }

  /** One save after the other, so that none overwrites a later one with an older record. */
  private async write(change: Partial<EraRecord>): Promise<void> {
    this.current = merge(await this.load(), change);
    try {
      const file = await this.readFile();
      file.servers[this.key] = this.current;
      const keys = Object.keys(file.servers);
      if (keys.length > MAX_SERVERS) {
        keys.sort((a, b) => file.servers[a]!.checkedAt - file.servers[b]!.checkedAt);
        for (const old of keys.slice(0, keys.length - MAX_SERVERS)) delete file.servers[old];
      }
      await writePrivateFile(this.path, `${JSON.stringify(file, null, 2)}\n`, this.logger);
    } catch (err) {
      this.logger.debug(`could not save what was learned about the server's protocol to ${this.path}: ${(err as Error).message}`);
    }
  }

  private async readFile(): Promise<EraFile> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<EraFile>;
      if (parsed.version === FILE_VERSION && typeof parsed.servers === 'object' && parsed.servers !== null) return parsed as EraFile;
    } catch {
      // missing or unreadable: start over (it is only a cache)
    }
    return { version: FILE_VERSION, servers: {} };
  }
}

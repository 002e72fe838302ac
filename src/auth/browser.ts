import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';

/**
 * Opens `url` in the user's browser. `APPWRITE_MCP_BROWSER` or `BROWSER` (a command, given the URL
 * as its last argument) wins, as with gh and git; otherwise the platform opener via `open`.
 * Never throws: the caller always prints the URL as well, because browsers often fail to open from
 * processes that a GUI app spawned.
 */
export async function openBrowser(url: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const command = env.APPWRITE_MCP_BROWSER || env.BROWSER;
  try {
    if (command) {
      const child = spawn(command, [url], { stdio: 'ignore', detached: true, shell: false });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      child.unref();
      return true;
    }
    const { default: open } = await import('open');
    const child = await open(url, { wait: false });
    child.once('error', (err) => logger.warn(`could not open a browser: ${err.message}`));
    child.unref();
    return true;
  } catch (err) {
    logger.warn(`could not open a browser (${(err as Error).message}); open the URL yourself`);
    return false;
  }
}

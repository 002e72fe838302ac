// One real sign-in for the whole bench: `appwrite-mcp login --store file` against the local cloud,
// with the BROWSER seam and headless Chromium playing the user. Every proxy process then reuses the
// stored sign-in (APPWRITE_MCP_CONFIG_DIR); the access token is read back for the direct client and
// for mcp-remote, so all three subjects present the same bearer token.
import { readStored } from '../helpers/stored.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browserSeam, launchChromium, loginThroughBrowser } from '../helpers/browser.js';
import { tempConfigDir } from '../helpers/cli.js';

export interface StoredSignIn {
  /** APPWRITE_MCP_CONFIG_DIR holding state.json and secrets.json. */
  configDir: string;
  accessToken: string;
  expiresAt?: number;
  /** How long the one-time sign-in took (not part of any measurement). */
  ms: number;
  cleanup(): void;
}

export async function signInOnce(cloud: { user: { login: string; password: string } }, url: string): Promise<StoredSignIn> {
  const started = Date.now();
  const config = tempConfigDir();
  const seam = browserSeam();
  const browser = await launchChromium();
  try {
    const env = { APPWRITE_MCP_CONFIG_DIR: config.dir, ...seam.env };
    const { result, page } = await loginThroughBrowser(browser, seam, cloud.user, ['--url', url, '--store', 'file', '--timeout', '60'], env, { timeoutMs: 90_000 });
    if (result.code !== 0 || !page.ok) {
      throw new Error(`login failed (exit ${result.code}, page "${page.title}"):\n${result.stderr}`);
    }
    const stored = await readStored(config.dir, url);
    if (!stored?.accessToken) throw new Error(`no stored sign-in for ${url} after login`);
    return { configDir: config.dir, accessToken: stored.accessToken, expiresAt: stored.record.token.expiresAt, ms: Date.now() - started, cleanup: config.cleanup };
  } catch (error) {
    config.cleanup();
    throw error;
  } finally {
    seam.cleanup();
    await browser.close();
  }
}

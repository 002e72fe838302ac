// The browser seam: `BROWSER` points at a script that records the sign-in URL; the test then drives
// real headless Chromium (playwright-core + Debian's chromium) through the local cloud's pages.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startCli, writeScript, type CliResult, type CliRun } from './cli.js';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export interface BrowserSeam {
  /** Put in the CLI's environment. */
  env: { BROWSER: string };
  /** Every URL the CLI asked to open, in order. */
  urls(): string[];
  /** Waits until the CLI has asked to open `count` URLs and returns the last. */
  nextUrl(opts?: { count?: number; timeoutMs?: number }): Promise<string>;
  cleanup(): void;
}

export function browserSeam(): BrowserSeam {
  const dir = mkdtempSync(join(tmpdir(), 'appwrite-mcp-browser-'));
  const log = join(dir, 'urls.txt');
  const script = writeScript(dir, 'open-url.sh', `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\n`);
  const urls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return {
    env: { BROWSER: script },
    urls,
    async nextUrl({ count = 1, timeoutMs = 20_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const seen = urls();
        if (seen.length >= count) return seen[count - 1]!;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the CLI did not open a browser within ${timeoutMs} ms`);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface SignInUser {
  login: string;
  password: string;
}

/**
 * Fills in the local cloud's login and consent pages. Returns the page the browser ended on (the
 * CLI's callback page), whose `#result` heading says how it went.
 */
export async function completeSignIn(browser: Browser, url: string, user: SignInUser, opts: { consent?: 'allow' | 'deny' } = {}): Promise<{ page: Page; title: string; ok: boolean }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.fill('input[name="login"]', user.login);
  await page.fill('input[name="password"]', user.password);
  await page.click('#submit');
  await page.click(opts.consent === 'deny' ? '#deny' : '#allow');
  const result = page.locator('#result');
  await result.waitFor({ timeout: 20_000 });
  return { page, title: (await result.textContent()) ?? '', ok: (await result.getAttribute('data-ok')) === 'true' };
}

/**
 * Runs `appwrite-mcp login <args>` and plays the user in Chromium on the URL it opens (through the
 * seam in `env`). Returns the CLI's result, the page's verdict and the authorization URL.
 */
export async function loginThroughBrowser(
  browser: Browser,
  seam: BrowserSeam,
  user: SignInUser,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { consent?: 'allow' | 'deny'; timeoutMs?: number } = {},
): Promise<{ result: CliResult; page: { title: string; ok: boolean }; url: string }> {
  const count = seam.urls().length + 1;
  const run = startCli(['login', ...args], env, { timeoutMs: opts.timeoutMs });
  const url = await seam.nextUrl({ count, timeoutMs: opts.timeoutMs });
  const page = await completeSignIn(browser, url, user, { consent: opts.consent });
  await page.page.context().close();
  return { result: await run.result, page: { title: page.title, ok: page.ok }, url };
}

/** The code and the verification address `login --device-code` printed (with or without a browser opened). */
export async function shownDeviceCode(run: CliRun, timeoutMs = 30_000): Promise<{ userCode: string; verificationUri: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const printed = /^ {2}(?<verificationUri>\S+)\nand enter this code:\n {2}(?<userCode>\S+)$/m.exec(run.stderr())
      ?? /shows this code:\n {2}(?<userCode>\S+)\n.*\n {2}(?<verificationUri>\S+)$/m.exec(run.stderr());
    if (printed) return printed.groups as { userCode: string; verificationUri: string };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the CLI showed no device code within ${timeoutMs} ms:\n${run.stderr()}`);
}

/**
 * The person approving a device sign-in (RFC 8628) on another device, through the local cloud's
 * pages: the verification page (the code typed in, unless the URL carries it), the code confirmed,
 * then the usual login and consent pages. With `consent: 'none'` it stops on the consent page,
 * before the choice (`finishDeviceConsent` makes it). The last page's `#result` says how it went.
 */
export async function approveDeviceCode(browser: Browser, url: string, user: SignInUser, opts: { userCode?: string; consent?: 'allow' | 'deny' | 'none' } = {}): Promise<{ page: Page; title?: string; ok?: boolean }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  if (opts.userCode) {
    await page.fill('input[name="user_code"]', opts.userCode);
    await page.click('#continue');
  }
  await page.locator('#user-code').waitFor({ timeout: 20_000 });
  await page.click('#confirm');
  await page.fill('input[name="login"]', user.login);
  await page.fill('input[name="password"]', user.password);
  await page.click('#submit');
  await page.locator('#allow').waitFor({ timeout: 20_000 });
  if (opts.consent === 'none') return { page };
  return finishDeviceConsent(page, opts.consent ?? 'allow');
}

export async function finishDeviceConsent(page: Page, consent: 'allow' | 'deny'): Promise<{ page: Page; title: string; ok: boolean }> {
  await page.click(consent === 'deny' ? '#deny' : '#allow');
  const result = page.locator('#result');
  await result.waitFor({ timeout: 20_000 });
  const out = { page, title: (await result.textContent()) ?? '', ok: (await result.getAttribute('data-ok')) === 'true' };
  await page.context().close();
  return out;
}

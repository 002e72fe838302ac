// The person at the browser, without a browser: fills in the local cloud's login, consent and device
// pages with plain HTTP (a cookie jar, redirects followed by hand, the pages' forms submitted), down
// to the CLI's loopback callback. The same pages and the same authorization server as headless
// Chromium drives (helpers/browser.ts), in a fraction of the time; the e2e tests keep Chromium.
import type { SignInUser } from './browser.js';

export interface PageOutcome {
  /** The `#result` heading of the last page (the CLI's callback page, or the device done page). */
  title: string;
  ok: boolean;
  /** Every URL visited, in order. */
  visited: string[];
  /** The last page's text (tags removed). */
  text: string;
}

interface Form { id?: string; action: string; fields: Record<string, string>; buttons: string[] }

class Agent {
  readonly visited: string[] = [];
  private readonly cookies = new Map<string, string>();

  /** Redirects to URLs starting with this are not followed: a browser elsewhere cannot reach this machine. */
  constructor(private readonly stopAt?: string) {}

  /** GET (or POST a form to) `url`, following redirects; the final page's HTML. */
  async go(url: string, form?: Record<string, string>): Promise<{ url: string; html: string }> {
    let method = form ? 'POST' : 'GET';
    let body: URLSearchParams | undefined = form ? new URLSearchParams(form) : undefined;
    for (let hops = 0; hops < 20; hops++) {
      this.visited.push(url);
      const res = await fetch(url, {
        method, body, redirect: 'manual',
        headers: { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      });
      for (const set of res.headers.getSetCookie()) this.keep(set);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url).href;
        if (this.stopAt && url.startsWith(this.stopAt)) return { url, html: '' };
        method = 'GET';
        body = undefined;
        continue;
      }
      return { url, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private keep(setCookie: string): void {
    const [pair, ...attributes] = setCookie.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const gone = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
    if (gone) this.cookies.delete(name);
    else this.cookies.set(name, pair!.slice(eq + 1).trim());
  }
}

function formsOf(html: string, base: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag)?.[1];
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name');
      if (name) fields[name] = unescape(attr(input[0], 'value') ?? '');
    }
    const buttons = [...m[2]!.matchAll(/<button\b[^>]*\bid="([^"]+)"/gi)].map((b) => b[1]!);
    forms.push({ id: attr(m[1]!, 'id'), action: new URL(unescape(attr(m[1]!, 'action') ?? base), base).href, fields, buttons });
  }
  return forms;
}

const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

function outcome(agent: Agent, html: string): PageOutcome {
  const result = /<h1 id="result" data-ok="(true|false)">([^<]*)<\/h1>/.exec(html);
  if (!result) throw new Error(`the sign-in did not end on a result page:\n${html.slice(0, 500)}`);
  return { ok: result[1] === 'true', title: result[2]!, visited: agent.visited, text: html.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ') };
}

/**
 * Signs `user` in on the page at `url` (an authorization URL), and allows or denies on the consent
 * page. With `stopAt` (the redirect URI), the browser is elsewhere: the address it ends on is
 * returned as `landed` instead of being loaded.
 */
export async function signInOverHttp(url: string, user: SignInUser, opts: { consent?: 'allow' | 'deny'; stopAt?: string } = {}): Promise<PageOutcome & { landed?: string }> {
  const agent = new Agent(opts.stopAt);
  let page = await agent.go(url);
  const login = formsOf(page.html, page.url).find((f) => f.buttons.includes('submit'));
  // No login page: the AS refused at once (a redirect back with an error, or a page of its own).
  if (!login) return /id="result"/.test(page.html) ? outcome(agent, page.html) : { ok: false, title: '', visited: agent.visited, text: page.html.replace(/<[^>]*>/g, ' ') };
  page = await agent.go(login.action, { login: user.login, password: user.password });
  const consent = formsOf(page.html, page.url).find((f) => f.buttons.includes(opts.consent === 'deny' ? 'deny' : 'allow'));
  if (consent) page = await agent.go(consent.action, consent.fields);
  if (opts.stopAt && page.url.startsWith(opts.stopAt)) return { title: '', ok: true, visited: agent.visited, text: '', landed: page.url };
  return outcome(agent, page.html);
}

/**
 * The person approving a device sign-in (RFC 8628) on another device: the verification page (the
 * code typed in, unless `url` carries it), the code confirmed, then login and consent.
 */
export async function approveDeviceOverHttp(url: string, user: SignInUser, opts: { userCode?: string; consent?: 'allow' | 'deny' } = {}): Promise<PageOutcome> {
  const agent = new Agent();
  let page = await agent.go(url);
  for (let step = 0; step < 8; step++) {
    const forms = formsOf(page.html, page.url);
    // oidc-provider's "Submitting Callback" page posts its form by script as soon as it loads.
    if (/document\.forms\[0\]\.submit\(\)/.test(page.html) && forms[0]) {
      page = await agent.go(forms[0].action, forms[0].fields);
      continue;
    }
    const input = forms.find((f) => f.id === 'op.deviceInputForm');
    const confirm = forms.find((f) => f.id === 'op.deviceConfirmForm');
    const login = forms.find((f) => f.buttons.includes('submit'));
    const consent = forms.find((f) => f.buttons.includes(opts.consent === 'deny' ? 'deny' : 'allow'));
    if (input) page = await agent.go(input.action, { ...input.fields, user_code: opts.userCode ?? input.fields.user_code ?? '' });
    else if (confirm) page = await agent.go(confirm.action, confirm.fields);
    else if (login) page = await agent.go(login.action, { login: user.login, password: user.password });
    else if (consent) page = await agent.go(consent.action, consent.fields);
    else return outcome(agent, page.html);
  }
  throw new Error(`the device pages did not come to an end at ${page.url}`);
}

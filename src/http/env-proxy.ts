// HTTP(S)_PROXY / NO_PROXY: decides whether the target goes through a proxy, with the rules of
// undici's EnvHttpProxyAgent (which then does the proxying), so that undici is only loaded when
// a proxy actually applies. One rule of our own comes first: a loopback destination is never
// proxied (the Bearer token would cross the proxy, in clear text for http://, to reach this machine).
import { isLoopbackHost } from '../net.js';

export type Env = Record<string, string | undefined>;

export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy: string;
}

export function proxySettings(env: Env): ProxySettings {
  return {
    httpProxy: env.http_proxy || env.HTTP_PROXY || undefined,
    httpsProxy: env.https_proxy || env.HTTPS_PROXY || undefined,
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  };
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** True when a proxy variable covers `url`, NO_PROXY does not exclude it, and it is not loopback. */
export function proxyApplies(url: URL, settings: ProxySettings): boolean {
  if (isLoopbackHost(url.hostname)) return false;
  const proxy = url.protocol === 'https:' ? settings.httpsProxy ?? settings.httpProxy : settings.httpProxy;
  if (!proxy) return false;
  const noProxy = settings.noProxy.trim();
  if (noProxy === '*') return false;
  const hostname = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  for (const entry of noProxy.split(/[,\s]/)) {
    if (!entry) continue;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    const host = (withPort ? withPort[1]! : entry).replace(/^\*?\./, '').toLowerCase();
    if (withPort && Number(withPort[2]) !== port) continue;
    if (hostname === host || hostname.endsWith(`.${host}`)) return false;
  }
  return true;
}

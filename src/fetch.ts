// The fetch the auth code uses. Node 20's global fetch ignores HTTP(S)_PROXY, so when one is set,
// requests go through undici's EnvHttpProxyAgent (which also applies NO_PROXY); undici is loaded
// only then. NODE_EXTRA_CA_CERTS needs nothing here: Node applies it to every TLS connection.
import { proxySettings } from './proxy/env-proxy.js';

export function createFetch(env: NodeJS.ProcessEnv = process.env): typeof fetch {
  const settings = proxySettings(env);
  if (!settings.httpProxy && !settings.httpsProxy) return globalThis.fetch;
  let agent: Promise<{ fetch: typeof import('undici').fetch; dispatcher: import('undici').Dispatcher }> | undefined;
  const load = () =>
    (agent ??= import('undici').then((undici) => ({
      fetch: undici.fetch,
      dispatcher: new undici.EnvHttpProxyAgent({ httpProxy: settings.httpProxy, httpsProxy: settings.httpsProxy, noProxy: settings.noProxy }),
    })));
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const { fetch, dispatcher } = await load();
    // undici's Response is not the global class, but it is one by shape (oauth4webapi checks the tag).
    return fetch(input as string, { ...(init as object), dispatcher }) as unknown as Response;
  }) as typeof fetch;
}

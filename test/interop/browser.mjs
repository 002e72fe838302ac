// The "browser" for the conformance scenarios: the proxy under test runs it (through the BROWSER
// variable) with the authorization URL. The suite's authorization servers sign nobody in: their
// /authorize answers at once with a redirect to the client's redirect_uri carrying `code` and
// `state`. So a browser here is a plain GET that follows redirects (Location, as a browser would)
// until a page answers without one; that last hop is the proxy's own loopback callback.
//
// Usage: node browser.mjs <url>. Every hop is appended to $CONFORMANCE_BROWSER_LOG (JSON lines),
// since the proxy starts its browser with stdio ignored.
import { appendFileSync } from 'node:fs';

const MAX_HOPS = 10;
const HOP_TIMEOUT_MS = 10_000;

const log = (entry) => {
  const file = process.env.CONFORMANCE_BROWSER_LOG;
  if (file) appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
};

const start = process.argv[2];
if (!start) {
  log({ error: 'no URL given' });
  process.exit(2);
}

let url = start;
try {
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(HOP_TIMEOUT_MS) });
    const location = res.headers.get('location');
    const body = location ? '' : (await res.text()).slice(0, 300);
    log({ hop, url, status: res.status, location: location ?? undefined, body: body || undefined });
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    process.exit(res.ok ? 0 : 1);
  }
  log({ error: `more than ${MAX_HOPS} redirects` });
  process.exit(1);
} catch (err) {
  log({ url, error: String(err?.cause?.code ?? err?.message ?? err) });
  process.exit(1);
}

// Doctor, part 1: the road to the server. The proxy settings in effect (HTTPS_PROXY / HTTP_PROXY /
// NO_PROXY, decided by the same rules the HTTP layer follows), DNS, a TCP connection (through the
// proxy's CONNECT tunnel when one applies), and the TLS handshake with the CA that vouched for the
// server: Node's built-in list or NODE_EXTRA_CA_CERTS.
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { proxyApplies, proxySettings } from '../http/env-proxy.js';
import { errorMessage } from '../errors.js';
import { classifyNetworkError, describeNetworkError, tlsHint } from '../http/network-error.js';
import { deadline, fail, ms, ok, skip, warn, type CheckResult } from './report.js';

export interface NetworkOptions {
  url: URL;
  env: NodeJS.ProcessEnv;
  /** Bound on each step (DNS, connect, CONNECT, TLS). */
  timeoutMs: number;
}

export interface NetworkOutcome {
  results: CheckResult[];
  /** A connection (and TLS handshake) to the server worked: the HTTP checks can go on. */
  reachable: boolean;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

const STEPS = ['proxy', 'dns', 'connect', 'tls'] as const;

/** Every step reports a line: after a failure, the steps it prevented are skipped. */
export async function checkNetwork(o: NetworkOptions): Promise<NetworkOutcome> {
  const outcome = await walk(o);
  const failed = outcome.results.find((r) => r.status === 'fail');
  for (const id of STEPS.slice(outcome.results.length)) outcome.results.push(skip(id, `not tried: the ${failed?.id ?? 'previous'} step failed`));
  return outcome;
}

async function walk(o: NetworkOptions): Promise<NetworkOutcome> {
  const results: CheckResult[] = [];
  const stop = (r: CheckResult) => ({ results: [...results, r], reachable: false });
  const proxy = proxyStep(o);
  results.push(proxy.result);
  if (proxy.result.status === 'fail') return { results, reachable: false };
  const dns = await dnsStep(o, proxy);
  if (dns.status === 'fail') return stop(dns);
  results.push(dns);
  const connected = await connectStep(o, proxy);
  if (!connected.socket) return stop(connected.result);
  results.push(connected.result);
  results.push(await tlsStep(o, connected.socket));
  return { results, reachable: results.at(-1)!.status !== 'fail' };
}

interface Route {
  result: CheckResult;
  /** The forward proxy requests go through, when one applies. */
  proxy?: URL;
  proxyVar?: { name: string; value: string };
}

/** The proxy settings in effect for this URL, by the rules the HTTP layer follows. */
function proxyStep({ url, env }: NetworkOptions): Route {
  const host = hostOf(url);
  const settings = proxySettings(env);
  const proxyVar = proxyVariable(url, env);
  if (!proxyVar) {
    return { result: ok('proxy', `no ${url.protocol === 'https:' ? 'HTTPS_PROXY or HTTP_PROXY' : 'HTTP_PROXY'} set: direct connection`, { detail: settings.noProxy ? [`NO_PROXY=${settings.noProxy}`] : undefined }) };
  }
  if (!proxyApplies(url, settings)) {
    return { result: ok('proxy', `${proxyVar.name} is set, but NO_PROXY excludes ${host}: direct connection`, { detail: [`${proxyVar.name}=${safeUrl(proxyVar.value)}`, `NO_PROXY=${settings.noProxy}`] }) };
  }
  let proxy: URL;
  try {
    proxy = new URL(proxyVar.value);
    if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new Error(`unsupported scheme ${proxy.protocol}`);
  } catch (err) {
    return { result: fail('proxy', `${proxyVar.name}=${safeUrl(proxyVar.value)} is not a usable proxy URL (${errorMessage(err)})`, {
      fix: `Set ${proxyVar.name} to http://<proxy host>:<port> (or unset it), also in the "env" of your MCP client's config.`,
    }) };
  }
  return { proxy, proxyVar, result: ok('proxy', `${proxyVar.name}=${safeUrl(proxyVar.value)} applies to ${host}: requests go through it`, { detail: [`NO_PROXY=${settings.noProxy || '(unset)'}`] }) };
}

/** DNS for the server, or for the proxy when one applies (the proxy resolves the server). */
async function dnsStep({ url, timeoutMs }: NetworkOptions, { proxy, proxyVar }: Route): Promise<CheckResult> {
  const dnsHost = proxy ? hostOf(proxy) : hostOf(url);
  const what = proxy ? `the proxy host ${dnsHost}` : dnsHost;
  if (isIP(dnsHost)) return ok('dns', `${what} is an IP address: nothing to resolve`);
  const started = Date.now();
  try {
    const addresses = await deadline(lookup(dnsHost, { all: true }), timeoutMs, `no answer within ${ms(timeoutMs)}`);
    return ok('dns', `${what} resolves to ${addresses.map((a) => a.address).join(', ')} (${ms(Date.now() - started)})`, {
      detail: proxy ? [`${hostOf(url)} itself is resolved by the proxy`] : undefined,
    });
  } catch (err) {
    return fail('dns', `cannot resolve ${what}: ${describeNetworkError(err)}`, {
      fix: proxy
        ? `Check the host in ${proxyVar!.name} (${safeUrl(proxyVar!.value)}) and your network connection.`
        : `Check the host in --url (${url.href}) and your network connection (try: nslookup ${dnsHost}).`,
    });
  }
}

/** A TCP connection to the server, or to the proxy and then a CONNECT tunnel through it. */
async function connectStep({ url, timeoutMs }: NetworkOptions, { proxy, proxyVar }: Route): Promise<{ result: CheckResult; socket?: Socket }> {
  const host = hostOf(url);
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol]!;
  const connectHost = proxy ? hostOf(proxy) : host;
  const connectPort = proxy ? Number(proxy.port) || DEFAULT_PORTS[proxy.protocol]! : port;
  let socket: Socket | undefined;
  try {
    const started = Date.now();
    socket = await deadline(openTcp(connectHost, connectPort), timeoutMs, `no TCP connection within ${ms(timeoutMs)}`);
    const took = Date.now() - started;
    if (!proxy) return { socket, result: ok('connect', `TCP connection to ${socket.remoteAddress}:${socket.remotePort} in ${ms(took)}`) };
    const tunnelled = Date.now();
    await deadline(tunnel(socket, `${isIP(host) === 6 ? `[${host}]` : host}:${port}`, proxy), timeoutMs, `the proxy did not open a tunnel within ${ms(timeoutMs)}`);
    return { socket, result: ok('connect', `connected to ${host}:${port} through the proxy's CONNECT tunnel (proxy ${socket.remoteAddress}:${socket.remotePort} in ${ms(took)}, tunnel in ${ms(Date.now() - tunnelled)})`) };
  } catch (err) {
    socket?.destroy();
    const refused = classifyNetworkError(err).kind === 'refused';
    return { result: fail('connect', proxy
      ? `cannot get through the proxy to ${host}:${port}: ${describeNetworkError(err)}`
      : `cannot connect to ${host}:${port}: ${describeNetworkError(err)}`, {
      fix: proxy
        ? `Check ${proxyVar!.name} (${safeUrl(proxyVar!.value)}): is the proxy running, does it allow ${host}:${port}, does it need credentials (http://user:password@host:port)? Or add ${host} to NO_PROXY.`
        : refused
          ? `Nothing is listening at ${host}:${port}: check the --url (${url.href}); if the server is down, try again later.`
          : `Check your network, VPN or firewall; if your network needs an HTTP proxy, set HTTPS_PROXY (also in the "env" of your MCP client's config).`,
    }) };
  }
}

/** The TLS handshake over `socket`, and the CA that vouched for the server. */
async function tlsStep({ url, env, timeoutMs }: NetworkOptions, socket: Socket): Promise<CheckResult> {
  const host = hostOf(url);
  if (url.protocol !== 'https:') {
    socket.destroy();
    return skip('tls', 'plain http:// on a loopback address: no TLS');
  }
  const extra = extraCaCerts(env);
  try {
    const started = Date.now();
    const secure = await deadline(handshake(socket, host), timeoutMs, `no TLS handshake within ${ms(timeoutMs)}`);
    const took = Date.now() - started;
    const leaf = secure.getPeerCertificate(true);
    const ca = caSource(rootOf(leaf), extra);
    const detail = [
      `certificate: ${leaf.subject?.CN ?? JSON.stringify(leaf.subject)} issued by ${leaf.issuer?.CN ?? leaf.issuer?.O ?? '?'}, valid until ${leaf.valid_to}`,
      `${secure.getProtocol()} ${secure.getCipher()?.name ?? ''}`.trim(),
      ...(extra.error ? [`NODE_EXTRA_CA_CERTS=${extra.path} could not be read: ${extra.error}`] : []),
    ];
    secure.destroy();
    const expiresInDays = (Date.parse(leaf.valid_to) - Date.now()) / 86_400_000;
    const summary = `TLS handshake in ${ms(took)}; certificate trusted through ${ca}`;
    if (extra.error) return warn('tls', summary, { detail, fix: `Point NODE_EXTRA_CA_CERTS at a readable PEM file, or unset it.` });
    if (expiresInDays < 14) return warn('tls', `${summary}, but it expires in ${Math.max(0, Math.floor(expiresInDays))} days`, { detail });
    return ok('tls', summary, { detail });
  } catch (err) {
    socket.destroy();
    const { code } = classifyNetworkError(err);
    const hint = tlsHint(code);
    const detail = [
      extra.path ? `NODE_EXTRA_CA_CERTS=${extra.path}${extra.error ? ` (could not be read: ${extra.error})` : ` (${extra.fingerprints.size} certificate${extra.fingerprints.size === 1 ? '' : 's'})`}` : 'NODE_EXTRA_CA_CERTS is not set: only Node\'s built-in CA list is trusted',
    ];
    return fail('tls', `TLS handshake with ${host}:${Number(url.port) || DEFAULT_PORTS[url.protocol]} failed: ${hint ? `the certificate is not trusted (${code})` : describeNetworkError(err)}`, {
      detail,
      fix: hint
        ? 'If your network inspects TLS with its own certificate authority, set NODE_EXTRA_CA_CERTS=/path/to/that-ca.pem (in your shell, and in the "env" of your MCP client\'s config).'
        : 'Check that --url is the server\'s https:// address; a proxy or firewall may be interfering (see the proxy line above).',
    });
  }
}

const hostOf = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Which variable supplies the proxy for `url` (the HTTP layer's precedence: lower case first). */
function proxyVariable(url: URL, env: NodeJS.ProcessEnv): { name: string; value: string } | undefined {
  const names = url.protocol === 'https:' ? ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'] : ['http_proxy', 'HTTP_PROXY'];
  for (const name of names) if (env[name]) return { name, value: env[name]! };
  return undefined;
}

/** A proxy URL without its password. */
function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.href.replace(/\/$/, '');
  } catch {
    return raw;
  }
}

function openTcp(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port, autoSelectFamily: true });
    socket.once('connect', () => { socket.removeAllListeners('error'); socket.on('error', () => {}); resolve(socket); });
    socket.once('error', (err) => { socket.destroy(); reject(err); });
  });
}

/** HTTP CONNECT through a forward proxy (RFC 9110 §9.3.6), as undici's proxy agent does. */
function tunnel(socket: Socket, authority: string, proxy: URL): Promise<void> {
  return new Promise((resolve, reject) => {
    const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      cleanup();
      const status = /^HTTP\/\d(?:\.\d)? (\d{3})(.*)$/m.exec(head.slice(0, head.indexOf('\r\n')));
      if (status?.[1] === '200') resolve();
      else reject(new Error(`the proxy answered ${status ? `${status[1]}${status[2]}` : JSON.stringify(head.slice(0, 40))}`));
    };
    const onClose = () => { cleanup(); reject(new Error('the proxy closed the connection')); };
    const cleanup = () => { socket.off('data', onData); socket.off('close', onClose); };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  });
}

function handshake(socket: Socket, host: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({ socket, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] });
    secure.once('secureConnect', () => { secure.removeAllListeners('error'); secure.on('error', () => {}); resolve(secure); });
    secure.once('error', (err) => { secure.destroy(); reject(err); });
  });
}

type DetailedCert = DetailedPeerCertificate;

/** The last certificate of the chain Node verified (it completes the chain from its trust store). */
function rootOf(leaf: DetailedCert): DetailedCert {
  let cert = leaf;
  for (let i = 0; i < 10 && cert.issuerCertificate && cert.issuerCertificate !== cert && cert.issuerCertificate.fingerprint256 !== cert.fingerprint256; i++) cert = cert.issuerCertificate;
  return cert;
}

interface ExtraCas { path?: string; fingerprints: Set<string>; error?: string }

function extraCaCerts(env: NodeJS.ProcessEnv): ExtraCas {
  const path = env.NODE_EXTRA_CA_CERTS;
  if (!path) return { fingerprints: new Set() };
  try {
    return { path, fingerprints: new Set(pemCertificates(readFileSync(path, 'utf8')).map(fingerprintOf).filter((f): f is string => Boolean(f))) };
  } catch (err) {
    return { path, fingerprints: new Set(), error: errorMessage(err) };
  }
}

function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function fingerprintOf(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
}

let builtIn: Set<string> | undefined;

function caSource(root: DetailedCert, extra: ExtraCas): string {
  const name = root.subject?.CN ?? root.subject?.O ?? 'an unnamed CA';
  if (extra.fingerprints.has(root.fingerprint256)) return `NODE_EXTRA_CA_CERTS (${extra.path}: "${name}")`;
  builtIn ??= new Set(rootCertificates.map(fingerprintOf).filter((f): f is string => Boolean(f)));
  if (builtIn.has(root.fingerprint256)) return `the system CA list (Node's built-in roots: "${name}")`;
  return `"${name}" (a CA trusted by this Node.js, outside its built-in list${extra.path ? ' and NODE_EXTRA_CA_CERTS' : ''})`;
}

// The loopback callback server answers only requests addressed to it by a loopback name with its
// own port (issue 19, item 9): a DNS-rebinding page (evil.example resolved to 127.0.0.1) sends
// `Host: evil.example:<port>` and gets 400, its callback never reaches the sign-in. Raw HTTP over
// a socket, since a browser or fetch would set the Host header itself.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackServer, type CallbackServer } from '../../src/auth/callback-server.js';

let server: CallbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** One raw HTTP/1.1 request with exactly these header lines; the status code of the answer. */
function rawGet(port: number, host: string, path: string, headers: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(`GET ${path} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])));
    socket.on('error', reject);
  });
}

/** Whether a callback was delivered to the sign-in within `ms`. */
async function delivered(s: CallbackServer, ms = 300): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('none')), ms);
  try {
    const req = await s.next(controller.signal);
    req.respond({ ok: true, title: 'ok', message: 'ok' });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

describe('the callback server checks Host', () => {
  it('on 127.0.0.1: 127.0.0.1 and localhost with its port are answered; another name, another port or no Host get 400', async () => {
    server = await startCallbackServer();
    const { port } = server;
    const path = '/callback?code=c&state=s';
    for (const bad of [['Host: evil.example'], [`Host: evil.example:${port}`], [`Host: 127.0.0.1:${port + 1}`], ['Host: 127.0.0.1'], [`Host: localhost.evil.example:${port}`], []]) {
      const status = rawGet(port, '127.0.0.1', path, bad);
      expect(await delivered(server), bad.join()).toBe(false);
      expect(await status, bad.join()).toBe(400);
    }
    for (const good of [`Host: 127.0.0.1:${port}`, `Host: LOCALHOST:${port}`, `Host: [::1]:${port}`]) {
      const status = rawGet(port, '127.0.0.1', path, [good]);
      expect(await delivered(server), good).toBe(true);
      expect(await status).toBe(200);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { Code, rpcReason } from '../../src/errors.js';
import { classifyNetworkError, NetworkAbortedError, NetworkTimeoutError } from '../../src/http/network-error.js';
import { RequestAbortedError, ResponseTimeoutError } from '../../src/http/client.js';

/** Makes a real request and returns the error node:http fails it with. */
function failedRequest(port: number, host = '127.0.0.1'): Promise<Error> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/' }, () => resolve(new Error('answered')));
    req.once('error', resolve);
    req.end();
  });
}

describe('the network-error classifier', () => {
  it('tells a refused connection from a reset one, with real sockets', async () => {
    const server = createServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect(classifyNetworkError(await failedRequest(port))).toMatchObject({ kind: 'reset', code: 'ECONNRESET' });
    await new Promise((r) => server.close(r));
    expect(classifyNetworkError(await failedRequest(port))).toMatchObject({ kind: 'refused', description: 'connection refused' });
  });

  it('reads the code of a wrapped cause (fetch, undici) and TLS codes', () => {
    const wrapped = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) });
    expect(classifyNetworkError(wrapped)).toMatchObject({ kind: 'dns', code: 'ENOTFOUND' });
    const tls = Object.assign(new Error('self signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(classifyNetworkError(tls)).toMatchObject({ kind: 'tls', description: expect.stringContaining('NODE_EXTRA_CA_CERTS') });
  });

  it('classifies our own deadlines and aborts by class, DOMExceptions by name', () => {
    expect(classifyNetworkError(new ResponseTimeoutError(2000)).kind).toBe('timeout');
    expect(classifyNetworkError(new NetworkTimeoutError('no tunnel within 2 s'))).toMatchObject({ kind: 'timeout', description: 'no tunnel within 2 s' });
    expect(classifyNetworkError(new RequestAbortedError()).kind).toBe('aborted');
    expect(classifyNetworkError(new NetworkAbortedError()).kind).toBe('aborted');
    expect(classifyNetworkError(new DOMException('t', 'TimeoutError')).kind).toBe('timeout');
    expect(classifyNetworkError(new DOMException('a', 'AbortError')).kind).toBe('aborted');
    // A name alone does not make a timeout when the error has a system code of its own.
    expect(classifyNetworkError(Object.assign(new Error('x'), { name: 'TimeoutError', code: 'ECONNRESET' })).kind).toBe('reset');
    expect(classifyNetworkError('weird')).toMatchObject({ kind: 'other', description: 'weird' });
  });
});

describe('error codes', () => {
  it('are namespaced by layer and unique', () => {
    const values = Object.values(Code);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toMatch(/^(CLI|HTTP|OAUTH|STORE|AUTH|MCP|ERA|SETUP)_[A-Z_]+$/);
  });

  it('reach JSON-RPC clients only through the public reason vocabulary', () => {
    expect(rpcReason(Code.UPSTREAM_TIMEOUT)).toBe('timeout');
    expect(rpcReason(Code.SIGN_IN_REQUIRED)).toBe('sign_in_required');
    expect(rpcReason(Code.SETUP_FAILED)).toBe('internal_error');
    for (const code of Object.values(Code)) expect(rpcReason(code)).toMatch(/^[a-z_]+$/);
  });
});

// The pieces of the era bridge that need no server: editing JSON text in place, the headers
// derived from a 2026-07-28 message, and telling a server's era from its answers.
import { describe, expect, it } from 'vitest';
import { editNested, editObject, members, rawValue, skipValue, topLevel } from '../../src/proxy/json-text.js';
import { isModernMessage } from '../../src/proxy/eras/modern.js';
import { declarationsOf, headerText, standardHeaders, ToolHeaders } from '../../src/proxy/eras/headers.js';
import { classifyProbe, initializeVerdict, mightBeModernOnly } from '../../src/proxy/eras/detect.js';
import { aboutFromDiscover, aboutFromInitialize, discoverResult, initializeResult } from '../../src/proxy/eras/about.js';
import { UpstreamError } from '../../src/proxy/transports/errors.js';
import { Code } from '../../src/errors.js';

describe('json-text', () => {
  const line = '{"jsonrpc":"2.0","id":"a\\"}{","method":"tools/call","params":{"name":"x","arguments":{"s":"}\\\\","n":[1,{"a":"]"}],"t":true},"_meta":{"progressToken":3}}}';

  it('finds direct members and skips nested values, strings with escapes and brackets inside strings', () => {
    const top = members(line, topLevel(line));
    expect(top.map((m) => m.key)).toEqual(['jsonrpc', 'id', 'method', 'params']);
    expect(JSON.parse(line.slice(top[1]!.valueStart, top[1]!.valueEnd))).toBe('a"}{');
    expect(JSON.parse(rawValue(line, ['params', 'arguments'])!)).toEqual({ s: '}\\', n: [1, { a: ']' }], t: true });
    expect(skipValue('  123 ', 2)).toBe(5);
  });

  it('adds, replaces and removes members, keeping everything else', () => {
    const withEnvelope = editNested(line, ['params', '_meta'], (t, s) => editObject(t, s, { set: { 'io.modelcontextprotocol/protocolVersion': '"2026-07-28"' } }));
    expect(JSON.parse(withEnvelope)).toEqual({ ...JSON.parse(line), params: { ...JSON.parse(line).params, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', progressToken: 3 } } });
    const created = editNested('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', ['params', '_meta'], (t, s) => editObject(t, s, { set: { k: '1' } }));
    expect(JSON.parse(created)).toEqual({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { k: 1 } } });
    const removed = editNested('{"result":{"a":1,"resultType":"complete", "b" : [2],"ttlMs":0},"id":1}', ['result'], (t, s) => editObject(t, s, { remove: ['resultType', 'ttlMs'] }));
    expect(JSON.parse(removed)).toEqual({ result: { a: 1, b: [2] }, id: 1 });
    expect(editObject('{ }', 0, { set: { a: '1' } })).toBe('{"a":1}');
    expect(JSON.parse(editObject('{"id":1,"x":2}', 0, { set: { id: '"z"' } }))).toEqual({ id: 'z', x: 2 });
  });

  it('edits a 5 MB message in about the time a parse and re-serialization takes (measured side by side)', () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'é"{['.repeat(1_250_000) } } });
    const time = (run: () => void) => { const t = performance.now(); run(); return performance.now() - t; };
    let out = '';
    const edits: number[] = [];
    const roundTrips: number[] = [];
    // Interleaved, best of five each: a busy machine slows both sides alike.
    for (let i = 0; i < 5; i++) {
      edits.push(time(() => { out = editNested(big, ['params', '_meta'], (t, s) => editObject(t, s, { set: { k: '"v"' } })); }));
      roundTrips.push(time(() => { const m = JSON.parse(big); m.params._meta = { k: 'v' }; JSON.stringify(m); }));
    }
    expect(Math.min(...edits)).toBeLessThan(3 * Math.min(...roundTrips) + 20);
    expect(JSON.parse(out).params._meta).toEqual({ k: 'v' });
  });
});

describe('2026-07-28 headers', () => {
  const envelope = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };

  it('derives MCP-Protocol-Version, Mcp-Method, Mcp-Name and the declared Mcp-Param-*', () => {
    const tools = new ToolHeaders();
    expect(tools.learn({ tools: [{ name: 'regional_echo', inputSchema: { type: 'object', properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, text: { type: 'string' }, where: { type: 'object', properties: { zone: { type: 'integer', 'x-mcp-header': 'Zone' } } } } } }] })).toBeUndefined();
    const call = { jsonrpc: '2.0' as const, id: 1, method: 'tools/call', params: { name: 'regional_echo', arguments: { region: 'eu', text: 'x', where: { zone: 3 } }, _meta: envelope } };
    expect(tools.headersFor(call, '2026-07-28')).toEqual({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'regional_echo', 'mcp-param-region': 'eu', 'mcp-param-zone': '3' });
    expect(tools.headersFor({ ...call, params: { ...call.params, arguments: { region: null } } }, '2026-07-28')['mcp-param-region']).toBeUndefined();
    expect(standardHeaders({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'appwrite://docs/readme' } }, '2026-07-28')['mcp-name']).toBe('appwrite://docs/readme');
    expect(standardHeaders({ jsonrpc: '2.0', id: 3, method: 'tools/list' }, '2026-07-28')).toEqual({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' });
    expect(isModernMessage(call)).toBe(true);
    expect(isModernMessage({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } })).toBe(false);
  });

  it('sends values that are not plain visible ASCII as the base64 sentinel', () => {
    expect(headerText('eu-west')).toBe('eu-west');
    expect(headerText('eu-west ü')).toBe('=?base64?ZXUtd2VzdCDDvA==?=');
    expect(headerText(' padded')).toBe(`=?base64?${Buffer.from(' padded').toString('base64')}?=`);
    expect(headerText('')).toBe('=?base64??=');
    expect(headerText('=?base64?abc?=')).toBe(`=?base64?${Buffer.from('=?base64?abc?=').toString('base64')}?=`);
    expect(headerText('a\tb')).toBe(`=?base64?${Buffer.from('a\tb').toString('base64')}?=`);
  });

  it('finds invalid x-mcp-header declarations as SEP-2243 defines them (the conformance suite\'s tools among them)', () => {
    const prop = (schema: object) => ({ type: 'object', properties: { p: schema } });
    for (const [schema, why] of [
      [prop({ type: 'string', 'x-mcp-header': '' }), /empty/],
      [prop({ type: 'object', 'x-mcp-header': 'Data' }), /of type "object"/],
      [prop({ type: 'array', 'x-mcp-header': 'Items' }), /of type "array"/],
      [prop({ type: 'null', 'x-mcp-header': 'Nil' }), /of type "null"/],
      [prop({ type: 'number', 'x-mcp-header': 'Num' }), /of type "number"/],
      [{ type: 'object', properties: { a: { type: 'string', 'x-mcp-header': 'Region' }, b: { type: 'string', 'x-mcp-header': 'region' } } }, /declared twice/],
      [prop({ type: 'string', 'x-mcp-header': 'My Region' }), /not an HTTP token/],
      [prop({ type: 'string', 'x-mcp-header': 'Region:Primary' }), /not an HTTP token/],
      [prop({ type: 'string', 'x-mcp-header': 'Région' }), /not an HTTP token/],
      [prop({ type: 'string', 'x-mcp-header': 'Region\t1' }), /not an HTTP token/],
      [{ type: 'object', properties: { list: { type: 'array', items: { type: 'string', 'x-mcp-header': 'Item' } } } }, /not a property reached through "properties" alone/],
      [{ type: 'object', 'x-mcp-header': 'Root' }, /the schema itself/],
    ] as const) {
      const found = declarationsOf(schema);
      expect(found, JSON.stringify(schema)).toMatchObject({ invalid: expect.stringMatching(why) });
    }
    const tools = new ToolHeaders();
    const kept = tools.learn({ tools: [{ name: 'ok', inputSchema: prop({ type: 'string', 'x-mcp-header': 'Region' }) }, { name: 'bad', inputSchema: prop({ type: 'string', 'x-mcp-header': '' }) }] });
    expect(kept).toEqual([{ name: 'ok', inputSchema: prop({ type: 'string', 'x-mcp-header': 'Region' }) }]);
    expect(tools.refusal('bad')).toMatch(/empty/);
    expect(tools.refusal('ok')).toBeUndefined();
  });
});

describe('era detection', () => {
  const httpError = (status: number, body: unknown) => new UpstreamError(Code.UPSTREAM_HTTP_ERROR, 'x', { status, body: JSON.stringify(body) });

  it('classifies server/discover answers as the SDK v2 client does', () => {
    const discover = { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, instructions: 'hi', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '1' } } };
    expect(classifyProbe({ response: { jsonrpc: '2.0', id: 1, result: discover } })).toEqual({ era: 'modern', about: { capabilities: { tools: {} }, instructions: 'hi', serverInfo: { name: 's', version: '1' } } });
    expect(classifyProbe({ response: { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } } })).toMatchObject({ era: '2025' });
    expect(classifyProbe({ error: httpError(400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: No valid session ID provided' } }) })).toMatchObject({ era: '2025' });
    expect(classifyProbe({ error: httpError(404, 'Not Found') })).toMatchObject({ era: '2025' });
    // -32022 naming 2026-07-28 as supported: one corrected retry (the conformance suite's request-metadata server).
    const refused = { code: -32022, message: 'Unsupported protocol version', data: { supported: ['2026-07-28'], requested: '' } };
    expect(classifyProbe({ response: { jsonrpc: '2.0', id: 1, error: refused } })).toBe('corrective');
    expect(classifyProbe({ error: httpError(400, { jsonrpc: '2.0', id: null, error: refused }) })).toBe('corrective');
    expect(classifyProbe({ response: { jsonrpc: '2.0', id: 1, error: { ...refused, data: { supported: ['2025-11-25'] } } } })).toMatchObject({ era: '2025' });
    for (const error of [new UpstreamError(Code.TOKEN_REJECTED, 'x', { status: 401 }), new UpstreamError(Code.UPSTREAM_SERVER_ERROR, 'x', { status: 503 }), new UpstreamError(Code.UNREACHABLE, 'x')]) {
      expect(() => classifyProbe({ error })).toThrow(error);
    }
  });

  it('reads the answer to a 2025 initialize sent without a probe: a 2026-07-28 version, -32601 under HTTP 200, a refusal', () => {
    expect(initializeVerdict({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25', capabilities: {} } })).toBe('2025');
    expect(initializeVerdict({ jsonrpc: '2.0', id: 0, result: { resultType: 'complete', protocolVersion: '2026-07-28', capabilities: {} } })).toBe('modern');
    expect(initializeVerdict({ jsonrpc: '2.0', id: 0, error: { code: -32601, message: 'Method not found: initialize' } })).toBe('probe');
    expect(initializeVerdict({ jsonrpc: '2.0', id: 0, error: { code: -32602, message: 'bad params' } })).toBe('2025');
    expect(mightBeModernOnly(httpError(400, { jsonrpc: '2.0', id: 0, error: { code: -32022, message: 'x', data: { supported: ['2026-07-28'] } } }))).toBe(true);
    expect(mightBeModernOnly(new UpstreamError(Code.UPSTREAM_SERVER_ERROR, 'x', { status: 500 }))).toBe(false);
  });

  it('answers each era\'s question from the other\'s answer', () => {
    const about = aboutFromInitialize({ protocolVersion: '2025-11-25', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 's', version: '1' }, instructions: 'use it' });
    expect(discoverResult(about)).toEqual({
      supportedVersions: ['2026-07-28'], capabilities: { tools: { listChanged: true } }, instructions: 'use it',
      resultType: 'complete', ttlMs: 0, cacheScope: 'private', _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '1' } },
    });
    expect(initializeResult(aboutFromDiscover(discoverResult(about)), '2025-06-18', { name: 'appwrite-mcp', version: '0' })).toEqual({
      protocolVersion: '2025-06-18', capabilities: { tools: { listChanged: true } }, serverInfo: { name: 's', version: '1' }, instructions: 'use it',
    });
    expect(initializeResult({ capabilities: {} }, '1999-01-01', { name: 'appwrite-mcp', version: '0' })).toMatchObject({ protocolVersion: '2025-11-25', serverInfo: { name: 'appwrite-mcp' } });
  });
});

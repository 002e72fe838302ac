// The tool filter on the messages themselves: list results edited in place (every page, the rest of
// the result byte for byte), calls refused, and nothing parsed when no filter is set.
import { describe, expect, it } from 'vitest';
import { globToRegExp, ToolFilter } from '../../src/proxy/tool-filter.js';

const list = (id: number | string, cursor?: string) => ({ jsonrpc: '2.0' as const, id, method: 'tools/list', params: cursor ? { cursor } : {} });
const call = (id: number, name: string) => ({ jsonrpc: '2.0' as const, id, method: 'tools/call', params: { name, arguments: {} } });
const tool = (name: string, readOnly?: boolean) => ({ name, inputSchema: { type: 'object' }, ...(readOnly === undefined ? {} : { annotations: { readOnlyHint: readOnly } }) });

describe('ToolFilter', () => {
  it('is not created without options', () => {
    expect(ToolFilter.from({})).toBeUndefined();
    expect(ToolFilter.from({ ignore: [], allow: [], readOnly: false })).toBeUndefined();
  });

  it('globs: * is any run, the rest literal, whole name, case-insensitive', () => {
    expect(globToRegExp('db_*').test('DB_delete')).toBe(true);
    expect(globToRegExp('db_*').test('xdb_delete')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
    expect(globToRegExp('*(x)*').test('f(x)g')).toBe(true);
  });

  it('filters every page of tools/list and keeps the rest of each result byte for byte (2026-07-28 members too)', () => {
    const f = ToolFilter.from({ ignore: ['delete_*'] })!;
    expect(f.check(list(1))).toBeUndefined();
    expect(f.listing).toBe(true);
    const page1 = `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[${JSON.stringify(tool('get_doc'))}, ${JSON.stringify(tool('delete_doc'))}],"nextCursor":"p2","ttlMs":60000,"cacheScope":"user"}}`;
    expect(f.filter(page1)).toBe(`{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[${JSON.stringify(tool('get_doc'))}],"nextCursor":"p2","ttlMs":60000,"cacheScope":"user"}}`);
    expect(f.listing).toBe(false);
    f.check(list('two', 'p2'));
    const page2 = JSON.stringify({ jsonrpc: '2.0', id: 'two', result: { tools: [tool('DELETE_all'), tool('list_docs')] } });
    expect(JSON.parse(f.filter(page2)).result.tools.map((t: { name: string }) => t.name)).toEqual(['list_docs']);
    // Not a list answer: unchanged, even when it mentions tools.
    const other = JSON.stringify({ jsonrpc: '2.0', id: 9, result: { tools: [tool('delete_x')] } });
    expect(f.filter(other)).toBe(other);
    // An error answer to a list passes as it is.
    f.check(list(3));
    const error = '{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"boom"}}';
    expect(f.filter(error)).toBe(error);
    expect(f.listing).toBe(false);
  });

  it('refuses calls to hidden tools with -32602 and says why; passes the others', () => {
    const f = ToolFilter.from({ ignore: ['rm'], allow: ['r*', 'ls'] })!;
    expect(JSON.parse(f.check(call(1, 'rm'))!)).toMatchObject({ id: 1, error: { code: -32602, message: 'Tool "rm" is not available: appwrite-mcp hides it (--ignore-tool rm).', data: { reason: 'TOOL_FILTERED', tool: 'rm' } } });
    expect(f.check(call(2, 'cat'))).toMatch(/shows only the tools --allow-tool names \(r\*, ls\)/);
    expect(f.check(call(3, 'read'))).toBeUndefined();
    expect(f.check(call(4, 'LS'))).toBeUndefined();
    expect(f.check({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBeUndefined();
  });

  it('--read-only: only tools annotated readOnlyHint: true, learned from the list; a tool not listed yet is refused', () => {
    const f = ToolFilter.from({ readOnly: true })!;
    expect(f.check(call(1, 'get'))).toMatch(/has not seen this tool in a tools\/list result yet/);
    f.check(list(2));
    const listed = f.filter(JSON.stringify({ jsonrpc: '2.0', id: 2, result: { tools: [tool('get', true), tool('put', false), tool('post')] } }));
    expect(JSON.parse(listed).result.tools.map((t: { name: string }) => t.name)).toEqual(['get']);
    expect(f.check(call(3, 'get'))).toBeUndefined();
    expect(f.check(call(4, 'put'))).toMatch(/does not annotate this tool as read-only/);
    expect(f.check(call(5, 'post'))).toMatch(/does not annotate this tool as read-only/);
  });
});

// What the desktop client does in each of the conformance suite's client scenarios: one table with
// a row per scenario (all 48 of suite 0.2.0-alpha.12; conformance.test.ts checks that the rows are
// exactly the suite's list), read by client.ts (which does it) and by conformance.ts /
// conformance.test.ts (which also require the checks listed in `require` to have succeeded). An
// empty row is DEFAULT_PLAN. Nothing here passes a scenario: each row says what a user's client would do with
// the server the scenario starts; the suite's own checks judge what reached its servers.
//
// Sources read for each row (suite 0.2.0-alpha.12, src/scenarios/client/ in
// github.com/modelcontextprotocol/conformance, and the published dist/index.js for the sep-2640
// scenarios, which are not in the repository yet).

export type ToolsStep =
  /** tools/list only. */
  | 'list'
  /** tools/list, then tools/call of every listed tool, with arguments sampled from its inputSchema. */
  | 'call-all'
  /** tools/list, then the calls the suite hands the client in MCP_CONFORMANCE_CONTEXT.toolCalls. */
  | 'context-calls'
  /** tools/list, then `via` is called with `argument` set to the inputSchema of `of` as listed. */
  | { echoSchema: { of: string; via: string; argument: string } };

export interface Plan {
  tools: ToolsStep;
  /** resources/list, then resources/read of every listed resource. */
  resources?: boolean;
  /** prompts/list, then prompts/get of every listed prompt (required arguments sampled). */
  prompts?: boolean;
  /**
   * SEP-2640 skills: 'list' calls skills/list and loads nothing (no skill is picked);
   * 'load-all' also loads each listed skill as a host does: read its SKILL.md, verify it against
   * the entry (byte size, sha256 digest, frontmatter field by field) and read the skill's other
   * files only when it verified. A skill that fails verification is refused (and reported).
   */
  skills?: 'list' | 'load-all';
  /** Check ids (or names) that must be SUCCESS besides the suite's verdict (so a skipped path cannot pass). */
  require?: string[];
  /** Why the row differs from the default. */
  why?: string;
}

/** What a desktop client does with a server: list its tools, and the model may call any of them. */
export const DEFAULT_PLAN: Plan = { tools: 'call-all' };

const DEFAULT = {};

export const PLANS: Record<string, Partial<Plan>> = {
  // Lifecycle and tools (2025 wire unless the scenario is 2026-only).
  initialize: DEFAULT, // the server offers no tools: initialize and tools/list are all there is
  tools_call: DEFAULT,
  'elicitation-sep1034-client-defaults': DEFAULT, // the tool elicits; the form is accepted with its defaults
  'sse-retry': DEFAULT, // the tool's SSE stream closes with retry: 500; the answer comes on the resumed GET stream
  'request-metadata': {
    // Every POST is checked for MCP-Protocol-Version and _meta; the checks on the capabilities are
    // emitted only when the client declares them (it does: elicitation, sampling, roots).
    require: ['sep-2575-client-populates-meta', 'sep-2575-http-client-sends-version-header', 'sep-2575-client-retry-supported-version'],
  },
  'sep-2322-client-request-state': {
    // Four tools; two answer input_required with an elicitation the client accepts.
    require: ['sep-2322-client-request-state-echoed', 'sep-2322-client-no-state-omitted', 'sep-2322-client-parallel-isolation', 'sep-2322-default-result-type-complete'],
  },
  'http-standard-headers': {
    resources: true,
    prompts: true,
    why: 'Mcp-Method / Mcp-Name are checked on tools, resources and prompts requests; a path not taken is SKIPPED',
    require: ['ClientMcpNameHeader_tools_call', 'ClientMcpNameHeader_resources_read', 'ClientMcpNameHeader_prompts_get'],
  },
  'http-custom-headers': {
    tools: 'context-calls',
    why: 'the suite hands the client the argument values to use (encoding edge cases) in its context',
    require: ['sep-2243-client-supports-custom-headers', 'sep-2243-client-omit-null'],
  },
  'http-invalid-tool-headers': {
    // Every tool the client is shown may be called; tools with malformed x-mcp-header must not be shown.
    require: ['ClientKeepsValidTool'],
  },
  'json-schema-ref-no-deref': {
    tools: 'list',
    why: 'the scenario checks that listing (and processing) the tool does not fetch its network $ref',
    require: ['sep-2106-no-network-ref-deref'],
  },
  'json-schema-2020-12-preservation': {
    tools: { echoSchema: { of: 'json_schema_2020_12_tool', via: 'json_schema_echo', argument: 'schema' } },
    why: 'the scenario asks the client to hand the focal tool\'s inputSchema, as it saw it, back through the echo tool',
    require: ['JsonSchema2020_12ClientEchoCompleted'],
  },
  'sep-2640-client-no-prefetch': {
    tools: 'list',
    skills: 'list',
    why: 'the host lists skills on connection and loads none: no skill file may be read',
    require: ['sep-2640-host-no-prefetch'],
  },
  'sep-2640-client-verify-digest': {
    tools: 'list',
    skills: 'load-all',
    why: 'the served SKILL.md does not match its digest: the host must refuse it and read nothing more of the skill',
    require: ['sep-2640-host-verify-digest'],
  },
  'sep-2640-client-verify-size': {
    tools: 'list',
    skills: 'load-all',
    why: 'the served SKILL.md is longer than its entry says: the host must refuse it',
    require: ['sep-2640-host-size-mismatch-failure'],
  },
  'sep-2640-client-verify-frontmatter': {
    tools: 'list',
    skills: 'load-all',
    why: 'the served SKILL.md frontmatter differs from the entry: the host must refuse it',
    require: ['sep-2640-host-frontmatter-comparison'],
  },
  // Authorization: the MCP server asks for a token (on initialize, or on tools/list and
  // tools/call); the proxy signs in through the suite's AS (browser.mjs follows its /authorize
  // redirect), and the client lists and calls the tool as usual.
  'auth/metadata-default': DEFAULT,
  'auth/metadata-var1': DEFAULT,
  'auth/metadata-var2': DEFAULT,
  'auth/metadata-var3': DEFAULT,
  'auth/basic-cimd': DEFAULT,
  'auth/scope-from-www-authenticate': DEFAULT,
  'auth/scope-from-scopes-supported': DEFAULT,
  'auth/scope-omitted-when-undefined': DEFAULT,
  'auth/scope-step-up': DEFAULT, // tools/call needs a scope tools/list did not: 403 insufficient_scope, then step-up
  'auth/scope-retry-limit': DEFAULT, // every token gets 403: the proxy must give up after a bounded number of tries
  'auth/token-endpoint-auth-basic': DEFAULT,
  'auth/token-endpoint-auth-post': DEFAULT,
  'auth/token-endpoint-auth-none': DEFAULT,
  'auth/pre-registration': DEFAULT,
  'auth/2025-03-26-oauth-metadata-backcompat': DEFAULT,
  'auth/2025-03-26-oauth-endpoint-fallback': DEFAULT,
  'auth/resource-mismatch': {
    // Passes whenever no authorization request is made, even by a client that never starts:
    // require that the proxy did fetch the protected-resource metadata and refused its resource.
    require: ['prm-pathbased-requested', 'resource-mismatch-rejected'],
  },
  'auth/offline-access-scope': DEFAULT,
  'auth/offline-access-not-supported': DEFAULT,
  'auth/authorization-server-migration': DEFAULT, // the first authorized request moves the PRM to a second AS; the next one gets 401
  'auth/iss-supported': DEFAULT,
  'auth/iss-not-advertised': DEFAULT,
  'auth/iss-supported-missing': DEFAULT,
  'auth/iss-wrong-issuer': DEFAULT,
  'auth/iss-unexpected': DEFAULT,
  'auth/iss-normalized': DEFAULT,
  'auth/metadata-issuer-mismatch': DEFAULT,
  'auth/client-credentials-jwt': DEFAULT,
  'auth/client-credentials-basic': DEFAULT,
  'auth/enterprise-managed-authorization': DEFAULT,
  'auth/dpop': {
    // A Bearer token would still reach tools/list on a lenient run: require the proof checks themselves.
    require: ['sep-1932-client-token-request-proof', 'sep-1932-client-dpop-auth-scheme', 'sep-1932-client-fresh-proof'],
  },
  'auth/dpop-nonce': {
    require: ['sep-1932-client-token-request-proof', 'sep-1932-client-dpop-auth-scheme', 'sep-1932-client-fresh-proof', 'sep-1932-client-as-nonce', 'sep-1932-client-rs-nonce'],
  },
  'auth/wif-jwt-bearer': { require: ['wif-assertion-verified'] },
};

export function planFor(scenario: string): Plan {
  return { ...DEFAULT_PLAN, ...PLANS[scenario] };
}

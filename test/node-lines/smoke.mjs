// The smoke subset: what `npm test` runs on the supported lines other than the one that runs the whole
// suite (test/run.mjs), after building with that line. The unit tests (no servers: the CLI's parts, the
// proxy's units and tool filter, setup's editors, the sign-in policy, state), the real keychain
// binding (the Secret Service, test/store/secrets.test.ts), and one real sign-in and proxy session:
// the Claude Desktop bundle's (test/bundle/: the built CLI and its production dependencies, unpacked
// and run as Claude Desktop runs it — a browser sign-in in headless Chromium, tools listed and called
// under a real MCP client). Each entry is a vitest file filter; test/run.mjs refuses one that matches
// no file, so a moved test cannot silently drop out of the subset.
export const SMOKE = [
  'test/unit/',
  'test/proxy/units.test.ts',
  'test/proxy/eras-units.test.ts',
  'test/proxy/tool-filter.test.ts',
  'test/setup/json-edit.test.ts',
  'test/setup/toml-edit.test.ts',
  'test/auth/stored-authorizer.test.ts',
  'test/store/state.test.ts',
  'test/store/secrets.test.ts',
  'test/bundle/',
];

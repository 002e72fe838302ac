#!/usr/bin/env node
// The launcher: the CLI compiled to dist/ (by `npm run build` in a checkout; the package ships it).
const cli = new URL('../dist/cli.js', import.meta.url);
import(cli.href).catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && err.url === cli.href) {
    process.stderr.write('appwrite-mcp: this checkout is not built yet (no dist/cli.js): run `npm ci && npm run build` in it first\n');
    process.exit(1);
  }
  throw err;
});

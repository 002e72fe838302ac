#!/usr/bin/env node
// The launcher: the CLI compiled to dist/ (by `npm run build` in a checkout; the package ships it).
// The compile cache (dist/compile-cache.js) is switched on first, so that every module after it
// loads from V8's code cache instead of being compiled again on each start.
const dist = new URL('../dist/', import.meta.url);
const cli = new URL('cli.js', dist);
import(new URL('compile-cache.js', dist).href)
  .then((cache) => cache.enableCompileCache(), () => {})
  .then(() => import(cli.href))
  .catch((err) => {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && err.url === cli.href) {
      process.stderr.write('appwrite-mcp: this checkout is not built yet (no dist/cli.js): run `npm ci && npm run build` in it first\n');
      process.exit(1);
    }
    throw err;
  });

// Preloaded with `node --import` into one extra (untimed) proxy start: records every module the
// process loads — ES modules through a loader hook, CommonJS through Module._resolveFilename —
// one path per line into $BENCH_MODULE_TRACE.
import Module, { register } from 'node:module';
import { appendFileSync } from 'node:fs';

const out = process.env.BENCH_MODULE_TRACE;
if (out) {
  register('./module-trace-hooks.mjs', import.meta.url, { data: { out } });
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (...args) {
    const file = resolveFilename.apply(this, args);
    if (file.startsWith('/')) appendFileSync(out, `file://${file}\n`);
    return file;
  };
}

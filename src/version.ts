import { readFileSync } from 'node:fs';

/** The package version, read once from package.json next to dist/. */
export const VERSION: string = (() => {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
})();

/**
 * The package spec an entry pins: `appwrite-mcp@<major>`, or before 1.0 `appwrite-mcp@0.<minor>`
 * (npm treats each 0.x minor as a breaking line), so that a client restart never silently runs a
 * breaking release. A prerelease pins itself exactly.
 */
export function packageSpec(version: string): string {
  const m = /^(\d+)\.(\d+)\.\d+(-.+)?$/.exec(version.trim());
  if (!m) return 'appwrite-mcp';
  if (m[3]) return `appwrite-mcp@${version.trim()}`;
  return m[1] === '0' ? `appwrite-mcp@0.${m[2]}` : `appwrite-mcp@${m[1]}`;
}

// The host side of SEP-2640 (skills extension) that a skills-capable desktop client runs: list
// skills, and load one only when it is picked: read its SKILL.md, verify it against the entry
// skills/list gave (byte size, sha256 digest, YAML frontmatter field by field) and only then read
// the skill's other files (each verified too). Content that fails verification is not used.
// (SEP-2640 "Integrity and verification": "When a host retrieves a file listed in a skill's
// resources, it MUST verify the content against that entry's digest, and MUST NOT use unverified
// content"; a size mismatch "is a verification failure equivalent to a digest mismatch"; hosts
// "MUST parse its YAML frontmatter and compare it field-by-field against the entry's frontmatter,
// and MUST NOT load the skill on any discrepancy".)
import { createHash } from 'node:crypto';
import type { Json } from './sample.js';

export interface SkillsPort {
  request(method: string, params: Json): Promise<Json>;
  readResource(uri: string): Promise<Json>;
}

export interface SkillLoad {
  uri: string;
  loaded: boolean;
  /** Why it was refused (when not loaded). */
  refused?: string;
  filesRead: string[];
}

/** skills/list, every page. */
export async function listSkills(port: SkillsPort): Promise<Json[]> {
  const skills: Json[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 20; i++) {
    const page = await port.request('skills/list', cursor ? { cursor } : {});
    skills.push(...(page.skills ?? []));
    cursor = page.nextCursor;
    if (!cursor) return skills;
  }
  throw new Error('skills/list: more than 20 pages');
}

function bytesOf(read: Json, uri: string): Buffer {
  const content = (read.contents ?? []).find((c: Json) => c.uri === uri) ?? read.contents?.[0];
  if (!content) throw new Error(`resources/read ${uri}: no contents`);
  return typeof content.blob === 'string' ? Buffer.from(content.blob, 'base64') : Buffer.from(String(content.text ?? ''), 'utf8');
}

/** Why `bytes` does not match its entry, or undefined when it does. */
export function mismatch(bytes: Buffer, file: Json): string | undefined {
  if (typeof file.size === 'number' && bytes.length !== file.size) return `size ${bytes.length} bytes, entry says ${file.size}`;
  if (typeof file.digest === 'string') {
    const [algorithm, expected] = file.digest.split(':', 2);
    if (algorithm !== 'sha256' || !expected) return `unsupported digest ${file.digest}`;
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected.toLowerCase()) return `sha256 ${actual}, entry says ${expected}`;
  }
  return undefined;
}

/** The top-level scalar fields of a SKILL.md's YAML frontmatter (`---` fenced). */
export function frontmatterOf(text: string): Record<string, string> | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(text);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const line of m[1]!.split(/\r?\n/)) {
    const kv = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
    if (kv) out[kv[1]!] = kv[2]!.replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function frontmatterDiff(text: string, expected: Json | undefined): string | undefined {
  if (!expected) return undefined;
  const actual = frontmatterOf(text);
  if (!actual) return 'SKILL.md has no frontmatter';
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    const want = expected[key];
    const got = actual[key];
    if ((typeof want === 'string' ? want : JSON.stringify(want)) !== got) return `frontmatter ${key}: file says ${JSON.stringify(got)}, entry says ${JSON.stringify(want)}`;
  }
  return undefined;
}

/** Loads one skill as a host does; a file that fails verification stops the load. */
export async function loadSkill(port: SkillsPort, skill: Json): Promise<SkillLoad> {
  const uri = String(skill.uri);
  const files: Json[] = skill.resources ?? [];
  const main = files.find((f) => f.uri === uri) ?? { uri };
  const load: SkillLoad = { uri, loaded: false, filesRead: [uri] };
  const bytes = bytesOf(await port.readResource(uri), uri);
  const bad = mismatch(bytes, main) ?? frontmatterDiff(bytes.toString('utf8'), skill.frontmatter);
  if (bad) return { ...load, refused: `${uri}: ${bad}` };
  for (const file of files) {
    if (file.uri === uri) continue;
    load.filesRead.push(file.uri);
    const problem = mismatch(bytesOf(await port.readResource(file.uri), file.uri), file);
    if (problem) return { ...load, refused: `${file.uri}: ${problem}` };
  }
  return { ...load, loaded: true };
}

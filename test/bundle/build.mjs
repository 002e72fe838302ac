#!/usr/bin/env node
// `npm run bundle`: the Claude Desktop bundle (MCP Bundle, .mcpb) built with the official tooling
// (@anthropic-ai/mcpb: `mcpb validate`, `mcpb pack`) from the files the npm package ships.
//
//   .mcpb/stage/                       the bundle's tree, as Claude Desktop unpacks it
//     manifest.json                    test/bundle/manifest.template.json + version and Node range from package.json
//     package.json                     name, version, type, engines, dependencies (no scripts, no devDependencies)
//     bin/ dist/ README.md LICENSE     exactly the files `npm pack` puts in the tarball (`npm pack --dry-run --json`)
//     node_modules/                    `npm ci --omit=dev` from npm-shrinkwrap.json: production dependencies only,
//                                      plus the prebuilt @napi-rs/keyring binary of every platform the manifest names
//   .mcpb/appwrite-mcp-<version>.mcpb  `mcpb pack` of the stage
//
// The keyring's binaries are per-platform optional packages (@napi-rs/keyring-<platform>): npm installs
// only this machine's, so the others are fetched with `npm pack <name>@<locked version>` and checked
// against the lockfile's integrity before they are unpacked into node_modules. One bundle serves
// every platform: the keyring loader picks its binary at run time.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const OUT_DIR = join(ROOT, '.mcpb');
/** The CPUs the bundle carries keyring binaries for, on each platform the manifest names. */
const CPUS = ['x64', 'arm64'];

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

/** The manifest: the template, with the package's version and the Node.js range of its `engines`. */
export function bundleManifest(pkg = readJson(join(ROOT, 'package.json'))) {
  const template = readJson(join(here, 'manifest.template.json'));
  const manifest = {};
  for (const [key, value] of Object.entries(template)) {
    manifest[key] = value;
    if (key === 'display_name') manifest.version = pkg.version;
  }
  manifest.compatibility = { ...template.compatibility, runtimes: { node: pkg.engines.node } };
  return manifest;
}

/** The path of the .mcpb for a version. */
export const bundlePath = (version, outDir = OUT_DIR) => join(outDir, `appwrite-mcp-${version}.mcpb`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr ?? ''}${r.stdout ?? ''}`);
  }
  return r.stdout ?? '';
}

const npm = (args, opts) => run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { shell: process.platform === 'win32', ...opts });
const mcpbCli = () => join(ROOT, 'node_modules/@anthropic-ai/mcpb', readJson(join(ROOT, 'node_modules/@anthropic-ai/mcpb/package.json')).bin);
/** Runs the official `mcpb` CLI. */
export const mcpb = (args, opts) => run(process.execPath, [mcpbCli(), ...args], opts);

/** The files the npm package ships, as `npm pack` lists them (dist/ must be built). */
function packedFiles() {
  if (!existsSync(join(ROOT, 'dist/cli.js'))) throw new Error('dist/ is not built: run `npm run build` first');
  const [pack] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts']));
  return pack.files.map((f) => f.path);
}

/** The locked keyring binaries for the manifest's platforms, except those `npm ci` installed already. */
function keyringBinaries(lock, platforms, nodeModules) {
  return Object.entries(lock.packages)
    .filter(([path, p]) => /^node_modules\/@napi-rs\/keyring-[^/]+$/.test(path) && p.os?.some((os) => platforms.includes(os)) && p.cpu?.some((cpu) => CPUS.includes(cpu)))
    .filter(([path]) => !existsSync(join(nodeModules, '..', path)))
    .map(([path, p]) => ({ name: path.slice('node_modules/'.length), version: p.version, integrity: p.integrity }));
}

/** `npm pack name@version`, the tarball checked against the lockfile's integrity, unpacked to `dest`. */
function fetchPackage({ name, version, integrity }, dest, scratch) {
  const [packed] = JSON.parse(npm(['pack', `${name}@${version}`, '--json', '--pack-destination', scratch]));
  const tarball = join(scratch, packed.filename);
  const [algorithm, expected] = integrity.split(/-(.*)/s);
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) throw new Error(`${name}@${version}: the tarball's ${algorithm} is ${actual}, the lockfile says ${expected}`);
  const unpacked = mkdtempSync(join(scratch, 'unpacked-'));
  run('tar', ['-xzf', tarball, '-C', unpacked]);
  mkdirSync(dirname(dest), { recursive: true });
  renameSync(join(unpacked, 'package'), dest);
}

/**
 * Builds the stage and packs it. `dist/` must be built. Returns the bundle's path, its size and the
 * stage directory.
 */
export function buildBundle({ outDir = OUT_DIR, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const pkg = readJson(join(ROOT, 'package.json'));
  const lock = readJson(join(ROOT, 'npm-shrinkwrap.json'));
  const manifest = bundleManifest(pkg);
  const stage = join(outDir, 'stage');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  const files = packedFiles().filter((f) => f !== 'package.json' && f !== 'npm-shrinkwrap.json');
  for (const file of files) cpSync(join(ROOT, file), join(stage, file));
  log(`bundle: ${files.length} files of the npm package (${files.filter((f) => f.startsWith('dist/')).length} in dist/)`);

  // Production dependencies only, at the locked versions, with no install scripts.
  cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'));
  cpSync(join(ROOT, 'npm-shrinkwrap.json'), join(stage, 'npm-shrinkwrap.json'));
  npm(['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage });
  rmSync(join(stage, 'npm-shrinkwrap.json'));
  rmSync(join(stage, 'node_modules/.package-lock.json'), { force: true });
  const { name, version, description, license, type, engines, dependencies } = pkg;
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name, version, description, license, type, engines, dependencies }, null, 2)}\n`);

  const scratch = mkdtempSync(join(tmpdir(), 'appwrite-mcp-bundle-'));
  try {
    const missing = keyringBinaries(lock, manifest.compatibility.platforms, join(stage, 'node_modules'));
    for (const binary of missing) fetchPackage(binary, join(stage, 'node_modules', binary.name), scratch);
    const all = readdirSync(join(stage, 'node_modules/@napi-rs')).filter((n) => n.startsWith('keyring-'));
    log(`bundle: keyring binaries for ${all.map((n) => n.slice('keyring-'.length)).join(', ')}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  writeFileSync(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  mcpb(['validate', join(stage, 'manifest.json')]);
  const out = bundlePath(pkg.version, outDir);
  rmSync(out, { force: true });
  const packed = mcpb(['pack', stage, out]);
  const details = packed.slice(packed.indexOf('Archive Details'));
  log(details.trim().split('\n').map((l) => `bundle: ${l}`).join('\n'));
  return { path: out, bytes: statSync(out).size, stage };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { path, bytes } = buildBundle();
    process.stdout.write(`${path} (${(bytes / 1024 / 1024).toFixed(1)} MB)\n`);
  } catch (err) {
    process.stderr.write(`bundle: ${err.message}\n`);
    process.exit(1);
  }
}

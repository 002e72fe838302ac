// Which scopes to ask for (MCP authorization spec, "Scope Selection Strategy").

export function splitScopes(scope: string | undefined | null): string[] {
  return scope ? scope.split(/\s+/).filter(Boolean) : [];
}

export function unionScopes(...lists: Array<string[] | undefined>): string[] {
  const out: string[] = [];
  for (const list of lists) for (const s of list ?? []) if (!out.includes(s)) out.push(s);
  return out;
}

/**
 * The scopes for an authorization request: `--scope` when the user gave one; else the scope of the
 * server's challenge; else the PRM's `scopes_supported`; else none. Then, where the AS lists them,
 * `offline_access` (so a refresh token comes back) and `openid email profile` (so `status` can
 * name the account).
 */
export function chooseScopes(opts: {
  requested?: string[];
  challengeScope?: string;
  resourceScopes?: string[];
  asScopes?: string[];
}): string[] {
  let base: string[];
  if (opts.requested?.length) base = opts.requested;
  else if (opts.challengeScope) base = splitScopes(opts.challengeScope);
  else base = opts.resourceScopes ?? [];
  const extras = ['offline_access', 'openid', 'email', 'profile'].filter((s) => opts.asScopes?.includes(s));
  return unionScopes(base, extras);
}

/** Umbrella scopes that stand for a whole catalog (Appwrite's console AS), in the order asked for. */
export const UMBRELLA_SCOPES = ['all', 'project:all', 'organization:all'];

/**
 * What to ask for once after the AS refused `refused` as `invalid_scope` (a length cap, a scope it
 * does not know), for scopes the server chose (never for `--scope`): the umbrella scopes the AS
 * lists in its metadata, with `offline_access` and `openid email profile` where it lists them; else
 * no `scope` at all (the AS's default, RFC 6749 §3.3). Undefined when that is what was refused.
 */
export function narrowedScopes(refused: string[], asScopes: string[] | undefined): string[] | undefined {
  const umbrellas = UMBRELLA_SCOPES.filter((s) => asScopes?.includes(s));
  const extras = ['offline_access', 'openid', 'email', 'profile'].filter((s) => asScopes?.includes(s));
  const candidates = umbrellas.length ? [unionScopes(umbrellas, extras), []] : [[]];
  return candidates.find((next) => !sameScopes(next, refused));
}

function sameScopes(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((s) => b.includes(s));
}

/** A scope list for a message: quoted when short, else counted with its first few. */
export function describeScopes(scopes: string[]): string {
  if (!scopes.length) return 'no scope';
  const joined = scopes.join(' ');
  if (joined.length <= 100) return `"${joined}"`;
  return `${scopes.length} scopes, ${joined.length} characters (${scopes.slice(0, 3).join(' ')} …)`;
}

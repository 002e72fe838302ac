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

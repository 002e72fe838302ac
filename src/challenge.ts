import type { BearerChallenge } from './proxy/authorizer.js';

/**
 * Parses a `WWW-Authenticate` header value (RFC 9110 §11.6.1) and returns the parameters of its
 * Bearer challenge (RFC 6750 §3, RFC 9728 §5.1), or undefined when there is none. Handles several
 * challenges in one value, quoted strings with backslash escapes and token68 forms.
 */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (!header) return undefined;
  for (const challenge of parseChallenges(header)) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue;
    const p = challenge.params;
    return {
      error: p.error,
      errorDescription: p.error_description,
      scope: p.scope,
      resourceMetadata: p.resource_metadata,
    };
  }
  return undefined;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

function parseChallenges(input: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = input.length;
  const skipWs = () => { while (i < n && (input[i] === ' ' || input[i] === '\t')) i++; };
  const readToken = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(input[i]!)) i++;
    return input.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (input[i] === ',') { i++; continue; }
    const token = readToken();
    if (!token) { i++; continue; }
    skipWs();
    if (input[i] === '=' && current) {
      // auth-param: token "=" ( token / quoted-string )
      i++;
      skipWs();
      let value = '';
      if (input[i] === '"') {
        i++;
        while (i < n && input[i] !== '"') {
          if (input[i] === '\\' && i + 1 < n) i++;
          value += input[i++];
        }
        i++;
      } else {
        value = readToken();
        // token68 padding ("abc==") belongs to the value
        while (input[i] === '=') value += input[i++];
      }
      current.params[token.toLowerCase()] = value;
    } else {
      current = { scheme: token, params: {} };
      out.push(current);
      // token68 right after the scheme: skip it
      const save = i;
      const t68 = readToken();
      while (input[i] === '=') i++;
      skipWs();
      if (!(t68 && (i >= n || input[i] === ','))) i = save;
    }
  }
  return out;
}

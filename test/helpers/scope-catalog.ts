// Appwrite's scope model as the local cloud serves it (`catalog: 'appwrite'`), and the line appwrite-mcp
// writes when the AS refuses the whole catalog and it narrows to the umbrella scope.
import { APPWRITE_SCOPES } from '../cloud/index.js';

export const CATALOG = APPWRITE_SCOPES.join(' ');
export const EXTRAS = ['offline_access', 'openid', 'email', 'profile'];
export const scopeOf = (url: string) => new URL(url).searchParams.get('scope');
export const RETRY_LINE = new RegExp(
  `appwrite-mcp: the authorization server refused the requested scope \\(invalid_scope: scope is ${CATALOG.length + ' offline_access openid email profile'.length} characters long; this server takes at most 1000\\): `
  + `${APPWRITE_SCOPES.length + EXTRAS.length} scopes, \\d+ characters \\(account\\.read account\\.write users\\.read …\\); asking for "all offline_access openid email profile" instead\n`,
);

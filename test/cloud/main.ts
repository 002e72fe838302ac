// `npm run cloud`: the local cloud stand-in on its own, until Ctrl-C.
//   node --import tsx test/cloud/main.ts [--ttl SECONDS] [--catalog appwrite] [--cimd]
import { parseArgs } from 'node:util';
import { startCloud } from './index.js';

const { values } = parseArgs({ options: { ttl: { type: 'string' }, catalog: { type: 'string' }, cimd: { type: 'boolean' } } });
const accessTokenTtl = values.ttl === undefined ? undefined : Number(values.ttl);
if (accessTokenTtl !== undefined && !(Number.isInteger(accessTokenTtl) && accessTokenTtl > 0)) {
  process.stderr.write(`--ttl must be a positive number of seconds, got "${values.ttl}"\n`);
  process.exit(2);
}

if (values.catalog !== undefined && values.catalog !== 'appwrite') {
  process.stderr.write(`--catalog takes "appwrite" (Appwrite's scope model on the root server), got "${values.catalog}"\n`);
  process.exit(2);
}

const cloud = await startCloud({
  accessTokenTtl,
  ...(values.catalog ? { catalog: 'appwrite' as const } : {}),
  // Documents are fetched trusting Node's CAs (and NODE_EXTRA_CA_CERTS).
  ...(values.cimd ? { clientMetadataDocuments: {} } : {}),
});
process.stdout.write([
  `MCP server (root):     ${cloud.mcpUrl}`,
  `MCP server (project):  ${cloud.projectMcpUrl('demo-project')}`,
  `authorization server:  ${cloud.issuer}`,
  `project issuer:        ${cloud.projectIssuer('demo-project')}`,
  `device sign-in:        ${cloud.issuer}/device  (login --device-code with the root server; RFC 8628)`,
  `MCP server (HTTP+SSE only, 2024-11-05): ${cloud.legacySseUrl}  (issuer ${cloud.legacySseIssuer})`,
  `MCP server (2026-07-28 only, SDK v2): ${cloud.modernMcpUrl}  (issuer ${cloud.modernIssuer})`,
  `MCP server (both eras, SDK v2):       ${cloud.dualMcpUrl}  (issuer ${cloud.dualIssuer})`,
  `sign in as:            ${cloud.user.login} / ${cloud.user.password}`,
  `access token lifetime: ${accessTokenTtl ?? 3600} s`,
  ...(values.cimd ? ['client ids:            Client ID Metadata Document URLs (https) accepted by the console issuer'] : []),
  ...(values.catalog ? ['scopes (root server):  Appwrite\'s catalog (73 scopes) advertised; the AS refuses a scope over 1,000 characters and takes "all"'] : []),
  'Ctrl-C to stop.',
  '',
].join('\n'));

const shutdown = async () => {
  await cloud.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

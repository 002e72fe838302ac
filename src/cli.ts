// The command-line entry. Each command's module is imported only when it runs, so that proxy mode
// (what MCP clients start, again and again) never loads the login UI (ink, react).
import { Command, InvalidArgumentError, Option } from 'commander';
import { VERSION } from './version.js';
import { DEFAULT_SERVER_URL } from './target.js';
import { AppError, Code, ExitCode, errorMessage } from './errors.js';
import { redact } from './log.js';

const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number of seconds`);
  return n;
};

const header = (value: string, previous: string[] = []) => {
  if (!/^[^:\s]+:/.test(value)) throw new InvalidArgumentError(`"${value}" is not a header; use Name:value`);
  return [...previous, value];
};

const urlOption = () => new Option('--url <url>', `MCP server URL (env APPWRITE_MCP_URL; default ${DEFAULT_SERVER_URL})`);
const storeOption = () => new Option('--store <where>', 'where secrets go: keychain or file (default: the OS keychain, else a 0600 file)').choices(['keychain', 'file']);
const debugOption = () => new Option('--debug', 'verbose diagnostics on stderr (tokens are always redacted)');
const headerOption = (what: string) => new Option('-H, --header <name:value>', what).argParser(header);

/** How to be an OAuth client, for `login` and the proxy. Secrets only from the environment or stdin. */
function addClientOptions(command: Command): Command {
  return command
    .option('--client-id <id>', 'a pre-registered OAuth client (env APPWRITE_MCP_CLIENT_ID; its secret, if any, in APPWRITE_MCP_CLIENT_SECRET)')
    .option('--client-metadata-url <url>', 'an https URL of a Client ID Metadata Document to use as client id where the authorization server accepts them (env APPWRITE_MCP_CLIENT_METADATA_URL)')
    .option('--client-credentials', 'sign in without a person: the client credentials grant with --client-id and APPWRITE_MCP_CLIENT_SECRET or --private-key-file')
    .option('--private-key-file <pem>', 'PKCS#8 PEM private key: authenticate the client with a signed JWT (private_key_jwt)')
    .option('--idp-token-endpoint <url>', 'enterprise-managed sign-in: exchange the ID token in APPWRITE_MCP_IDP_ID_TOKEN at this IdP token endpoint for an ID-JAG')
    .option('--idp-client-id <id>', 'enterprise-managed sign-in: the client id at the IdP (its secret, if any, in APPWRITE_MCP_IDP_CLIENT_SECRET)');
}

const program = new Command('appwrite-mcp')
  .exitOverride((err) => process.exit(err.exitCode === 1 ? ExitCode.usage : err.exitCode))
  .description('Connect your MCP client to Appwrite: browser sign-in (OAuth 2.1), secrets in the OS keychain, and a stdio proxy to the hosted MCP server.')
  .version(VERSION, '-v, --version')
  .showHelpAfterError('(run appwrite-mcp --help for usage)')
  .addHelpText('after', `
Add it to an MCP client (Claude Desktop, Cursor, VS Code, Windsurf, Codex, Claude Code):
  appwrite-mcp setup <client>     or by hand: { "command": "npx", "args": ["-y", "appwrite-mcp"] }

Environment:
  APPWRITE_MCP_URL         server URL (same as --url)
  APPWRITE_MCP_TOKEN       use this bearer token as is: nothing stored, no browser
  APPWRITE_MCP_CLIENT_SECRET  the secret of --client-id (never passed on the command line)
  APPWRITE_MCP_IDP_ID_TOKEN   the ID token for enterprise-managed sign-in (--idp-token-endpoint)
  APPWRITE_MCP_CONFIG_DIR  where state (and, as a fallback, secrets) live
  BROWSER                  command that opens the sign-in URL
  HTTPS_PROXY, NO_PROXY    outbound proxy; NODE_EXTRA_CA_CERTS for extra CAs

Protocol eras: the proxy serves MCP 2025 clients (initialize, sessions) and 2026-07-28 clients
(stateless) alike and translates when the server speaks the other era; it finds out which once per
server (--protocol auto), or takes --protocol 2025 or --protocol modern.

Exit codes: 0 ok, 1 error, 2 usage, 3 not signed in, 4 signed in but needs attention,
            5 sign-in timed out, 6 access denied.`);

addClientOptions(program
  .command('proxy', { isDefault: true }))
  .description('run the stdio MCP server that forwards to the hosted server (the default command)')
  .addOption(urlOption())
  .addOption(headerOption('extra HTTP header for the server (repeatable); a sign-in is kept per set of headers'))
  .addOption(new Option('--auth-timeout <seconds>', 'how long initialize waits for a browser sign-in before answering with a sign-in placeholder').argParser(seconds).default(30))
  .option('--no-browser', 'never open a browser; tell the user to run `appwrite-mcp login` instead')
  .addOption(new Option('--protocol <era>', 'the MCP protocol era the server speaks: auto (detect it once and remember it), 2025 (2025-11-25 and earlier: initialize and sessions) or modern (2026-07-28: stateless)').choices(['auto', '2025', 'modern']).default('auto'))
  .addOption(storeOption())
  .addOption(debugOption())
  .allowExcessArguments(true)
  .action(async (opts, command: Command) => {
    if (command.args.length) {
      // The proxy is the default command, so a mistyped command name lands here.
      throw new AppError(Code.USAGE, `unknown command "${command.args[0]}"`, { hint: 'Commands: login, status, logout, setup, proxy (the default). See appwrite-mcp --help.' });
    }
    const { runProxyCommand } = await import('./commands/proxy.js');
    await runProxyCommand(opts);
  });

addClientOptions(program
  .command('login'))
  .description('sign in through the browser now, so your MCP client never has to wait')
  .addOption(urlOption())
  .addOption(headerOption('extra HTTP header, as in the client config (repeatable; the sign-in is kept for these headers)'))
  .option('--scope <scopes>', 'scopes to request, space-separated (default: what the server asks for)')
  .option('--client-secret-stdin', 'read the client secret of --client-id from stdin')
  .option('--no-browser', 'do not open a browser; print the URL to open yourself')
  .addOption(new Option('--timeout <seconds>', 'how long to wait for the browser').argParser(seconds).default(300))
  .addOption(storeOption())
  .addOption(debugOption())
  .action(async (opts) => {
    const { runLogin } = await import('./commands/login.js');
    process.exitCode = await runLogin(opts);
  });

program
  .command('status')
  .description('show who is signed in, to which server, with which scopes, and where secrets live')
  .addOption(urlOption())
  .addOption(headerOption('only the sign-in made with these headers (repeatable)'))
  .option('--json', 'machine-readable output on stdout')
  .addOption(debugOption())
  .action(async (opts) => {
    const { runStatus } = await import('./commands/status.js');
    process.exitCode = await runStatus(opts);
  });

program
  .command('logout')
  .description('revoke the sign-in at the authorization server and delete local secrets and state')
  .addOption(urlOption())
  .addOption(headerOption('the sign-in made with these headers (repeatable)'))
  .option('--all', 'sign out of every server')
  .addOption(debugOption())
  .action(async (opts) => {
    const { runLogout } = await import('./commands/logout.js');
    process.exitCode = await runLogout(opts);
  });

program
  .command('setup')
  .description('add appwrite-mcp to an MCP client\'s config (a backup of the previous file is kept)')
  .argument('<client>', 'claude-desktop, claude-code, codex, cursor, vscode or windsurf')
  .option('--url <url>', 'MCP server the entry connects to (added to its args; default: the proxy\'s default)')
  .option('--name <name>', 'name of the entry in the client', 'appwrite')
  .option('--project [dir]', 'the project\'s config instead of the user\'s (cursor, vscode, claude-code; default dir: the current one)')
  .option('--force', 'replace an entry of that name that runs some other server')
  .option('--print', 'only print the config file\'s path and the snippet to add; change nothing')
  .addHelpText('after', `
Files:
  claude-desktop  claude_desktop_config.json (macOS ~/Library/Application Support/Claude/,
                  Windows %APPDATA%\\Claude\\, Linux $XDG_CONFIG_HOME/Claude/ or ~/.config/Claude/)
  claude-code     runs \`claude mcp add --scope user\` (--project: --scope project), or prints it
  codex           $CODEX_HOME/config.toml or ~/.codex/config.toml, table [mcp_servers.<name>]
  cursor          ~/.cursor/mcp.json (--project: <dir>/.cursor/mcp.json)
  vscode          the user profile's mcp.json (Linux ~/.config/Code/User/, macOS ~/Library/Application
                  Support/Code/User/, Windows %APPDATA%\\Code\\User\\); --project: <dir>/.vscode/mcp.json
  windsurf        ~/.codeium/windsurf/mcp_config.json

Running it twice changes nothing. Before changing a file it saves the previous one as
<file>.<timestamp>.bak beside it. A file it cannot parse is left untouched.`)
  .action(async (client: string, opts) => {
    const { runSetup } = await import('./commands/setup.js');
    process.exitCode = await runSetup(client, opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof AppError) {
    process.stderr.write(`appwrite-mcp: ${redact(err.message)}\n`);
    if (err.hint) process.stderr.write(`  ${redact(err.hint)}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`appwrite-mcp: ${redact(errorMessage(err))}\n`);
    if (process.env.APPWRITE_MCP_DEBUG) process.stderr.write(`${redact(String((err as Error)?.stack))}\n`);
    process.exitCode = ExitCode.failure;
  }
}

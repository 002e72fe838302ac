// The command-line entry: the commander program, and the one factory that builds what commands
// need ({ io, env, http, signIns, clock, openBrowser }) and injects it into `run(opts, factory)`.
// This file is the only one that reads process.env, process.argv and the process's streams. Each
// command's module is imported only when it runs, so that proxy mode (what MCP clients start, again
// and again) never loads the login UI (ink, react).
import { Command, InvalidArgumentError, Option } from 'commander';
import { systemClock } from './auth/clock.js';
import type { Factory } from './commands/factory.js';
import { AppError, Code, ExitCode, errorMessage } from './errors.js';
import { HttpClient } from './http/client.js';
import { printable, redact } from './log.js';
import { configDir } from './paths.js';
import { keychainTimeoutMs } from './store/keychain.js';
import { storePreference } from './commands/factory.js';
import { SignIns } from './store/sign-ins.js';
import { DEFAULT_SERVER_URL, headerName } from './target.js';
import { packageSpec, VERSION } from './version.js';

/** The factory of this process: its streams, its environment, the real HTTP layer, keychain and browser. */
function defaultFactory(): Factory {
  const env = process.env;
  return {
    io: {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      isTTY: { stdin: Boolean(process.stdin.isTTY), stdout: Boolean(process.stdout.isTTY), stderr: Boolean(process.stderr.isTTY) },
    },
    env,
    platform: process.platform,
    http: () => new HttpClient(env),
    signIns: (logger, store) => new SignIns({ dir: configDir(env), logger, storePreference: storePreference(store === 'auto' ? undefined : store, env), keychain: { timeoutMs: keychainTimeoutMs(env), env } }),
    clock: systemClock,
    openBrowser: async (url, logger) => (await import('./auth/browser.js')).openBrowser(url, logger, env),
    onInterrupt: (handler) => {
      process.once('SIGINT', handler);
      return () => void process.off('SIGINT', handler);
    },
  };
}

const factory = defaultFactory();

const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number of seconds`);
  return n;
};

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return n;
};

// A malformed --header is refused as an AppError naming it without its value (an
// InvalidArgumentError would have commander quote the whole argument).
const header = (value: string, previous: string[] = []) => (headerName(value), [...previous, value]);

const repeatable = (v: string, prev: string[] = []) => [...prev, v];

/** `--transport`: ours, and mcp-remote's names for the same choices. */
const TRANSPORTS: Record<string, string> = { auto: 'auto', http: 'http', sse: 'sse', 'http-first': 'auto', 'http-only': 'http', 'sse-only': 'sse', 'sse-first': 'sse-first' };
const transport = (value: string) => {
  const choice = TRANSPORTS[value];
  if (!choice) throw new InvalidArgumentError(`"${value}" is not a transport: use auto, http or sse (mcp-remote's http-first, http-only, sse-only and sse-first work too)`);
  return choice;
};

const protocol = (value: string) => {
  if (value === 'legacy') return '2025';
  if (value === 'auto' || value === '2025' || value === 'modern') return value;
  throw new InvalidArgumentError(`"${value}" is not a protocol era: use auto, 2025 or modern`);
};

/** A boolean environment variable: true/1, false/0; empty or unset is undefined. */
const envBoolean = (name: string, raw: string | undefined): boolean | undefined => {
  const value = raw?.trim().toLowerCase();
  if (!value) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new AppError(Code.USAGE, `${name} is "${raw}": use true or false`);
};

const storeOption = () => new Option('--store <where>', 'where secrets go: keychain or file (env APPWRITE_MCP_STORE; default: the OS keychain, else a 0600 file)').choices(['keychain', 'file']);

/** Every command's options, with what the user left out filled in from config.json (src/config.ts). */
async function options(command: Command): Promise<Record<string, any>> {
  const opts = command.optsWithGlobals();
  const env = factory.env;
  const profile: string | undefined = opts.profile ?? (env.APPWRITE_MCP_PROFILE || undefined);
  const { loadDefaults } = await import('./config.js');
  const defaults = loadDefaults(configDir(env), profile, (line) => void factory.io.stderr.write(`appwrite-mcp warning: ${printable(line)}\n`));
  // Named by flag or environment: status and logout then look at that server only.
  const urlGiven = opts.url !== undefined || Boolean(env.APPWRITE_MCP_URL);
  return {
    ...opts,
    profile,
    urlGiven,
    url: opts.url ?? (env.APPWRITE_MCP_URL ? undefined : defaults.url),
    store: opts.store ?? (env.APPWRITE_MCP_STORE ? undefined : defaults.store),
    scope: opts.scope ?? defaults.scope,
    clientId: opts.clientId ?? (env.APPWRITE_MCP_CLIENT_ID ? undefined : defaults.clientId),
    clientMetadataUrl: opts.clientMetadataUrl ?? (env.APPWRITE_MCP_CLIENT_METADATA_URL ? undefined : defaults.clientMetadataUrl),
    issuer: opts.issuer ?? (env.APPWRITE_MCP_ISSUER ? undefined : defaults.issuer),
    quiet: opts.quiet || opts.silent,
    ignoreTool: opts.ignoreTool ?? defaults.ignoreTools,
    allowTool: opts.allowTool ?? defaults.allowTools,
    readOnly: opts.readOnly ?? envBoolean('APPWRITE_MCP_READ_ONLY', env.APPWRITE_MCP_READ_ONLY) ?? defaults.readOnly,
    transport: opts.transport ?? defaults.transport ?? 'auto',
    pingInterval: opts.pingInterval ?? (opts.keepAlive ? 30 : defaults.pingInterval),
    callbackHost: opts.callbackHost ?? opts.host,
  };
}

const COMMANDS = ['proxy', 'login', 'status', 'logout', 'token', 'setup', 'doctor'];

/** The closest command names to a mistyped one (edit distance ≤ 2). */
function suggest(word: string): string[] {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    return d[a.length]![b.length]!;
  };
  return COMMANDS.filter((c) => distance(word.toLowerCase(), c) <= 2 || c.startsWith(word.toLowerCase()));
}

/** How to be an OAuth client, for `login` and the proxy. Secrets only from the environment or stdin. */
function addClientOptions(command: Command): Command {
  return command
    .option('--client-id <id>', 'a pre-registered OAuth client (env APPWRITE_MCP_CLIENT_ID; its secret, if any, in APPWRITE_MCP_CLIENT_SECRET)')
    .option('--issuer <url>', 'the authorization server the --client-id client is registered with: its credentials go nowhere else (env APPWRITE_MCP_ISSUER; default: the issuer of its first sign-in)')
    .option('--client-metadata-url <url>', 'an https URL of a Client ID Metadata Document to use as client id where the authorization server accepts them (env APPWRITE_MCP_CLIENT_METADATA_URL)')
    .option('--client-credentials', 'sign in without a person: the client credentials grant with --client-id and APPWRITE_MCP_CLIENT_SECRET or --private-key-file')
    .option('--private-key-file <pem>', 'PKCS#8 PEM private key: authenticate the client with a signed JWT (private_key_jwt)')
    .option('--idp-token-endpoint <url>', 'enterprise-managed sign-in: exchange the ID token in APPWRITE_MCP_IDP_ID_TOKEN at this IdP token endpoint for an ID-JAG')
    .option('--idp-client-id <id>', 'enterprise-managed sign-in: the client id at the IdP (its secret, if any, in APPWRITE_MCP_IDP_CLIENT_SECRET)')
    .option('--static-oauth-client-info <json>', 'a pre-registered client as mcp-remote takes it: {"client_id","client_secret"} as JSON or @file (${VAR} expanded); same as --client-id with its secret')
    .option('--authorize-param <key=value>', 'an extra authorization request parameter, e.g. prompt=login (repeatable)', repeatable)
    .option('--resource <uri>', 'the RFC 8707 resource to ask a token for, instead of the one the server\'s metadata names')
    .option('--no-resource', 'ask without a resource, for authorization servers that reject the parameter (the token is then not bound to the server)')
    .option('--dpop', 'bind the tokens to a key kept in the keychain (DPoP, RFC 9449) or refuse to sign in; default: when the authorization server and the MCP server both take DPoP')
    .option('--no-dpop', 'never bind the tokens to a key (plain bearer tokens)')
    .option('--callback-port <port>', 'a fixed port for the sign-in callback (a pre-registered redirect URI must match exactly)')
    .addOption(new Option('--callback-host <host>', 'the sign-in callback\'s host').choices(['127.0.0.1', 'localhost', '[::1]', '::1']))
    .option('--callback-path <path>', 'the sign-in callback\'s path (default /callback)')
    .addOption(new Option('--host <host>', 'mcp-remote\'s name for --callback-host').hideHelp());
}

const program = new Command('appwrite-mcp')
  .exitOverride((err) => process.exit(err.exitCode === 1 ? ExitCode.usage : err.exitCode))
  .description('Connect your MCP client to Appwrite: browser sign-in (OAuth 2.1), secrets in the OS keychain, and a stdio proxy to the hosted MCP server.')
  .version(VERSION, '-V, --version')
  .showHelpAfterError('(run appwrite-mcp --help for usage)')
  .showSuggestionAfterError(true)
  .configureHelp({ showGlobalOptions: true })
  // Global: accepted before or after the command name.
  .addOption(new Option('--url <url>', `MCP server URL (env APPWRITE_MCP_URL; default ${DEFAULT_SERVER_URL})`))
  .addOption(new Option('-H, --header <name:value>', 'extra HTTP header for the server (repeatable; ${VAR} is taken from the environment); a sign-in is kept per set of headers').argParser(header))
  .addOption(new Option('--header-file <path>', 'extra headers, one "Name: value" per line (keeps API keys out of client configs)'))
  .addOption(new Option('--profile <name>', 'keep this sign-in apart from others to the same server (env APPWRITE_MCP_PROFILE; also selects a section of config.json)'))
  .addOption(new Option('--debug', 'verbose diagnostics on stderr (tokens are always redacted; env APPWRITE_MCP_DEBUG)'))
  .addOption(new Option('--quiet', 'only warnings and errors on stderr, for clients that show it to the user (env APPWRITE_MCP_QUIET)'))
  .addOption(new Option('--silent', 'the same as --quiet (mcp-remote\'s name)'))
  .addHelpText('after', `
Add it to an MCP client (\`appwrite-mcp setup --help\` lists the 16 it knows; --print shows the entry):
  appwrite-mcp setup <client>     or by hand: { "command": "npx", "args": ["-y", "${packageSpec(VERSION)}"] }

Environment:
  APPWRITE_MCP_URL                server URL (as --url)
  APPWRITE_MCP_PROFILE            profile (as --profile)
  APPWRITE_MCP_TOKEN              use this bearer token as is: nothing stored, no browser
  APPWRITE_MCP_STORE              keychain or file (as --store)
  APPWRITE_MCP_CLIENT_ID          a pre-registered client (as --client-id)
  APPWRITE_MCP_CLIENT_SECRET      its secret (never passed on the command line)
  APPWRITE_MCP_ISSUER             the authorization server that client is registered with (as --issuer)
  APPWRITE_MCP_CLIENT_METADATA_URL  as --client-metadata-url
  APPWRITE_MCP_IDP_ID_TOKEN       the ID token for enterprise-managed sign-in (--idp-token-endpoint)
  APPWRITE_MCP_IDP_CLIENT_SECRET  the IdP client's secret, if it has one
  APPWRITE_MCP_CONFIG_DIR         where state, config.json and (as a fallback) secrets live
  APPWRITE_MCP_CACHE_DIR          where Node's compile cache for appwrite-mcp lives (NODE_DISABLE_COMPILE_CACHE=1: none)
  APPWRITE_MCP_KEYCHAIN_TIMEOUT_MS  bound on each keychain call (default 3000)
  APPWRITE_MCP_DEBUG              any value: as --debug
  APPWRITE_MCP_QUIET              any value: as --quiet
  APPWRITE_MCP_READ_ONLY          true or false: as --read-only (the proxy)
  APPWRITE_MCP_BROWSER, BROWSER   command that opens the sign-in URL
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  outbound proxy
  NODE_EXTRA_CA_CERTS             extra trusted CAs (corporate TLS inspection)

Defaults for --url, --scope, --store, --client-id, --issuer and --client-metadata-url, and the proxy's
--ignore-tool, --allow-tool, --read-only, --transport and --ping-interval (ignoreTools, allowTools,
readOnly, transport, pingInterval) can live in config.json in the config directory (see the README),
with a section per profile.

Coming from mcp-remote: \`appwrite-mcp <url> [callback-port]\` takes the same positional arguments,
and --header, --header-file, --ignore-tool, --transport (http-first, http-only, sse-first, sse-only),
--protocol legacy, --silent, --keep-alive, --host, --static-oauth-client-info and the auth flags
work as there (see the README's table for every flag).

Protocol eras: the proxy serves MCP 2025 clients (initialize, sessions) and 2026-07-28 clients
(stateless) alike and translates when the server speaks the other era; it finds out which once per
server (--protocol auto), or takes --protocol 2025 or --protocol modern.

Limits (proxy): --max-message-size <MB> (default 16) for one JSON-RPC message either way;
--connect-timeout <seconds> (30) for an answer to start; --idle-timeout <seconds> (300) of silence
in a started answer; --request-timeout <seconds> (none) for a whole answer. A 429/503 Retry-After of
up to 10 s is waited out (twice at most). Client batches are answered as one array line.

Exit codes: 0 ok, 1 error, 2 usage, 3 not signed in, 4 signed in but needs attention,
            5 sign-in timed out (or its device code expired), 6 access denied.`);

addClientOptions(program
  .command('proxy', { isDefault: true }))
  .description('run the stdio MCP server that forwards to the hosted server (the default command)')
  .addOption(new Option('--auth-timeout <seconds>', 'how long a request waits for a browser sign-in (initialize then gets a sign-in placeholder)').argParser(seconds).default(30))
  .option('--no-browser', 'never open a browser; tell the user to run `appwrite-mcp login` instead')
  .option('--workload-jwt-file <path>', 'workload identity (CI, servers): sign in with the JWT bearer grant using the platform\'s token in this file, read again when it rotates; nothing is stored (optional --client-id)')
  .option('--workload-jwt-env <VAR>', 'workload identity: the same, with the token in this environment variable')
  .addOption(new Option('--max-message-size <MB>', 'the largest JSON-RPC message accepted from the client or the server; a larger one gets a JSON-RPC error').argParser(positive).default(16))
  .addOption(new Option('--connect-timeout <seconds>', 'how long the server may take to start answering an HTTP request (connect + response headers)').argParser(seconds).default(30))
  .addOption(new Option('--request-timeout <seconds>', 'the most one request may take to be answered, retries included (default: no bound beyond --idle-timeout)').argParser(seconds))
  .addOption(new Option('--idle-timeout <seconds>', 'how long an answer that has started may go without the server sending anything (progress, keep-alive) before it is given up').argParser(seconds).default(300))
  .addOption(new Option('--protocol <era>', 'the MCP protocol era the server speaks: auto (detect it once and remember it), 2025 (2025-11-25 and earlier: initialize and sessions; mcp-remote\'s "legacy") or modern (2026-07-28: stateless)').argParser(protocol).default('auto'))
  .addOption(new Option('--transport <kind>', 'how to reach the server: auto (Streamable HTTP, falling back to the older HTTP+SSE transport of 2024-11-05 when the server refuses it; remembered), http (Streamable HTTP only) or sse (HTTP+SSE only) (default auto)').argParser(transport))
  .option('--ignore-tool <glob>', 'hide the tools whose names match (* is a wildcard; repeatable); calls to them are refused', repeatable)
  .option('--allow-tool <glob>', 'show only the tools whose names match some --allow-tool (* is a wildcard; repeatable)', repeatable)
  .option('--read-only', 'show only the tools the server annotates as read-only (readOnlyHint); refuse calls to any other')
  .addOption(new Option('--keep-alive', 'mcp-remote\'s keep-alive: the same as --ping-interval 30'))
  .addOption(new Option('--enable-proxy', 'mcp-remote\'s flag; HTTPS_PROXY, HTTP_PROXY and NO_PROXY are always honoured').hideHelp())
  .addOption(new Option('--disable-cookies', 'mcp-remote\'s flag; appwrite-mcp never keeps or sends cookies').hideHelp())
  .addOption(new Option('--ping-interval <seconds>', 'ping the server after this many idle seconds, to keep the connection alive and find a dead one early (default: off)').argParser(seconds))
  .addOption(storeOption())
  .argument('[url]', 'the server URL, as mcp-remote takes it (same as --url)')
  .argument('[callback-port]', 'a fixed port for the sign-in callback, as mcp-remote takes it (same as --callback-port)')
  .allowExcessArguments(true)
  .action(async (_url, _port, _opts, command: Command) => {
    // mcp-remote's positional form, `<url> [callback port]`: anything else is a mistyped command.
    const [first, second, ...more] = command.args;
    const mcpRemoteForm = first !== undefined && /^https?:\/\//i.test(first) && (second === undefined || /^\d+$/.test(second)) && more.length === 0;
    if (mcpRemoteForm) {
      const given = command.optsWithGlobals().url as string | undefined;
      if (given !== undefined && given !== first) throw new AppError(Code.USAGE, `two server URLs: --url ${given} and ${first}`);
      command.setOptionValue('url', first);
      if (second !== undefined) command.setOptionValue('callbackPort', second);
    } else if (command.args.length) {
      // The proxy is the default command, so a mistyped command name lands here.
      const close = suggest(command.args[0]!);
      throw new AppError(Code.USAGE, `unknown command "${command.args[0]}"`, {
        hint: `${close.length ? `Did you mean ${close.join(' or ')}? ` : ''}Commands: ${COMMANDS.join(', ')} (proxy is the default). See appwrite-mcp --help.`,
      });
    }
    if (factory.io.isTTY.stdin) {
      // A person typed it: say what it is; it then reads JSON-RPC lines from the keyboard until Ctrl-D.
      const { invokedAs } = await import('./target.js');
      factory.io.stderr.write(`appwrite-mcp is a stdio MCP server for MCP clients, waiting for JSON-RPC on stdin (Ctrl-C to quit). To sign in: \`${invokedAs()} login\`; to add it to a client: \`${invokedAs()} setup <client>\`.\n`);
    }
    const { run } = await import('./commands/proxy.js');
    await run(await options(command) as never, factory);
  });

addClientOptions(program
  .command('login'))
  .description('sign in through the browser now (or from another device with --device-code), so your MCP client never has to wait')
  .option('--scope <scopes>', 'scopes to request, space-separated (default: what the server asks for)')
  .option('--client-secret-stdin', 'read the client secret of --client-id from stdin')
  .option('--device-code', 'sign in from any other device with a code (RFC 8628 device authorization grant, where the authorization server offers it): for SSH, containers, machines without a browser')
  .option('--no-browser', 'do not open a browser; print the URL to open yourself (with --device-code: the page that takes the code)')
  .addOption(new Option('--timeout <seconds>', 'how long to wait for the sign-in (default 300; with --device-code, until the code expires, at most 1800)').argParser(seconds))
  .addOption(storeOption())
  .action(async (_opts, command: Command) => {
    const { run } = await import('./commands/login.js');
    process.exitCode = await run(await options(command) as never, factory);
  });

program
  .command('status')
  .description('show who is signed in, to which server, with which scopes, and where secrets live')
  .option('--json', 'machine-readable output on stdout')
  .option('--check', 'also ask each server whether it accepts the token')
  .action(async (_opts, command: Command) => {
    const { run } = await import('./commands/status.js');
    process.exitCode = await run(await options(command) as never, factory);
  });

program
  .command('logout')
  .description('revoke the sign-in at the authorization server and delete local secrets and state')
  .option('--all', 'sign out of every server')
  .action(async (_opts, command: Command) => {
    const { run } = await import('./commands/logout.js');
    process.exitCode = await run(await options(command) as never, factory);
  });

program
  .command('token')
  .description('print a fresh access token for the server (refreshed first if due) on stdout, and nothing else')
  .action(async (_opts, command: Command) => {
    const { run } = await import('./commands/token.js');
    process.exitCode = await run(await options(command) as never, factory);
  });

program
  .command('doctor')
  .description('check everything a proxy run needs, one line each, with the fix for every problem')
  .option('--json', 'the results as a JSON array on stdout')
  .addHelpText('after', `
Checks, in order: proxy settings, DNS, TCP and TLS to the server (which CA); your clock against the
server's Date header; the server's challenge, protected-resource metadata, authorization server
metadata (issuer), PKCE S256; the OS keychain (a test entry written, read back, deleted); the stored
sign-in for --url, --header and --profile (its token tried on the server; refreshed, and saved, only
when it is rejected or expired); the MCP client configs on this machine that start appwrite-mcp.

Exit codes: 0 everything a proxy run needs is in place (warnings allowed), 1 a check failed,
            2 bad usage.`)
  .action(async (_opts, command: Command) => {
    const { run } = await import('./commands/doctor.js');
    process.exitCode = await run(await options(command) as never, factory);
  });

program
  .command('setup')
  .description('add appwrite-mcp to an MCP client\'s config (a private backup of the previous file is kept)')
  .argument('<client>', 'claude-desktop, claude-code, cline, codex, copilot-cli, cursor, gemini-cli, goose, jetbrains, junie, lm-studio, opencode, roo-code, vscode, windsurf or zed')
  .option('--name <name>', 'name of the entry in the client', 'appwrite')
  .option('--project [dir]', 'the project\'s config instead of the user\'s (claude-code, copilot-cli, cursor, gemini-cli, jetbrains, junie, opencode, roo-code, vscode, zed; default dir: the current one)')
  .option('--force', 'replace an entry of that name that runs some other server; pin this release even over a newer pin')
  .option('--print', 'only print the config file\'s path and the snippet to add, and what setup would change; change nothing')
  .addHelpText('after', `
Files (user; --project):
  claude-desktop  claude_desktop_config.json in ~/Library/Application Support/Claude/ (macOS),
                  %APPDATA%\\Claude\\ (Windows), $XDG_CONFIG_HOME/Claude/ or ~/.config/Claude/ (Linux)
  claude-code     runs \`claude mcp add --scope user\` (--project: --scope project), or prints it
  cline           ~/.cline/data/settings/cline_mcp_settings.json (Cline 4+; before: VS Code's
                  globalStorage/saoudrizwan.claude-dev/settings/)
  codex           $CODEX_HOME/config.toml or ~/.codex/config.toml, table [mcp_servers.<name>]
  copilot-cli     ~/.copilot/mcp-config.json ($COPILOT_HOME); <dir>/.github/mcp.json
  cursor          ~/.cursor/mcp.json; <dir>/.cursor/mcp.json
  gemini-cli      ~/.gemini/settings.json; <dir>/.gemini/settings.json
  goose           ~/.config/goose/config.yaml (Windows %APPDATA%\\Block\\goose\\config\\), under extensions:
  jetbrains       none: AI Assistant is set up in its settings; prints the JSON and the steps
  junie           ~/.junie/mcp/mcp.json; <dir>/.junie/mcp/mcp.json
  lm-studio       ~/.lmstudio/mcp.json
  opencode        ~/.config/opencode/opencode.json (or .jsonc); <dir>/opencode.json
  roo-code        VS Code's globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json; <dir>/.roo/mcp.json
  vscode          the user profile's mcp.json (Linux ~/.config/Code/User/, macOS ~/Library/Application
                  Support/Code/User/, Windows %APPDATA%\\Code\\User\\); <dir>/.vscode/mcp.json
  windsurf        ~/.codeium/windsurf/mcp_config.json
  zed             ~/.config/zed/settings.json (Windows %APPDATA%\\Zed\\); <dir>/.zed/settings.json

The entry is \`npx -y appwrite-mcp@<major>\` (before 1.0: \`@0.<minor>\`), so a client restart never runs
a breaking release. Running setup again changes only what setup owns — the launcher, that pin, and the
server when --url is given — and keeps the flags you added (--read-only, --header, --profile, …) and
the entry's other keys; running it twice changes nothing. To move to a new major version, run that
version's setup: \`npx -y appwrite-mcp@latest setup <client>\`.

Before changing a file it saves the previous one as <file>.<timestamp>.bak beside the real file (mode
0600, the newest 5 kept). A file it cannot parse is left untouched. With --project it never
follows a symlink out of the project. Other servers' entries are described by names only, never values.`)
  .action(async (client: string, _opts, command: Command) => {
    const { runSetup, setupDeps } = await import('./commands/setup.js');
    process.exitCode = await runSetup(client, command.optsWithGlobals(), setupDeps(factory));
  });

// `-v` as well as `-V` prints the version (both are common).
const argv = process.argv.length === 3 && process.argv[2] === '-v' ? [...process.argv.slice(0, 2), '--version'] : process.argv;
try {
  await program.parseAsync(argv);
} catch (err) {
  if (err instanceof AppError) {
    process.stderr.write(`appwrite-mcp: ${printable(redact(err.message))}\n`);
    if (err.hint) process.stderr.write(`  ${printable(redact(err.hint))}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`appwrite-mcp: ${printable(redact(errorMessage(err)))}\n`);
    if (process.env.APPWRITE_MCP_DEBUG || process.argv.includes('--debug')) process.stderr.write(`${printable(redact(String((err as Error)?.stack)))}\n`);
    process.exitCode = ExitCode.failure;
  }
}
// Done: a sign-in cancelled with Ctrl-C, a refresh waiting for another copy's lock, keep-alive
// sockets must not hold the exit. Out once stdout has drained.
process.stdout.write('', () => process.exit());

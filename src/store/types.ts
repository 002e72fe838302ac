// Contracts shared by the auth code, the commands and the proxy. Data flows one way:
// command → target → auth → store; proxy → upstream → tokens → store.

/** Secrets for one signed-in server, kept together in one keychain entry (or the 0600 file). */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds when the access token expires (absent: unknown). */
  expiresAt?: number;
  /** Epoch milliseconds when it was issued to us, so "about to expire" can scale with short lifetimes. */
  obtainedAt?: number;
  idToken?: string;
  /** Space-separated scopes granted with this access token. */
  scope?: string;
  tokenType?: string;
}

export type SecretStoreKind = 'keychain' | 'file';

export interface SecretStore {
  readonly kind: SecretStoreKind;
  /** Where the secrets live, for `status` ("OS keychain (Secret Service), service \"appwrite-mcp\"" / "file /x/secrets.json (mode 0600)"). */
  describe(): string;
  get(key: string): Promise<TokenSet | undefined>;
  set(key: string, tokens: TokenSet): Promise<void>;
  /** Resolves true when something was deleted, false when there was nothing. */
  delete(key: string): Promise<boolean>;
}

export type RegistrationMethod = 'dcr' | 'preregistered' | 'cimd';

/** A client registration, cached per authorization-server issuer and never used with another AS. */
export interface ClientRecord {
  issuer: string;
  clientId: string;
  method: RegistrationMethod;
  redirectUris: string[];
  registeredAt: number;
}

/** The authorization-server endpoints the proxy needs for refresh and revocation, cached at login. */
export interface AsEndpoints {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  revocationEndpoint?: string;
  userinfoEndpoint?: string;
  scopesSupported?: string[];
  issParameterSupported?: boolean;
}

export interface Account {
  sub?: string;
  email?: string;
  name?: string;
}

/** Non-secret state for one signed-in server, keyed by its normalized MCP URL. */
export interface ServerState {
  url: string;
  /** RFC 8707 resource (the PRM `resource`), the audience of the access token. */
  resource: string;
  issuer: string;
  as: AsEndpoints;
  clientId: string;
  registration: RegistrationMethod;
  /** Scopes granted by the last token response. */
  scopes: string[];
  expiresAt?: number;
  hasRefreshToken: boolean;
  account?: Account;
  secretStore: SecretStoreKind;
  /** Key of this server's entry in the secret store. */
  secretKey: string;
  signedInAt: number;
  updatedAt: number;
}

export interface StateFile {
  version: 1;
  servers: Record<string, ServerState>;
  clients: Record<string, ClientRecord>;
  /** When an automatic browser sign-in for a server URL last failed or was abandoned (epoch ms), to rate-limit tabs. */
  signInFailures?: Record<string, number>;
}

// Typings for the oidc-provider internals the local cloud's JWT bearer grant (workload-grant.ts)
// uses: the helpers oidc-provider's own grants run on (lib/helpers/grants.js), each taking the
// provider first. oidc-provider 9 has no `exports` map, so the path resolves as a plain file.
declare module 'oidc-provider/lib/helpers/grants.js' {
  import type { default as Provider, KoaContextWithOIDC } from 'oidc-provider';

  export interface DpopResult { thumbprint: string; jti: string; iat: number }
  export function validateDpop(provider: Provider, ctx: KoaContextWithOIDC, accessToken?: string): Promise<DpopResult | undefined>;
  export function checkDpopReplay(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DpopResult | undefined, clientId: string, ErrorClass?: new (description: string) => Error): Promise<void>;
  export function checkDpopRequired(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DpopResult | undefined): void;
  export function resolveRequestedResources(provider: Provider, ctx: KoaContextWithOIDC): Promise<Array<{ scope: string }>>;
  export function validateClientScope(provider: Provider, ctx: KoaContextWithOIDC): Set<string>;
  export function buildTokenResponse(provider: Provider, o: { accessToken: string; expiresIn?: number; scope?: string; tokenType: string }): Record<string, unknown>;
}

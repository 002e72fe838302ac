// In-memory storage for one oidc-provider instance, with enough memory of the past to tell a
// revoked or spent token from one that never existed (oidc-provider's own MemoryAdapter forgets,
// and shares one global LRU between all providers in the process).
import type { Adapter, AdapterPayload, IssuedToken } from 'oidc-provider';

export type TokenStatus = 'active' | 'revoked' | 'unknown';

interface Entry { payload: AdapterPayload; expiresAt: number }
/** JWT access tokens are self-contained, oidc-provider never stores them; they are tracked here. */
interface JwtAccessToken { grantId?: string; clientId?: string; expiresAt: number; revoked: boolean }

const GRANT_BOUND = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);

export class TokenStore {
  private readonly entries = new Map<string, Entry>();
  private readonly grantMembers = new Map<string, Set<string>>();
  private readonly gone = new Set<string>(); // keys destroyed by revocation, rotation or grant revocation
  private readonly jwtAccessTokens = new Map<string, JwtAccessToken>();

  /** The adapter class oidc-provider instantiates once per model name. */
  adapterClass(): new (model: string) => Adapter {
    const store = this;
    return class implements Adapter {
      constructor(private readonly model: string) {}
      async upsert(id: string, payload: AdapterPayload, expiresIn?: number) { store.upsert(this.model, id, payload, expiresIn); }
      async find(id: string) { return store.find(`${this.model}:${id}`); }
      async findByUid(uid: string) { return store.findByUid(this.model, uid); }
      async findByUserCode(userCode: string) { return store.findByUserCode(this.model, userCode); }
      async consume(id: string) {
        const entry = store.entries.get(`${this.model}:${id}`);
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      }
      async destroy(id: string) { store.destroy(`${this.model}:${id}`); }
      async revokeByGrantId(grantId: string) { store.revokeGrant(grantId); }
    };
  }

  /** Feed from the provider's `access_token.issued` event (JWT access tokens only). */
  recordJwtAccessToken(token: IssuedToken): void {
    this.jwtAccessTokens.set(token.jti, {
      grantId: token.grantId,
      clientId: token.clientId,
      // Access tokens carry a remaining lifetime (`expiration`), not `exp`, until serialized.
      expiresAt: token.exp ? token.exp * 1000 : Date.now() + (token.expiration ?? 0) * 1000,
      revoked: false,
    });
  }

  /** Revokes one JWT access token (RFC 7009); only its own client may do so. */
  revokeJwtAccessToken(jti: string, clientId: string): void {
    const token = this.jwtAccessTokens.get(jti);
    if (token && token.clientId === clientId) token.revoked = true;
  }

  isJwtAccessTokenRevoked(jti: string): boolean {
    return this.jwtAccessTokens.get(jti)?.revoked ?? false;
  }

  jwtAccessTokenStatus(jti: string): TokenStatus {
    const token = this.jwtAccessTokens.get(jti);
    if (!token) return 'unknown';
    if (token.revoked) return 'revoked';
    return token.expiresAt > Date.now() ? 'active' : 'unknown';
  }

  /** Status of an opaque token value (refresh token, or an access token issued without a resource). */
  opaqueTokenStatus(value: string): TokenStatus {
    for (const model of ['RefreshToken', 'AccessToken']) {
      const key = `${model}:${value}`;
      if (this.gone.has(key)) return 'revoked';
      const entry = this.entries.get(key);
      if (entry?.payload.consumed) return 'revoked';
      if (entry && entry.expiresAt > Date.now()) return 'active';
    }
    return 'unknown';
  }

  private upsert(model: string, id: string, payload: AdapterPayload, expiresIn?: number) {
    const key = `${model}:${id}`;
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    this.entries.set(key, { payload, expiresAt });
    if (GRANT_BOUND.has(model) && payload.grantId) {
      const members = this.grantMembers.get(payload.grantId) ?? new Set<string>();
      members.add(key);
      this.grantMembers.set(payload.grantId, members);
    }
  }

  private find(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  private findByUid(model: string, uid: string): AdapterPayload | undefined {
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${model}:`) && entry.payload.uid === uid) return this.find(key);
    }
    return undefined;
  }

  /** A device code (RFC 8628) by the code the person types in. */
  private findByUserCode(model: string, userCode: string): AdapterPayload | undefined {
    for (const [key, entry] of this.entries) {
      if (key.startsWith(`${model}:`) && entry.payload.userCode === userCode) return this.find(key);
    }
    return undefined;
  }

  private destroy(key: string) {
    if (this.entries.delete(key)) this.gone.add(key);
  }

  private revokeGrant(grantId: string) {
    for (const key of this.grantMembers.get(grantId) ?? []) this.destroy(key);
    this.grantMembers.delete(grantId);
    for (const token of this.jwtAccessTokens.values()) {
      if (token.grantId === grantId) token.revoked = true;
    }
  }
}

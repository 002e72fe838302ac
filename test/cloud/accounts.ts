// The one person who can sign in to the cloud stand-in.
export interface CloudUser { login: string; password: string; sub: string; email: string; name: string }

export const TEST_USER: CloudUser = {
  login: 'dev@appwrite.test',
  password: 'correct-horse',
  sub: 'user_demo_1',
  email: 'dev@appwrite.test',
  name: 'Dev User',
};

/** oidc-provider's `findAccount`: claims for the ID token and userinfo, filtered by scope by the provider. */
export async function findAccount(_ctx: unknown, sub: string) {
  if (sub !== TEST_USER.sub) return undefined;
  return {
    accountId: sub,
    claims: async () => ({ sub, email: TEST_USER.email, email_verified: true, name: TEST_USER.name }),
  };
}

export function checkPassword(login: string, password: string): string | undefined {
  return login.trim().toLowerCase() === TEST_USER.login && password === TEST_USER.password ? TEST_USER.sub : undefined;
}

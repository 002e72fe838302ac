// oidc-provider warns "Unsupported runtime" at import time on Node 20. It works there, so the
// warning is filtered out, only while the module is being loaded.
type OidcProviderModule = typeof import('oidc-provider');

async function loadQuietly(): Promise<OidcProviderModule> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}

const oidc = await loadQuietly();
export const Provider = oidc.default;
export type Provider = InstanceType<typeof oidc.default>;
export const errors = oidc.errors;

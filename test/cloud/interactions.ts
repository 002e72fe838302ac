// Login and consent for one issuer, built on oidc-provider's interaction API
// (interactionDetails / interactionFinished). Mounted at `<issuer path>/interaction`.
import express, { type Request, type Response } from 'express';
import { checkPassword } from './accounts.js';
import { consentPage, loginPage } from './pages.js';
import type { Provider } from './load-oidc-provider.js';

export function interactionRouter(provider: Provider): express.Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false });
  const actionUrl = (req: Request, uid: string, action: string) => `${req.baseUrl}/${uid}/${action}`;

  const clientName = async (clientId: string) => (await provider.Client.find(clientId))?.clientName ?? clientId;

  router.get('/:uid', async (req, res) => {
    const { uid, prompt, params } = await provider.interactionDetails(req, res);
    const name = await clientName(params.client_id);
    res.type('html');
    if (prompt.name === 'login') {
      res.send(loginPage(actionUrl(req, uid, 'login'), name));
      return;
    }
    const resources = params.resource === undefined ? [] : [params.resource].flat();
    const scopes = (params.scope ?? '').split(' ').filter(Boolean);
    res.send(consentPage(actionUrl(req, uid, 'confirm'), actionUrl(req, uid, 'abort'), name, scopes, resources));
  });

  router.post('/:uid/login', form, async (req, res) => {
    const { uid, prompt, params } = await provider.interactionDetails(req, res);
    if (prompt.name !== 'login') throw new Error(`expected a login prompt, got ${prompt.name}`);
    const login = String(req.body?.login ?? '');
    const sub = checkPassword(login, String(req.body?.password ?? ''));
    if (!sub) {
      const page = loginPage(actionUrl(req, uid, 'login'), await clientName(params.client_id), 'Wrong email or password.', login);
      res.type('html').send(page);
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  });

  router.post('/:uid/confirm', async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session, grantId } = details;
    if (prompt.name !== 'consent' || !session?.accountId) throw new Error('expected a consent prompt after login');
    const grant = (grantId && await provider.Grant.find(grantId))
      || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details as {
      missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const savedGrantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId: savedGrantId } }, { mergeWithLastSubmission: true });
  });

  router.post('/:uid/abort', async (req, res) => {
    await provider.interactionDetails(req, res);
    const result = { error: 'access_denied', error_description: 'The user denied the request.' };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  });

  // Expired or unknown interactions (e.g. a stale tab) end here instead of in a stack trace.
  router.use((err: Error, _req: Request, res: Response, _next: express.NextFunction) => {
    res.status(400).type('text').send(`Sign-in could not continue: ${err.message}`);
  });

  return router;
}

// The authorization server: every issuer (console + one per project) on one http server,
// each mounted under its issuer path, plus the path-inserted well-known URLs (RFC 8414 §3.1).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import express from 'express';
import { close, listen } from './http-server.js';
import { interactionRouter } from './interactions.js';
import type { Issuer } from './issuer.js';
import { revocationHandler } from './jwt-revocation.js';
import type { CloudStats } from './stats.js';
import type { Tamper } from './tamper.js';

export class AuthServer {
  private constructor(private readonly server: Server, readonly port: number) {}

  /** Reserves a port first: the issuers' URLs must be known before they are created. */
  static async reserve(): Promise<AuthServer> {
    const server = createServer();
    return new AuthServer(server, await listen(server));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  serve(issuers: Issuer[], stats: CloudStats, tamper: Tamper = {}): void {
    this.server.on('request', authApp(issuers, stats, tamper));
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  async start(): Promise<void> {
    if (!this.server.listening) await listen(this.server, this.port);
  }
}

function authApp(issuers: Issuer[], stats: CloudStats, tamper: Tamper): express.Express {
  const app = express();
  for (const issuer of issuers) {
    const callback = issuer.provider.callback();
    const discovery = (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse) => {
      // Serve the provider's own discovery document; originalUrl tells it where it is mounted.
      req.url = '/.well-known/openid-configuration';
      req.originalUrl = `${issuer.path}${req.url}`;
      callback(req, res);
    };
    app.get(`/.well-known/oauth-authorization-server${issuer.path}`, discovery);
    app.get(`/.well-known/openid-configuration${issuer.path}`, discovery);
    app.use(`${issuer.path}/interaction`, interactionRouter(issuer.provider));
    app.post(`${issuer.path}/token/revocation`, revocationHandler(issuer, stats, tamper));
    app.use(issuer.path, callback);
  }
  return app;
}

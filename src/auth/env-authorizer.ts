import { bearerPresentation, type Authorizer, type Presentation } from '../authorization.js';
import { AppError, Code } from '../errors.js';
import { registerSecret } from '../log.js';

/** `APPWRITE_MCP_TOKEN`: a bearer token used as is. Nothing is stored, no browser ever opens. */
export class EnvTokenAuthorizer implements Authorizer {
  constructor(private readonly token: string, private readonly url: string) {
    registerSecret(token);
  }
  async getToken(): Promise<string> {
    return this.token;
  }
  async onUnauthorized(): Promise<string> {
    throw new AppError(Code.TOKEN_REJECTED, `${this.url} rejected the token in APPWRITE_MCP_TOKEN (HTTP 401). Set a valid token, or unset APPWRITE_MCP_TOKEN to sign in through the browser.`);
  }
  async onInsufficientScope(_rejected: string, challenge: { scope?: string }): Promise<string> {
    throw new AppError(Code.STEP_UP_FAILED, `The token in APPWRITE_MCP_TOKEN lacks the scope ${challenge.scope ? `"${challenge.scope}" ` : ''}that ${this.url} requires (HTTP 403). Use a token with that scope.`);
  }
  async whenReady(): Promise<void> {}
  async present(token: string): Promise<Presentation> {
    return bearerPresentation(token);
  }
}

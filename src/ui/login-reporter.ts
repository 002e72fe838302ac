import type { SignInStep } from '../auth/sign-in.js';

export interface LoginSummary {
  url: string;
  account: string;
  scopes: string;
  expiry: string;
  where: string;
}

/** How `login` shows its progress: an ink view on a terminal, plain lines elsewhere. */
export interface LoginReporter {
  /** A log line (warnings, the scope-retry notice…), written so that the live view does not erase it. */
  log(line: string): void;
  step(step: SignInStep, browserOpened: boolean): void;
  done(summary: LoginSummary): void;
  fail(): void;
  close(): Promise<void>;
}

export function stepText(step: SignInStep, browserOpened: boolean): string {
  switch (step.kind) {
    case 'discovering': return `Finding the authorization server for ${step.url}`;
    case 'registering': return `Registering appwrite-mcp with ${step.issuer}`;
    case 'waiting': return browserOpened
      ? 'A browser tab has been opened to sign in; if you do not see it, open this URL:'
      : 'Open this URL in a browser to sign in (if that browser cannot reach this machine, paste here the address it ends on):';
    case 'exchanging': return 'Signed in through the browser; saving the sign-in';
    case 'saved': return `Saved to ${step.where}`;
  }
}

export function summaryLines(s: LoginSummary): string[] {
  return [
    `✓ Signed in to ${s.url}`,
    `  account: ${s.account}`,
    `  scopes:  ${s.scopes}`,
    `  ${s.expiry}`,
    `  secrets: ${s.where}`,
  ];
}

export function createPlainReporter(_url: string, write: (line: string) => void): LoginReporter {
  return {
    log: (line) => write(line.replace(/\n$/, '')),
    step(step, browserOpened) {
      write(stepText(step, browserOpened));
      if (step.kind === 'waiting') write(`  ${step.authorizationUrl}`);
    },
    done(summary) {
      for (const line of summaryLines(summary)) write(line);
    },
    fail() {},
    close: async () => {},
  };
}

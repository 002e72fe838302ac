import { formatDuration } from '../auth/authorize.js';
import type { SignInStep } from '../auth/sign-in.js';
import { printable } from '../log.js';

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
    case 'device-code': return browserOpened
      ? 'A browser tab has been opened to sign in; check that it shows this code:'
      : 'To sign in, open this address in a browser on any device:';
    case 'exchanging': return 'Signed in through the browser; saving the sign-in';
    case 'saved': return `Saved to ${step.where}`;
  }
}

type DeviceCodeStep = Extract<SignInStep, { kind: 'device-code' }>;

/**
 * What `login --device-code` shows (RFC 8628 §3.3): the address and the code, each on a line of its
 * own so that either can be copied whole, the address with the code in it when the AS gives one,
 * and how long the code lasts.
 */
export function deviceCodeLines(step: DeviceCodeStep, browserOpened: boolean, now = step.shownAt): string[] {
  const lines = browserOpened
    ? [stepText(step, true), `  ${step.userCode}`, 'If you do not see it, open this address in a browser on any device and enter the code there:', `  ${step.verificationUri}`]
    : [
        stepText(step, false), `  ${step.verificationUri}`, 'and enter this code:', `  ${step.userCode}`,
        ...(step.verificationUriComplete ? [`(or open ${step.verificationUriComplete}, which has the code filled in)`] : []),
      ];
  return [...lines, deviceWaitLine(step, now)];
}

export function deviceWaitLine(step: DeviceCodeStep, now = step.shownAt): string {
  const expires = `the code expires in ${formatDuration(step.expiresAt - now)}`;
  return step.deadline < step.expiresAt
    ? `Waiting for you to approve the sign-in, for ${formatDuration(step.deadline - now)} (--timeout); ${expires}.`
    : `Waiting for you to approve the sign-in; ${expires}.`;
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

/** Plain lines through `write`, each escaped by printable() (issuer names, accounts, errors come from servers). */
export function createPlainReporter(_url: string, writeLine: (line: string) => void): LoginReporter {
  const write = (line: string) => writeLine(printable(line));
  return {
    log: (line) => write(line.replace(/\n$/, '')),
    step(step, browserOpened) {
      if (step.kind === 'device-code') {
        for (const line of deviceCodeLines(step, browserOpened)) write(line);
        return;
      }
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

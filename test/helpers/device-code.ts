// What `login --device-code` shows, as both its in-process and its end-to-end tests check it.
import { expect } from 'vitest';

/** What `login --device-code --no-browser` prints: the address, the code, the one with the code in it, the wait (a 10 min code). */
export function expectDeviceCodeShown(stderr: string, issuer: string, shown: { userCode: string; verificationUri: string }): void {
  expect(shown.userCode).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  expect(shown.verificationUri).toBe(`${issuer}/device`);
  expect(stderr).toContain([
    'To sign in, open this address in a browser on any device:',
    `  ${issuer}/device`,
    'and enter this code:',
    `  ${shown.userCode}`,
    `(or open ${issuer}/device?user_code=${shown.userCode}, which has the code filled in)`,
    'Waiting for you to approve the sign-in; the code expires in 10 min.',
  ].join('\n'));
}

// Doctor, part 4: the OS keychain. A real round trip of a throw-away entry (write, read back,
// delete) through the same wrapper the sign-ins use, each call bounded by the keychain timeout;
// and which store this server's sign-in (or a new one) uses, and where.
import { randomBytes } from 'node:crypto';
import { errorMessage, isAppError, Code } from '../errors.js';
import { sessionBusSocketPath } from '../store/dbus-probe.js';
import type { KeychainOptions } from '../store/keychain.js';
import { KeychainSecretStore } from '../store/secrets.js';
import type { SignIns } from '../store/sign-ins.js';
import type { SignInRecord } from '../store/types.js';
import { fail, ms, ok, warn, type CheckResult } from './report.js';

export interface KeychainCheckOptions {
  signIns: SignIns;
  keychain: Partial<KeychainOptions>;
  /** This server's sign-in, when there is one (its secrets may be in either store). */
  record?: SignInRecord;
  /** `--store` / APPWRITE_MCP_STORE: where a new sign-in's secrets go. */
  storePreference: 'auto' | 'keychain' | 'file';
  /** APPWRITE_MCP_TOKEN is set: the proxy uses it and reads nothing from a store. */
  envToken?: boolean;
  /** The login command for this server, for the fix. */
  login: string;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}

export interface KeychainOutcome {
  result: CheckResult;
  /** The round trip worked: the keychain can take a refreshed sign-in now. */
  works: boolean;
}

const TEST_ENTRY = 'appwrite-mcp doctor test entry';

export async function checkKeychain(o: KeychainCheckOptions): Promise<KeychainOutcome> {
  const store = new KeychainSecretStore({ ...o.keychain, platform: o.platform, env: o.env });
  const where = store.describe();
  const name = `${TEST_ENTRY} ${process.pid}-${randomBytes(4).toString('hex')}`;
  const value = randomBytes(16).toString('hex');
  const steps: string[] = [];
  let written = false;
  const started = Date.now();
  const detail = [usedBy(o)];
  if (o.platform === 'linux') {
    const address = o.env.DBUS_SESSION_BUS_ADDRESS;
    detail.push(`D-Bus session bus: ${address ?? (sessionBusSocketPath(o.env) ? `${sessionBusSocketPath(o.env)} (from XDG_RUNTIME_DIR)` : '(none: DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are unset)')}`);
  }
  try {
    let t = Date.now();
    await store.write([[name, value]]);
    written = true;
    steps.push(`write ${ms(Date.now() - t)}`);
    t = Date.now();
    const back = await store.read(name);
    steps.push(`read ${ms(Date.now() - t)}`);
    t = Date.now();
    await store.write([[name, undefined]]);
    written = false;
    steps.push(`delete ${ms(Date.now() - t)}`);
    if (back !== value) {
      return { works: false, result: fail('keychain', `${where}: a test entry read back ${back === undefined ? 'as missing' : 'with another value'} right after it was written`, { detail, fix: fixFor(o) }) };
    }
    return { works: true, result: ok('keychain', `${where}: wrote, read back and deleted a test entry in ${ms(Date.now() - started)}`, { detail: [...detail, steps.join(', ')] }) };
  } catch (err) {
    if (written) await store.write([[name, undefined]]).catch(() => {});
    const reason = isAppError(err, Code.KEYCHAIN_TIMEOUT)
      ? `${errorMessage(err)}: it may be locked and waiting for a password prompt, or hung`
      : errorMessage(err);
    // The keychain does not matter when this server's secrets (and new ones) go to the file.
    const summary = `${where} is not usable: ${reason}`;
    if (o.envToken) return { works: false, result: warn('keychain', `${summary} (not needed while APPWRITE_MCP_TOKEN is set)`, { detail, fix: fixFor(o) }) };
    const notNeeded = o.record ? o.record.store === 'file' : o.storePreference === 'file';
    if (notNeeded) return { works: false, result: warn('keychain', `${summary} (not needed: ${o.record ? 'this server\'s secrets are' : 'new secrets go'} in the 0600 file)`, { detail }) };
    return { works: false, result: fail('keychain', summary, { detail, fix: fixFor(o) }) };
  }
}

function usedBy(o: KeychainCheckOptions): string {
  if (o.record) return `this server's sign-in keeps its secrets in ${o.signIns.describeStore(o.record.store)}`;
  if (o.storePreference === 'file') return `a new sign-in keeps its secrets in ${o.signIns.describeStore('file')} (APPWRITE_MCP_STORE=file)`;
  return `a new sign-in keeps its secrets here (or, if the keychain does not answer, in ${o.signIns.describeStore('file')}, with a warning)`;
}

function fixFor(o: KeychainCheckOptions): string {
  const fallback = `or keep the secrets in a 0600 file instead: ${o.login} --store file`;
  if (o.platform === 'darwin') return `Unlock your login keychain (Keychain Access → File → Unlock Keychain "login"), ${fallback}`;
  if (o.platform === 'win32') return `Check that Windows Credential Manager works for your account (Control Panel → Credential Manager), ${fallback}`;
  return `Start and unlock a Secret Service on your D-Bus session bus (GNOME Keyring: gnome-keyring-daemon --start --components=secrets; or KeePassXC with Secret Service integration), and make sure DBUS_SESSION_BUS_ADDRESS reaches it (also in your MCP client's environment), ${fallback}`;
}

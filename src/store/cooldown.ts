// The tab cool-down: when a browser sign-in that the proxy started (a tab opened by itself) was not
// completed, no copy opens another tab for a while, so an unattended client cannot open tab after
// tab. Kept in state.json per sign-in key; a completed sign-in clears it.
import type { Logger } from '../log.js';
import { loadState, updateState } from './state.js';

export class TabCooldown {
  constructor(private readonly dir: string, private readonly logger: Logger, private readonly now: () => number) {}

  /** When a tab for `key` was last left unfinished (epoch ms; 0: never). */
  async lastUnfinished(key: string): Promise<number> {
    return (await loadState(this.dir, this.logger)).signInFailures?.[key] ?? 0;
  }

  async recordUnfinished(key: string): Promise<void> {
    const at = this.now();
    await updateState(this.dir, this.logger, (s) => { s.signInFailures = { ...s.signInFailures, [key]: at }; });
  }

  /** Forgets every remembered unfinished tab (`logout --all`). */
  async clearAll(): Promise<void> {
    await updateState(this.dir, this.logger, (s) => { s.signInFailures = {}; });
  }
}

// A 2026-07-28 client's `subscriptions/listen` requests in front of a 2025 server: each is
// acknowledged at once with what the server can announce, held open (it is answered only when it
// ends), and sent the list changes and resource updates of the server's session that it asked for.
import { notificationLine, type JsonRpcId, type JsonRpcMessage } from '../jsonrpc.js';
import type { Line } from '../message-bytes.js';
import type { ClientIdentity, ServerPort } from './codec.js';
import { META } from './modern.js';

interface Listen {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

export class Listens {
  private readonly byId = new Map<JsonRpcId, Listen>();

  constructor(private readonly port: ServerPort, private readonly write: (line: Line) => void) {}

  async open(id: JsonRpcId, params: Record<string, unknown>, identity: ClientIdentity): Promise<void> {
    await this.port.ready(identity).catch(() => {});
    const asked = (params.notifications ?? {}) as Listen;
    const caps = (this.port.serverAbout()?.capabilities ?? {}) as Record<string, { listChanged?: unknown; subscribe?: unknown } | undefined>;
    const honored: Listen = {};
    if (asked.toolsListChanged && caps.tools?.listChanged) honored.toolsListChanged = true;
    if (asked.promptsListChanged && caps.prompts?.listChanged) honored.promptsListChanged = true;
    if (asked.resourcesListChanged && caps.resources?.listChanged) honored.resourcesListChanged = true;
    if (Array.isArray(asked.resourceSubscriptions) && caps.resources?.subscribe) {
      honored.resourceSubscriptions = [];
      for (const uri of asked.resourceSubscriptions) {
        const response = await this.port.request('resources/subscribe', { uri }, identity).catch(() => undefined);
        if (response?.result) honored.resourceSubscriptions.push(uri);
      }
    }
    this.byId.set(id, honored);
    this.write(notificationLine('notifications/subscriptions/acknowledged', { notifications: honored, _meta: { [META.subscriptionId]: id } }));
  }

  /** The client cancelled request `id`: true when it was a listen (now closed). */
  close(id: JsonRpcId): boolean {
    return this.byId.delete(id);
  }

  /** A notification from the server's session: to each listen that asked for it. */
  notify(m: JsonRpcMessage): void {
    const uri = (m.params as { uri?: unknown } | undefined)?.uri;
    for (const [id, listen] of this.byId) {
      const wanted =
        (m.method === 'notifications/tools/list_changed' && listen.toolsListChanged) ||
        (m.method === 'notifications/prompts/list_changed' && listen.promptsListChanged) ||
        (m.method === 'notifications/resources/list_changed' && listen.resourcesListChanged) ||
        (m.method === 'notifications/resources/updated' && typeof uri === 'string' && listen.resourceSubscriptions?.includes(uri));
      if (wanted) this.write(notificationLine(m.method!, { ...(m.params as object | undefined), _meta: { [META.subscriptionId]: id } }));
    }
  }
}

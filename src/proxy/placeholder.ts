// The stand-in server the proxy presents while sign-in is not finished, so that the client's
// initialize is answered in time (clients give it 60 s at most) and the user is told what to do.
// Once signed in, the bridge switches to the real server and announces list changes.
import { Code, rpcReason } from '../errors.js';
import { KNOWN_PROTOCOL_VERSIONS } from './eras/about.js';
import { ErrorCode, errorLine, isRequest, resultLine, type JsonRpcMessage } from './jsonrpc.js';

/** The notifications that make a client fetch its lists again after the switch. */
export const LIST_CHANGED_NOTIFICATIONS = ['notifications/tools/list_changed', 'notifications/resources/list_changed', 'notifications/prompts/list_changed'];

export const LIST_UPDATES_BY_ITSELF = 'This tool list will update by itself once you are signed in.';

export interface PlaceholderOptions {
  /** serverInfo.version */
  version: string;
  /** What the user must do; the sign_in tool's description and every answer carry it. */
  message: string;
}

export class PlaceholderServer {
  constructor(private readonly opts: PlaceholderOptions) {}

  /** The protocol version answered to an initialize that asked for `requested`. */
  static negotiate(requested: unknown): string {
    return typeof requested === 'string' && KNOWN_PROTOCOL_VERSIONS.includes(requested) ? requested : KNOWN_PROTOCOL_VERSIONS[0]!;
  }

  /** The response line for one client message; undefined for notifications and responses. */
  answer(message: JsonRpcMessage): string | undefined {
    if (!isRequest(message)) return undefined;
    const { id, method } = message;
    const params = (message.params ?? {}) as Record<string, unknown>;
    switch (method) {
      case 'initialize':
        return resultLine(id, {
          protocolVersion: PlaceholderServer.negotiate(params.protocolVersion),
          capabilities: { tools: { listChanged: true }, resources: { listChanged: true }, prompts: { listChanged: true } },
          serverInfo: { name: 'appwrite-mcp', version: this.opts.version },
          instructions: this.opts.message,
        });
      case 'ping':
        return resultLine(id, {});
      case 'tools/list':
        return resultLine(id, {
          tools: [{ name: 'sign_in', description: this.opts.message, inputSchema: { type: 'object', properties: {} } }],
        });
      case 'tools/call':
        if (params.name === 'sign_in') return resultLine(id, { content: [{ type: 'text', text: this.opts.message }] });
        break;
      case 'resources/list':
        return resultLine(id, { resources: [] });
      case 'resources/templates/list':
        return resultLine(id, { resourceTemplates: [] });
      case 'prompts/list':
        return resultLine(id, { prompts: [] });
    }
    return errorLine(id, ErrorCode.AuthorizationFailed, this.opts.message, { reason: rpcReason(Code.SIGN_IN_REQUIRED) });
  }
}

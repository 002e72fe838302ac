// The shapes of the one HTTP layer (client.ts): a request, its response, and the call in between.
import type { Readable } from 'node:stream';

export interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A body in pieces (a large message as it arrived) is written piece by piece, with its Content-Length. */
  body?: string | Uint8Array | BodyPieces;
  /** Limit for the response to start (connect, a proxy's CONNECT, headers). The body may then take as long as it likes. */
  timeoutMs: number;
}

export interface BodyPieces {
  pieces: readonly Uint8Array[];
  length: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface HttpCall {
  response: Promise<HttpResponse>;
  /** Destroys the request, or its response stream once started. */
  abort(): void;
}

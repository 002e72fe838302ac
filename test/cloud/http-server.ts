// Start and stop node http servers on 127.0.0.1, including their keep-alive sockets.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const guarded = new WeakSet<Server>();

export function listen(server: Server, port = 0): Promise<number> {
  if (!guarded.has(server)) {
    // A connection accepted while close() runs would keep it waiting forever (browsers reconnect eagerly).
    server.on('connection', (socket) => { if (!server.listening) socket.destroy(); });
    guarded.add(server);
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function close(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

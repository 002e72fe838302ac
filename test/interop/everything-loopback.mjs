// Preloaded (`node --import`) into @modelcontextprotocol/server-everything's own Streamable HTTP
// entry point (`dist/index.js streamableHttp`), which listens with `app.listen(process.env.PORT)`:
// on every interface, on a port chosen by PORT alone. This file changes nothing in the server but
// where it listens, and reports to the test over the IPC channel that spawned it:
//  - every listen() becomes a listen on 127.0.0.1 (PORT=0 picks a free port);
//  - { type: 'listening', address } once bound, since the server only prints the PORT it was given;
//  - { type: 'request', method, url, headers } for each HTTP request, as it arrives: the test's view
//    of what reached the server (which Authorization header, which session, which DELETE).
// The server exits when the test's IPC channel closes, so a test process that dies leaves no server.
import net from 'node:net';
import http from 'node:http';

const LOOPBACK = '127.0.0.1';
const report = (message) => {
  if (process.connected) process.send(message);
};

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const callback = typeof args.at(-1) === 'function' ? args.pop() : undefined;
  const first = args[0];
  let options;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    options = { port: Number(first) };
  } else if (first !== null && typeof first === 'object' && !('path' in first) && !('fd' in first) && !('_handle' in first)) {
    options = { ...first };
  } else {
    throw new Error(`everything-loopback: unexpected listen(${JSON.stringify(args)})`);
  }
  options.host = LOOPBACK;
  this.once('listening', () => report({ type: 'listening', address: this.address() }));
  if (this instanceof http.Server) {
    this.on('request', (req) => report({ type: 'request', method: req.method, url: req.url, headers: req.headers }));
  }
  return callback ? listen.call(this, options, callback) : listen.call(this, options);
};

process.on('disconnect', () => process.exit(0));

"use strict";
// The floor for anything in Node: a minimal hand-written MLLP client on node:net (node:tls
// for the TLS case, resuming the last TLS session as the rustls clients do). Frames with a
// string write, collects data until the ACK frame(s) end, checks MSA-1/MSA-2 with a string
// search.
const net = require("node:net");
const tls = require("node:tls");
const { defineClient, checkAcks } = require("./_driver.js");

const END = "\x1c\r";

let lastSession;

function open(opts) {
  if (!opts.tls) return net.connect({ host: opts.host, port: opts.port, noDelay: true });
  const socket = tls.connect({ host: opts.host, port: opts.port, ca: opts.tls.ca, servername: opts.tls.servername, session: lastSession });
  socket.on("session", (session) => (lastSession = session));
  return socket;
}

/** Wraps a socket: `exchange(text, id)` writes one frame and resolves when its ACK(s) are in. */
function framed(socket, opts) {
  if (opts.tls) socket.setNoDelay(true);
  const want = opts.enhanced ? 2 : 1;
  let pending = null;
  let data = "";
  const settle = (error) => {
    const p = pending;
    pending = null;
    data = "";
    if (p) error ? p.reject(error) : p.resolve();
  };
  socket.on("data", (chunk) => {
    if (!pending) return;
    data += chunk.toString("latin1");
    if (!data.endsWith(END)) return;
    const frames = data.split(END);
    frames.pop();
    if (frames.length < want) return;
    try {
      checkAcks(frames.map((f) => f.slice(f.indexOf("\x0b") + 1)), pending.id, opts.enhanced);
      settle();
    } catch (error) {
      settle(error);
    }
  });
  socket.on("error", (error) => settle(error));
  socket.on("close", () => settle(new Error("connection closed before the ACK")));
  return {
    exchange(text, id) {
      return new Promise((resolve, reject) => {
        pending = { resolve, reject, id };
        socket.write("\x0b" + text + END);
      });
    },
    close() {
      socket.destroy();
    },
  };
}

module.exports = defineClient({
  name: "node-net",
  supports: { perMessage: true, persistent: true, enhanced: true, tls: true },
  perMessage(opts) {
    return async (text, id) => {
      const conn = framed(open(opts), opts);
      try {
        await conn.exchange(text, id);
      } finally {
        conn.close();
      }
    };
  },
  async connect(opts) {
    const socket = open(opts);
    await new Promise((resolve, reject) => {
      socket.once(opts.tls ? "secureConnect" : "connect", resolve);
      socket.once("error", reject);
    });
    const conn = framed(socket, opts);
    return { send: (text, id) => conn.exchange(text, id), close: () => conn.close() };
  },
});

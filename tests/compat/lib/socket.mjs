// The frontend's Socket.IO client (src/api/socket.ts in the meAI frontend), for node.
import { io } from "socket.io-client";
import { BASE, ORIGIN, signIn } from "./server.mjs";

export const NAMESPACE = "/conversations/stream";

/**
 * The socket exactly as the frontend creates it, plus what the browser adds on its own: the
 * session cookie and the page's origin on the handshake (node's engine.io-client sends
 * `extraHeaders` with the websocket upgrade). Not connected yet, like `autoConnect: false`.
 */
export async function frontendSocket({ cookie } = {}) {
  const sessionCookie = cookie === undefined ? await signIn() : cookie;
  const extraHeaders = { origin: ORIGIN };
  if (sessionCookie) extraHeaders.cookie = sessionCookie;
  return io(BASE + NAMESPACE, {
    path: "/socket.io",
    withCredentials: true,
    transports: ["websocket"],
    autoConnect: false,
    forceNew: true,
    reconnection: false,
    extraHeaders,
  });
}

/** Resolves with the payload of the next `event`, rejects on `timeoutMs` or a socket `error`. */
export function next(socket, event, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off(event, onEvent);
      if (event !== "error") socket.off("error", onError);
      socket.off("connect_error", onConnectError);
    };
    const onEvent = (data) => {
      cleanup();
      resolve(data);
    };
    const onError = (data) => {
      cleanup();
      reject(new Error(`server sent \`error\` while waiting for \`${event}\`: ${JSON.stringify(data)}`));
    };
    const onConnectError = (err) => {
      cleanup();
      reject(new Error(`connect_error while waiting for \`${event}\`: ${err.message}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no \`${event}\` within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on(event, onEvent);
    if (event !== "error") socket.on("error", onError);
    if (event !== "connect_error") socket.on("connect_error", onConnectError);
  });
}

/** Connects (like `conversationSocket.connect()`); resolves once connected. */
export async function connect(socket) {
  const connected = next(socket, "connect");
  socket.connect();
  try {
    await connected;
  } catch (err) {
    const cookie = String(socket.io.opts.extraHeaders?.cookie ?? "");
    throw new Error(
      `the server refused the frontend's socket, authenticated by the session cookie exactly as ` +
        `the browser sends it (as set by GET /auth/google${cookie.includes("%") ? ", percent-encoded" : ""}): ${err.message}`,
    );
  }
}

/**
 * Sends `payload` as `message` and collects the answer as the frontend's store does: `assistant`
 * chunks appended, `tool` progress, until `last_chunk`. Rejects on `error`.
 */
export function converse(socket, payload, timeoutMs = 20000) {
  return new Promise((resolve, reject) => {
    const events = [];
    const onAny = (event, data) => {
      events.push({ event, data });
      if (event === "last_chunk") finish();
      if (event === "error") fail(new Error(`server sent \`error\`: ${JSON.stringify(data)}`));
    };
    const timer = setTimeout(
      () => fail(new Error(`no \`last_chunk\` within ${timeoutMs} ms; got ${JSON.stringify(events)}`)),
      timeoutMs,
    );
    const finish = () => {
      clearTimeout(timer);
      socket.offAny(onAny);
      resolve(events);
    };
    const fail = (err) => {
      clearTimeout(timer);
      socket.offAny(onAny);
      reject(err);
    };
    socket.onAny(onAny);
    socket.emit("message", payload);
  });
}

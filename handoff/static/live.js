// The agents' live feed: a WebSocket to /api/ws?token=… that reconnects by itself
// (exponential back-off with jitter, 1 s up to 30 s, immediately when the browser
// comes back online). Close code 4401 means the token is no longer valid.

const MAX_DELAY_MS = 30000;

/**
 * openLive({token, onEvent(frame), onState(state, info), onUnauthorized()})
 * state: "connecting" | "connected" | "reconnecting". "connected" comes with the
 * server's feed.ready frame, once every later change is sure to arrive; info.reconnected
 * is true when that happens after an earlier connection was lost, and also when the
 * server sends feed.resync (its link to the other service instances was down): events
 * may have been missed, so callers reload what they show.
 * Returns {close()}.
 */
export function openLive({token, onEvent, onState, onUnauthorized}) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/api/ws?token=${encodeURIComponent(token)}`;
  let socket = null;
  let timer = null;
  let failures = 0;
  let opened = false;
  let stopped = false;

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (stopped) return;
    onState(failures || opened ? "reconnecting" : "connecting", {});
    try {
      socket = new WebSocket(url);
    } catch {
      retry();
      return;
    }
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // not JSON: nothing for us
      }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "feed.ready") {
        const reconnected = opened;
        opened = true;
        failures = 0;
        onState("connected", {reconnected});
        return;
      }
      if (frame.type === "feed.resync") {
        if (opened) onState("connected", {reconnected: true});
        return;
      }
      onEvent(frame);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (stopped) return;
      if (event.code === 4401) {
        stopped = true;
        onUnauthorized();
        return;
      }
      retry();
    });
    // "error" is always followed by "close", which does the work.
  }

  function retry() {
    if (stopped || timer) return;
    failures += 1;
    const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
    const delay = base * (0.75 + Math.random() * 0.5);
    onState("reconnecting", {delay});
    timer = setTimeout(connect, delay);
  }

  function online() {
    if (!stopped && !socket) connect();
  }
  window.addEventListener("online", online);

  connect();

  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener("online", online);
      if (socket) socket.close(1000, "logout");
      socket = null;
    },
  };
}

// Server-sent events from /api/v1/projects/{id}/events, read with fetch() so the bearer token
// travels in a header (EventSource cannot send one). Reconnects with backoff and Last-Event-ID.
import { authHeader } from "./api.js";

/**
 * Calls onEvent({type, id, data}) for every event of the project until stop() is called.
 * onStatus("open" | "closed") reports the connection, e.g. for a "live" badge.
 */
export function subscribe(projectId, onEvent, { onStatus = () => {} } = {}) {
  const controller = new AbortController();
  let lastId = null;
  let delay = 500;

  async function connect() {
    while (!controller.signal.aborted) {
      try {
        const headers = { Accept: "text/event-stream", ...authHeader() };
        if (lastId) headers["Last-Event-ID"] = lastId;
        const response = await fetch(`/api/v1/projects/${projectId}/events`, {
          headers,
          signal: controller.signal,
          cache: "no-store",
        });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onStatus("open");
        delay = 500;
        await read(response.body, (event) => {
          if (event.id) lastId = event.id;
          onEvent(event);
        });
      } catch (error) {
        if (controller.signal.aborted) break;
      }
      onStatus("closed");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }

  connect();
  return { stop: () => controller.abort() };
}

async function read(body, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parse(block);
      if (event) emit(event);
    }
  }
}

function parse(block) {
  let type = "message";
  let id = null;
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "id") id = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length) return null;
  const text = data.join("\n");
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain-text data stays a string
  }
  return { type, id, data: parsed };
}

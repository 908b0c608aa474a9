// A reader of the frontend's server-sent events (GET /api/events).
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export type EventHandler = (type: string, data: unknown) => void;

/** Connects to base/api/events and calls `onEvent` for each event; resolves, once connected, with a function that disconnects. */
export function readEvents(base: string, onEvent: EventHandler): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const url = new URL("/api/events", base);
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET /api/events answered ${res.statusCode}`));
        return;
      }
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (type && data) onEvent(type, JSON.parse(data));
        }
      });
      resolve(() => request.destroy());
    });
    request.on("error", reject);
    request.end();
  });
}

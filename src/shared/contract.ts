// The contract between the tiers: the names every process, test and doc agrees
// on. Nothing here loads a tier's code, so the frontend never loads the renderer
// and the worker never loads the HTTP server.

/** Default subjects; each deployment may rename them (NATS_REQUEST_SUBJECT, NATS_RESPONSE_SUBJECT). */
export const subjects = {
  request: "meme.request",
  /** Results go to `<response>.<id>`. */
  response: "meme.response",
  heartbeat: "meme.workers.heartbeat",
  /** The server's advisory for a request that used up its deliveries. */
  maxDeliveries: (stream: string, consumer: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
} as const;

/** The subject a request's result is published on. */
export function resultSubject(prefix: string, id: string): string {
  return `${prefix}.${id}`;
}

/** Default JetStream names (NATS_STREAM, NATS_CONSUMER). */
export const queueNames = { stream: "MEMES", consumer: "meme-generator" } as const;

/** Request ids are UUIDs: the only form that is safe as a subject token and a Redis key part. */
export const ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isRequestId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** Longest prompt, in characters after trimming. */
export const PROMPT_MAX = 200;

/** The backgrounds the renderer draws; a request names one or gets one chosen from its prompt. */
export const templateNames = ["sunset", "ocean", "space", "retro-grid", "confetti", "spotlight"] as const;
export type TemplateName = (typeof templateNames)[number];

/** Every worker publishes a heartbeat this often; one silent for three beats is gone. */
export const HEARTBEAT_MS = 2000;
export const WORKER_GONE_MS = 3 * HEARTBEAT_MS;

/** Redis keys. */
export const keys = {
  /** The pending record written on submit, so any frontend replica can answer for the id. */
  pending: (id: string) => `meme:req:${id}`,
  /** Whose an id is: the fingerprint of the first request that used it (see ownership.ts). */
  owner: (id: string) => `meme:own:${id}`,
  result: (id: string) => `meme:res:${id}`,
  /** PNG bytes, by the hash of the normalised request and the renderer version. */
  image: (hash: string) => `meme:img:${hash}`,
  /** The last RECENT_MAX ids, newest first. */
  recent: "meme:recent",
};

export const RECENT_MAX = 100;

// Every environment variable the program reads, grouped by the commands that
// read them. The README's table is checked against these declarations.
import { bytes, integer, oneOf, string, urls } from "./env.js";

const name = { re: /^[A-Za-z0-9_-]{1,64}$/, rule: "must be 1–64 letters, digits, _ or - (a JetStream name)" };
const subject = { re: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, rule: "must be a NATS subject without wildcards, such as meme.request" };

export const common = {
  LOG_LEVEL: oneOf("Log level of the JSON logs on stdout.", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
};

/** Where JetStream is and what the queue is called; shared by every command that talks to NATS. */
export const nats = {
  NATS_URL: urls("NATS server URL(s), comma-separated.", "nats://127.0.0.1:4222", ["nats", "tls"]),
  NATS_STREAM: string("JetStream stream that holds the requests.", "MEMES", name),
  NATS_CONSUMER: string("Durable pull consumer the workers share (and KEDA reads the lag of).", "meme-generator", name),
  NATS_REQUEST_SUBJECT: string("Subject the requests are published on.", "meme.request", subject),
  NATS_CONNECT_TIMEOUT: integer("Seconds to keep trying to reach NATS with JetStream at start before giving up.", 30, 1, 3600),
};

/** The settings `provision` applies to the stream and the consumer. */
export const queue = {
  NATS_STREAM_REPLICAS: integer("Replicas of the stream (1, or up to the size of the NATS cluster).", 1, 1, 5),
  NATS_STREAM_MAX_BYTES: bytes("Size limit of the stream; publishes are refused past it.", "256Mi", 2 ** 20, 2 ** 40),
  NATS_MAX_MSG_SIZE: bytes("Largest request message the stream accepts.", "64Ki", 2 ** 10, 8 * 2 ** 20),
  NATS_ACK_WAIT: integer("Seconds a worker has to acknowledge a request before it is redelivered.", 30, 1, 3600),
  NATS_MAX_DELIVER: integer("Deliveries of a request before it is answered as failed and deleted.", 5, 1, 100),
};

export const groups = { common, nats, queue } as const;

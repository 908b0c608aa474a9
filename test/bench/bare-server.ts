// The baselines of the POST latency figure: a bare fastify route, in a process of its own like the
// frontend. With BARE_PUBLISH_SUBJECT set, the route first publishes the body to JetStream with a
// message id and waits for the stream's acknowledgement, as the frontend must before its 202; with
// BARE_REDIS_URL too, it writes the body to Redis (SET with a lifetime) at the same time and waits
// for both, the two round trips of a submit. It does nothing else (no validation, no hooks), so it
// shows what those waits cost alone.
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import Fastify from "fastify";
import { Redis } from "ioredis";
import { randomUUID } from "node:crypto";

const subject = process.env.BARE_PUBLISH_SUBJECT;
let js: JetStreamClient | undefined;
if (subject) js = jetstream(await connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, noAsyncTraces: true }));
const redis = process.env.BARE_REDIS_URL ? new Redis(process.env.BARE_REDIS_URL) : undefined;

const app = Fastify();
app.post("/api/memes", async (request, reply) => {
  const id = randomUUID();
  const data = JSON.stringify({ id, ...(request.body as object) });
  if (js && subject) await Promise.all([js.publish(subject, data, { msgID: id }), redis?.set(`bare:${id}`, data, "EX", 600)]);
  return reply.code(202).send({ id, status: "queued" });
});
app.get("/readyz", async () => ({ status: "ready" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });
// Stopped by SIGTERM, it exits as the frontend does, so a profile it was started with is written.
process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));

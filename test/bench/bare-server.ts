// The baselines of the POST latency figure: a bare fastify route, in a process of its own like the
// frontend. With BARE_PUBLISH_SUBJECT set, the route first publishes the body to JetStream with a
// message id and waits for the stream's acknowledgement, as the frontend must before its 202; it
// does nothing else (no validation, no Redis, no hooks), so it shows what that wait costs alone.
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import Fastify from "fastify";
import { randomUUID } from "node:crypto";

const subject = process.env.BARE_PUBLISH_SUBJECT;
let js: JetStreamClient | undefined;
if (subject) js = jetstream(await connect({ servers: process.env.NATS_URL, noAsyncTraces: true }));

const app = Fastify();
app.post("/api/memes", async (request, reply) => {
  const id = randomUUID();
  if (js && subject) await js.publish(subject, JSON.stringify({ id, ...(request.body as object) }), { msgID: id });
  return reply.code(202).send({ id, status: "queued" });
});
app.get("/readyz", async () => ({ status: "ready" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });

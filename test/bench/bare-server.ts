// The baseline of the POST latency figure: a bare fastify route, in a process of its own like the frontend.
import Fastify from "fastify";
import { randomUUID } from "node:crypto";

const app = Fastify();
app.post("/api/memes", async (_request, reply) => reply.code(202).send({ id: randomUUID(), status: "queued" }));
app.get("/readyz", async () => ({ status: "ready" }));
await app.listen({ port: Number(process.env.PORT), host: "127.0.0.1" });

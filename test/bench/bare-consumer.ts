// The baseline of the cache-hit figure's consuming side: a bare pull + ack loop, in a
// process of its own like the worker. Asked on `bench.bare.consume` with a stream,
// a durable consumer and a count, it pulls that many (256 at a time), acks each and
// answers once all are acknowledged.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

const nc = await connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, noAsyncTraces: true });
const js = jetstream(nc);
nc.subscribe("bench.bare.consume", {
  callback: (_error, request) => {
    void (async () => {
      const { stream, consumer: name, count } = request.json<{ stream: string; consumer: string; count: number }>();
      const consumer = await js.consumers.get(stream, name);
      let seen = 0;
      while (seen < count) {
        const batch = await consumer.fetch({ max_messages: Math.min(256, count - seen), expires: 2000 });
        for await (const msg of batch) {
          msg.ack();
          seen++;
        }
      }
      await nc.flush();
      request.respond(String(seen));
    })().catch((error: Error) => request.respond(`error: ${error.message}`));
  },
});
await nc.flush();
process.stdout.write("ready\n");
process.once("SIGTERM", () => void nc.close().then(() => process.exit(0)));

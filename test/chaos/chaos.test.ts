import t from "tap";
import { formatReport, runChaos } from "./chaos.js";

t.test("chaos: 300 requests while workers are killed and Redis and NATS restart — none lost", async (t) => {
  const lines: string[] = [];
  const report = await runChaos({ count: 300, rate: 60, workers: 3, killEveryMs: 700, say: (line) => lines.push(line) });
  t.comment(formatReport(report));
  t.equal(report.lost, 0, "every request reached a final state");
  t.equal(report.accepted, 300);
  t.equal(report.done + report.failed, 300);
  t.equal(report.lag, 0, "lag 0");
  t.equal(report.streamMessages, 0, "the stream is empty");
  t.ok(report.workerKills >= 3, `${report.workerKills} workers killed`);
  t.equal(report.redisRestarts, 1);
  t.equal(report.natsRestarts, 1);
  t.ok(lines.some((l) => l.startsWith("stack up")));
});

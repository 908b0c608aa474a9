// npm run chaos -- [--count N] [--rate N] [--workers N]
import { parseArgs } from "node:util";
import { formatReport, runChaos } from "./chaos.js";

const { values } = parseArgs({ options: { count: { type: "string" }, rate: { type: "string" }, workers: { type: "string" } } });
const count = Number(values.count ?? 2000);
const rate = Number(values.rate ?? 100);
const workers = Number(values.workers ?? 3);
for (const [name, n] of Object.entries({ count, rate, workers })) {
  if (!Number.isInteger(n) || n < 1) {
    console.error(`chaos: --${name} takes a whole number above 0`);
    process.exit(2);
  }
}
const report = await runChaos({ count, rate, workers, killEveryMs: 1500, say: (line) => console.error(`chaos: ${line}`) });
console.log(formatReport(report));
process.exitCode = report.lost === 0 && report.lag === 0 && report.streamMessages === 0 ? 0 : 1;

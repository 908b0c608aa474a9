// `provision`: creates the request stream and the durable consumer, and brings
// their editable settings in line with the configuration. Run by the chart as a
// post-install / post-upgrade hook, and by `npm start` before the services.
import { readEnv } from "../shared/env.js";
import { createLogger } from "../shared/log.js";
import { connectJetStream, credentialsOf } from "../shared/nats.js";
import { roleOf } from "../shared/permissions.js";
import { ensureQueue, queueSettingsOf, type QueueReport } from "../shared/queue.js";
import { commandVariables } from "../shared/variables.js";

const variables = commandVariables.provision;

export function queueSettings(env: NodeJS.ProcessEnv) {
  const v = readEnv(variables, env);
  return { ...queueSettingsOf(v), servers: v.NATS_URL, connectTimeout: v.NATS_CONNECT_TIMEOUT, logLevel: v.LOG_LEVEL, credentials: credentialsOf(v, roleOf.provision) };
}

export async function provision(env: NodeJS.ProcessEnv = process.env): Promise<QueueReport> {
  const settings = queueSettings(env);
  const log = createLogger(settings.logLevel, "provision");
  const { nc, jsm } = await connectJetStream(settings.servers, settings.connectTimeout, "meme-generator-provision", settings.credentials);
  try {
    const report = await ensureQueue(jsm, settings, true);
    log.info({ streamName: settings.stream, consumerName: settings.consumer, ...report }, `stream ${report.stream}, consumer ${report.consumer}`);
    return report;
  } finally {
    await nc.close();
  }
}

// The request queue: a WorkQueue stream and the durable pull consumer that the
// workers share and KEDA reads the lag of. Both must exist while the backend sits
// at zero replicas, or KEDA can never wake it.
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";

export interface QueueSettings {
  stream: string;
  consumer: string;
  subject: string;
  replicas: number;
  maxBytes: number;
  maxMsgSize: number;
  ackWaitSeconds: number;
  maxDeliver: number;
}

/** The queue settings from the variables of `nats` and `queue` (see variables.ts). */
export function queueSettingsOf(v: {
  NATS_STREAM: string;
  NATS_CONSUMER: string;
  NATS_REQUEST_SUBJECT: string;
  NATS_STREAM_REPLICAS: number;
  NATS_STREAM_MAX_BYTES: number;
  NATS_MAX_MSG_SIZE: number;
  NATS_ACK_WAIT: number;
  NATS_MAX_DELIVER: number;
}): QueueSettings {
  return {
    stream: v.NATS_STREAM,
    consumer: v.NATS_CONSUMER,
    subject: v.NATS_REQUEST_SUBJECT,
    replicas: v.NATS_STREAM_REPLICAS,
    maxBytes: v.NATS_STREAM_MAX_BYTES,
    maxMsgSize: v.NATS_MAX_MSG_SIZE,
    ackWaitSeconds: v.NATS_ACK_WAIT,
    maxDeliver: v.NATS_MAX_DELIVER,
  };
}

/** Publishes with the same Nats-Msg-Id inside this window are stored once. */
export const DUPLICATE_WINDOW_SECONDS = 120;

const nanos = (seconds: number) => seconds * 1_000_000_000;

/** Settings of the stream that `provision` owns; the server fills in the rest. */
export function streamSettings(s: QueueSettings) {
  return {
    name: s.stream,
    subjects: [s.subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    // A full queue refuses new requests (the frontend answers 503) rather than dropping queued ones.
    discard: DiscardPolicy.New,
    max_bytes: s.maxBytes,
    max_msg_size: s.maxMsgSize,
    duplicate_window: nanos(DUPLICATE_WINDOW_SECONDS),
    num_replicas: s.replicas,
  } satisfies Partial<StreamConfig>;
}

export function consumerSettings(s: QueueSettings) {
  return {
    durable_name: s.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: s.subject,
    ack_wait: nanos(s.ackWaitSeconds),
    max_deliver: s.maxDeliver,
    // No inactive_threshold: a durable consumer with one vanishes while the backend sits at zero.
  } satisfies Partial<ConsumerConfig>;
}

/** What changing a setting of an existing stream or consumer would need. */
const fixedStream = ["retention", "storage"] as const;
const fixedConsumer = ["ack_policy", "deliver_policy", "filter_subject"] as const;

export type Outcome = "created" | "updated" | "unchanged" | "differs";

export interface QueueReport {
  stream: Outcome;
  consumer: Outcome;
  /** Settings that differ from the wanted ones, as `name: current → wanted`. */
  changes: string[];
}

export class QueueConfigError extends Error {
  override name = "QueueConfigError";
}

function differences(kind: string, current: Record<string, unknown>, wanted: object): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const have = current[key];
    if (JSON.stringify(have) !== JSON.stringify(value)) {
      out.push(`${kind}.${key}: ${JSON.stringify(have)} → ${JSON.stringify(value)}`);
    }
  }
  return out;
}

function isNotFound(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/**
 * Makes sure the stream and the consumer exist. With `reconcile` (the
 * provisioner) an existing stream or consumer whose editable settings differ is
 * updated; without it (frontend, worker) an existing one is left as it is and
 * the differences are only reported. Settings that JetStream cannot change in
 * place (retention, storage, ack policy, …) raise a QueueConfigError either way
 * when `reconcile` is set, because fixing them means deleting queued requests.
 */
export async function ensureQueue(jsm: JetStreamManager, settings: QueueSettings, reconcile: boolean): Promise<QueueReport> {
  const changes: string[] = [];
  const stream = await ensureOne({
    kind: "stream",
    name: settings.stream,
    wanted: streamSettings(settings),
    fixed: fixedStream,
    remedy: "delete the stream (its queued requests go with it) and provision again",
    notFound: JetStreamApiCodes.StreamNotFound,
    info: async () => (await jsm.streams.info(settings.stream)).config,
    update: (wanted) => jsm.streams.update(settings.stream, wanted),
    add: (wanted) => jsm.streams.add(wanted),
    reconcile,
    changes,
  });
  const consumer = await ensureOne({
    kind: "consumer",
    name: settings.consumer,
    wanted: consumerSettings(settings),
    fixed: fixedConsumer,
    remedy: "delete the consumer and provision again",
    notFound: JetStreamApiCodes.ConsumerNotFound,
    info: async () => (await jsm.consumers.info(settings.stream, settings.consumer)).config,
    update: (wanted) => jsm.consumers.update(settings.stream, settings.consumer, wanted),
    add: (wanted) => jsm.consumers.add(settings.stream, wanted),
    reconcile,
    changes,
  });
  return { stream, consumer, changes };
}

/** What of the queue is missing ("stream MEMES", "consumer meme-generator"); empty when both exist. Reads only. */
export async function missingOfQueue(jsm: JetStreamManager, settings: QueueSettings): Promise<string[]> {
  const missing: string[] = [];
  const present = async (read: () => Promise<unknown>, notFound: number, what: string) => {
    try {
      await read();
    } catch (error) {
      if (!isNotFound(error, notFound)) throw error;
      missing.push(what);
    }
  };
  await present(() => jsm.streams.info(settings.stream), JetStreamApiCodes.StreamNotFound, `stream ${settings.stream}`);
  if (missing.length === 0) await present(() => jsm.consumers.info(settings.stream, settings.consumer), JetStreamApiCodes.ConsumerNotFound, `consumer ${settings.consumer}`);
  return missing;
}

/** One stream or consumer: created when missing, compared, and updated when reconciling. */
async function ensureOne<W extends object>(o: {
  kind: string;
  name: string;
  wanted: W;
  fixed: readonly (keyof W)[];
  remedy: string;
  notFound: number;
  info(): Promise<object>;
  update(wanted: W): Promise<unknown>;
  add(wanted: W): Promise<unknown>;
  reconcile: boolean;
  changes: string[];
}): Promise<Outcome> {
  let current: Record<string, unknown>;
  try {
    current = (await o.info()) as Record<string, unknown>;
  } catch (error) {
    if (!isNotFound(error, o.notFound)) throw error;
    await o.add(o.wanted);
    return "created";
  }
  const diff = differences(o.kind, current, o.wanted);
  o.changes.push(...diff);
  if (diff.length === 0) return "unchanged";
  if (!o.reconcile) return "differs";
  const fixed = o.fixed.filter((key) => current[key as string] !== o.wanted[key]);
  if (fixed.length > 0) {
    const have = fixed.map((key) => `${String(key)} ${String(current[key as string])}`).join(", ");
    throw new QueueConfigError(`${o.kind} ${o.name} has ${have}, which JetStream cannot change in place; ${o.remedy}`);
  }
  await o.update(o.wanted);
  return "updated";
}

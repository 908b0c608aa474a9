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

function differences<T extends object>(kind: string, current: T, wanted: Partial<T>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(wanted)) {
    const have = (current as Record<string, unknown>)[key];
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
  const wantedStream = streamSettings(settings);
  let stream: Outcome;
  try {
    const info = await jsm.streams.info(settings.stream);
    const diff = differences("stream", info.config, wantedStream);
    changes.push(...diff);
    if (diff.length === 0) stream = "unchanged";
    else if (!reconcile) stream = "differs";
    else {
      const fixed = fixedStream.filter((key) => info.config[key] !== wantedStream[key]);
      if (fixed.length > 0) {
        throw new QueueConfigError(
          `stream ${settings.stream} has ${fixed.map((k) => `${k} ${info.config[k]}`).join(", ")}, which JetStream cannot change in place; ` +
            `delete the stream (its queued requests go with it) and provision again`,
        );
      }
      await jsm.streams.update(settings.stream, wantedStream);
      stream = "updated";
    }
  } catch (error) {
    if (!isNotFound(error, JetStreamApiCodes.StreamNotFound)) throw error;
    await jsm.streams.add(wantedStream);
    stream = "created";
  }

  const wantedConsumer = consumerSettings(settings);
  let consumer: Outcome;
  try {
    const info = await jsm.consumers.info(settings.stream, settings.consumer);
    const diff = differences("consumer", info.config, wantedConsumer);
    changes.push(...diff);
    if (diff.length === 0) consumer = "unchanged";
    else if (!reconcile) consumer = "differs";
    else {
      const fixed = fixedConsumer.filter((key) => info.config[key] !== wantedConsumer[key]);
      if (fixed.length > 0) {
        throw new QueueConfigError(
          `consumer ${settings.consumer} has ${fixed.map((k) => `${k} ${String(info.config[k])}`).join(", ")}, which JetStream cannot change in place; ` +
            `delete the consumer and provision again`,
        );
      }
      await jsm.consumers.update(settings.stream, settings.consumer, wantedConsumer);
      consumer = "updated";
    }
  } catch (error) {
    if (!isNotFound(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
    await jsm.consumers.add(settings.stream, wantedConsumer);
    consumer = "created";
  }
  return { stream, consumer, changes };
}

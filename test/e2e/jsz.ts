// NATS's monitoring page /jsz, read as KEDA's nats-jetstream scaler reads it: the consumer's detail
// under its stream, and its lag (num_pending + num_ack_pending).
export type ConsumerDetail = { name: string; stream_name?: string; num_pending: number; num_ack_pending: number; cluster?: { leader?: string } };
type Jsz = { account_details?: { stream_detail?: { name: string; consumer_detail?: ConsumerDetail[] }[] }[] };

/** The consumer as `${monitor}/jsz?consumers=true` lists it; undefined when it is not there. `monitor` is a base URL. */
export async function consumerOf(monitor: string, stream: string, consumer: string): Promise<ConsumerDetail | undefined> {
  const response = await fetch(`${monitor}/jsz?consumers=true`, { signal: AbortSignal.timeout(5000) });
  const jsz = (await response.json()) as Jsz;
  return jsz.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === stream)?.consumer_detail?.find((c) => c.name === consumer);
}

/** num_pending + num_ack_pending, the lag KEDA scales on; NaN when the consumer is not listed. */
export async function consumerLag(monitor: string, stream: string, consumer: string): Promise<number> {
  const found = await consumerOf(monitor, stream, consumer);
  return found ? found.num_pending + found.num_ack_pending : Number.NaN;
}

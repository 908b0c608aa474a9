// An id belongs to the first request that used it. Ids are public (the wall, the
// event stream), so anyone may send one again: the frontend over HTTP, or any
// client straight onto the bus. The owner is recorded in Redis, where both tiers
// see it, as the fingerprint of the request (see messages.ts); a request whose
// fingerprint differs is refused wherever it arrives, and no result is stored
// over one that belongs to another request.
import type { Redis } from "ioredis";
import type { MemeResult } from "../generated/messages.js";
import { keys } from "./contract.js";
import { fingerprint, type ParsedRequest } from "./messages.js";

/**
 * KEYS[1] owner, KEYS[2] result; ARGV[1] the fingerprint of the request answered ('' when the
 * request could not be read, so it has none), ARGV[2] the result, ARGV[3] its lifetime. Stores the
 * result unless another request owns the id: 1 when stored, 0 when refused.
 */
const STORE_RESULT = `local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1`;

type WithScript = Redis & { memeStoreOwnResult(owner: string, result: string, fingerprint: string, json: string, ttl: number): Promise<number> };

/**
 * Teaches a client the script storeOwnResult sends; called once, before the client's first command:
 * a client that batches its commands would send one defined later in a batch that lacks it.
 */
export function defineOwnership(redis: Redis): void {
  redis.defineCommand("memeStoreOwnResult", { numberOfKeys: 2, lua: STORE_RESULT });
}

/**
 * Stores a failed or otherwise final result that is not the product of a render (the worker's
 * refusals, an exhausted request), unless the id belongs to another request. Resolves false when
 * refused: the result must then not be published either, or the owner's browsers would show it.
 * The client must have had defineOwnership.
 */
export async function storeOwnResult(redis: Redis, result: MemeResult, fingerprint: string | undefined, ttl: number, json = JSON.stringify(result)): Promise<boolean> {
  return (await (redis as WithScript).memeStoreOwnResult(keys.owner(result.id), keys.result(result.id), fingerprint ?? "", json, ttl)) === 1;
}

/**
 * Answers a request that will not be made (it used up its deliveries) as failed with `error`: the
 * result is stored unless the id belongs to another request, and published when it was stored, or
 * when Redis could not be asked (the result cannot be kept, but the browsers waiting for it still
 * hear of it). Resolves whether it was answered.
 */
export async function answerFailed(redis: Redis, parsed: ParsedRequest, error: string, ttl: number, publish: (result: MemeResult, json: string) => void): Promise<{ id: string; answered: boolean }> {
  const result: MemeResult = {
    id: parsed.ok ? parsed.request.id : parsed.id,
    status: "failed",
    ...(parsed.ok ? { prompt: parsed.request.prompt } : {}),
    error,
    cached: false,
    renderMs: 0,
    finishedAt: new Date().toISOString(),
  };
  const json = JSON.stringify(result);
  const answered = await storeOwnResult(redis, result, parsed.ok ? fingerprint(parsed.request) : undefined, ttl, json).catch(() => true);
  if (answered) publish(result, json);
  return { id: result.id, answered };
}

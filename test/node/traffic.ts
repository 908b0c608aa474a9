// Traffic of the real-node tests: memes at an even pace through the frontend, each followed to its
// end, and the ways in from the host (a Service's cluster address, which the host routes to the node,
// and `kubectl port-forward`). Every loop is bounded in count and time.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Test } from "tap";
import { freePort } from "../../src/local/servers.js";
import type { Cluster } from "../e2e/cluster.js";
import { toolPath } from "../toolchain/toolchain.mjs";
import { spawnUntil } from "./node.js";
import { eventually } from "../harness/eventually.js";

export interface Paced {
  /** Memes sent: `count`, or fewer when the run was told to stop. */
  sent: number;
  accepted: number;
  resubmitted: number;
  done: number;
  failed: Record<string, number>;
  lost: string[];
  lostStates: Record<string, number>;
  stats: string;
}

/**
 * Memes at an even pace to `base`, each sent again with its own id while it is refused (as a client
 * would: JetStream keeps an id once), with `faults` started at their request numbers; then every
 * accepted meme is followed through the API to its final state. `stop` ends the sending early (the
 * test has seen what it waited for); `count` bounds it. Every loop is bounded.
 */
export async function pacedMemes(base: string, count: number, rate: number, faults: Map<number, () => Promise<void>>, stop?: AbortSignal): Promise<Paced> {
  const ids = Array.from({ length: count }, () => randomUUID());
  const accepted = new Set<string>();
  let resubmitted = 0;
  const submit = async (id: string, i: number) => {
    for (let attempt = 0; attempt < 90; attempt++) {
      const status = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id, prompt: `real node ${i} | ${id.slice(0, 8)}`, fastMode: true }), signal: AbortSignal.timeout(10_000) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202) {
        accepted.add(id);
        return;
      }
      resubmitted++;
      await sleep(Math.min(2000, 200 * (attempt + 1)));
    }
  };
  const sent: Promise<void>[] = [];
  const started: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < count && !stop?.aborted; i++) {
    const wait = t0 + (i * 1000) / rate - Date.now();
    if (wait > 0) await sleep(wait);
    if (stop?.aborted) break;
    const fault = faults.get(i);
    if (fault) started.push(fault());
    sent.push(submit(ids[i] as string, i));
  }
  await Promise.all(sent);
  await Promise.all(started);
  const final = new Map<string, { status: string; error?: string }>();
  // The last answer for each meme not final yet: what the lost ones look like, for the report.
  const lastSeen = new Map<string, string>();
  // Those without a final state after 240 s are reported as lost below.
  await eventually(
    async () => {
      for (const id of [...accepted].filter((a) => !final.has(a))) {
        const body = (await fetch(`${base}/api/memes/${id}`, { signal: AbortSignal.timeout(10_000) }).then(
          async (r) => (r.ok ? await r.json() : { status: `HTTP ${r.status}` }),
          () => ({ status: "unreachable" }),
        )) as { status: string; error?: string };
        if (body.status === "done" || body.status === "failed") final.set(id, { status: body.status, error: body.error });
        else lastSeen.set(id, body.status);
      }
      return final.size === accepted.size;
    },
    { timeout: 240_000, interval: 1000 },
  ).catch(() => undefined);
  const lostStates: Record<string, number> = {};
  for (const id of [...accepted].filter((a) => !final.has(a))) {
    const state = lastSeen.get(id) ?? "never asked";
    lostStates[state] = (lostStates[state] ?? 0) + 1;
  }
  // The queue as the frontend sees it, for the report.
  const stats = await fetch(`${base}/api/stats`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text(), (e: Error) => e.message);
  const failed: Record<string, number> = {};
  for (const r of final.values()) if (r.status === "failed") failed[r.error ?? "no reason"] = (failed[r.error ?? "no reason"] ?? 0) + 1;
  return { sent: sent.length, accepted: accepted.size, resubmitted, done: [...final.values()].filter((r) => r.status === "done").length, failed, lost: [...accepted].filter((id) => !final.has(id)), lostStates, stats };
}

/** A Service's cluster address, which the host routes to the node. */
export async function clusterIP(c: Cluster, name: string, namespace: string): Promise<string> {
  return (await c.get<{ spec: { clusterIP: string } }>(["svc", name, "-n", namespace])).spec.clusterIP;
}

/** What a paced run must end with, whatever was done to the stack meanwhile. */
export function noneLost(t: Test, paced: Paced, count: number): void {
  t.equal(paced.accepted, count, "every meme was accepted in the end, sent again while refused");
  t.same(paced.lost, [], "none lost: every accepted meme ended done or failed");
  t.ok(Object.keys(paced.failed).every((reason) => reason !== "no reason"), "every failure has a reason");
}

/** `kubectl port-forward` to a free loopback port, as the chart's NOTES print it; resolves once it forwards. */
export async function portForward(t: Test, c: Cluster, target: string, namespace: string, remote: number): Promise<number> {
  const port = await freePort();
  const args = ["port-forward", target, "-n", namespace, `${port}:${remote}`];
  const { child } = await spawnUntil(`kubectl ${args.join(" ")}`, toolPath("kubectl"), args, "Forwarding from", 30_000, { env: { ...process.env, KUBECONFIG: c.plane.kubeconfig } });
  t.teardown(() => void child.kill());
  return port;
}

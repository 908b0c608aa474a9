// The chart under the real controllers: kube-controller-manager and
// kube-scheduler with kwok playing three nodes, PersistentVolumes made for the
// claims. Every profile installs with `helm install --wait` (Helm 3, and Helm 4
// for the demo profile); the provisioner Job, a plain object of the release,
// completes and stays; every Deployment and StatefulSet gets Running, Ready
// pods that Pod Security `restricted`, enforced, admitted; PDBs and the
// frontend HPA are taken up by their controllers; an uninstall leaves only the
// StatefulSets' claims, which the test lists and removes. An upgrade from the
// chart as it was before credentials and NetworkPolicies were on ends with
// every workload Ready on the new revision, the credentials in the cluster and
// the provisioner Job completed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t, { type Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import { eventually } from "../harness/eventually.js";
import { Cluster, describe, parse, profileArgs, release, restricted, succeeded, type Helm, type Ref, withCrds } from "./cluster.js";

type Condition = { type: string; status: string; reason?: string; lastTransitionTime?: string };
type Pod = Ref & { metadata: { ownerReferences?: { kind: string; name: string }[] }; spec: { nodeName?: string }; status: { phase: string; conditions?: Condition[] } };
type Workload = Ref & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> } }; status: { replicas?: number; readyReplicas?: number; updatedReplicas?: number } };
type Event = { reason: string; involvedObject: { kind: string; name: string }; firstTimestamp?: string; eventTime?: string; metadata: { creationTimestamp: string } };
type Claim = Ref & { spec: { volumeName?: string } };

const when = (event: Event) => Date.parse(event.firstTimestamp ?? event.eventTime ?? event.metadata.creationTimestamp);
const readyAt = (pod: Pod) => Date.parse(pod.status.conditions?.find((c) => c.type === "Ready" && c.status === "True")?.lastTransitionTime ?? "");
/** The Job's succeeded count once it is above 0 (a Job Helm is still making counts as 0), or 0 after a minute. */
const succeededOf = (cluster: Cluster, name: string, ns: string) =>
  eventually(async () => (await cluster.get<{ status?: { succeeded?: number } }>(["job", name, "-n", ns]).catch(() => ({ status: { succeeded: 0 } }))).status?.succeeded || undefined, {
    timeout: 60_000,
    interval: 1000,
    what: `Job ${ns}/${name} to succeed`,
  }).catch(() => 0);
const selector = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");

/** The chart as it was before NATS users, the Redis password and NetworkPolicies were on by default. */
const BEFORE_CREDENTIALS = "feecb78";

/** That chart, from this repository's history, in a directory of the test's own. */
function previousChart(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), "meme-chart-before-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const archive = spawnSync("git", ["-C", repoPath("."), "archive", "--format=tar", BEFORE_CREDENTIALS, "chart"], { maxBuffer: 64 * 1024 * 1024 });
  if (archive.status !== 0) throw new Error(`git archive ${BEFORE_CREDENTIALS} chart (the upgrade test needs the repository's history): ${archive.stderr.toString()}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.toString()}`);
  return join(dir, "chart");
}

async function suite(crds: string): Promise<void> {
  const cluster = await Cluster.start(t, "workloads", crds, { nodes: 3, volumes: 12 });

  /** A pod that breaks the restricted level (it sets no securityContext at all) must be refused in `namespace`. */
  const enforced = async (t: Test, namespace: string) => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "unrestricted-probe", namespace }, spec: { containers: [{ name: "c", image: "busybox" }] } };
    const created = await cluster.kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(pod));
    t.match(created.stderr, /violates PodSecurity "restricted/, `${namespace}: Pod Security restricted is enforced (a pod without a securityContext is refused)`);
  };

  /** Every Deployment and StatefulSet of a release: as many Running, Ready pods as it asks for, each on a node, none left of an older revision. */
  const allReady = async (t: Test, objects: Ref[], namespace: string) => {
    for (const ref of objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) {
      const ns = ref.metadata.namespace ?? namespace;
      const workload = await cluster.get<Workload>([ref.kind.toLowerCase(), ref.metadata.name, "-n", ns]);
      const pods = (await cluster.get<{ items: Pod[] }>(["pods", "-n", ns, "-l", selector(workload.spec.selector.matchLabels)])).items;
      const want = workload.spec.replicas ?? 1;
      const running = pods.filter((p) => p.status.phase === "Running" && p.spec.nodeName && readyAt(p) > 0);
      const updated = workload.status.updatedReplicas ?? 0;
      t.ok(
        want >= 1 && running.length === want && workload.status.readyReplicas === want && updated === want,
        `${ref.kind} ${ns}/${ref.metadata.name}: ${running.length}/${want} pods Running and Ready (${updated} of the current revision) on ${[...new Set(running.map((p) => p.spec.nodeName))].join(", ")}`,
      );
    }
  };

  const install = async (t: Test, which: Helm, profile: string, namespace: string) => {
    await cluster.namespace(namespace);
    const started = Date.now();
    const result = await cluster.helm(which, ["install", release, repoPath("chart"), "-n", namespace, "--wait", "--timeout", "5m", ...profileArgs(profile)]);
    if (!succeeded(t, result, `${which} install --wait (${profile}) in ${((Date.now() - started) / 1000).toFixed(1)} s`)) return;
    t.notMatch(result.stderr, /would violate PodSecurity/, "no Pod Security warning");

    const objects = parse((await cluster.helm(which, ["get", "manifest", release, "-n", namespace])).stdout);
    const hooks = parse((await cluster.helm(which, ["get", "hooks", release, "-n", namespace])).stdout);
    t.same(describe(hooks.filter((o) => o.kind !== "Pod")), [], "no hook but the helm test pod");
    const namespaces = [...new Set(objects.map((o) => o.metadata.namespace ?? namespace))];
    for (const ns of namespaces) await enforced(t, ns);

    await allReady(t, objects, namespace);

    // The provisioner: a Job of the release (not a hook, which Helm would run only after --wait), completed and kept.
    const job = objects.find((o) => o.kind === "Job");
    if (t.ok(job, "the release has a provisioner Job") && job) {
      const ns = job.metadata.namespace ?? namespace;
      // Events of this install only: a namespace kept from an earlier release still holds that one's.
      const events = (await cluster.get<{ items: Event[] }>(["events", "-n", ns, "--field-selector", `involvedObject.kind=Job,involvedObject.name=${job.metadata.name}`])).items.filter(
        (e) => when(e) >= Math.floor(started / 1000) * 1000,
      );
      t.ok(events.some((e) => e.reason === "SuccessfulCreate"), `Job ${ns}/${job.metadata.name} made its pod (${events.map((e) => e.reason).join(", ")})`);
      const succeededPods = await succeededOf(cluster, job.metadata.name, ns);
      t.equal(succeededPods, 1, `Job ${ns}/${job.metadata.name} completed and is kept, finished`);
    }

    // PDBs and the frontend HPA are in the hands of their controllers.
    for (const ref of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
      const pdb = await cluster.get<{ status: { expectedPods?: number; currentHealthy?: number; observedGeneration?: number } }>(["pdb", ref.metadata.name, "-n", ref.metadata.namespace ?? namespace]);
      t.ok((pdb.status.expectedPods ?? 0) > 0 && pdb.status.currentHealthy === pdb.status.expectedPods, `PDB ${ref.metadata.name}: ${pdb.status.currentHealthy}/${pdb.status.expectedPods} healthy pods counted by the disruption controller`);
    }
    const hpa = objects.find((o) => o.kind === "HorizontalPodAutoscaler" && /frontend/.test(o.metadata.name));
    if (t.ok(hpa, "the frontend has an HPA") && hpa) {
      // The HPA controller looks at each HPA every 15 s.
      const conditions = await eventually(
        async () => {
          const status = await cluster.get<{ status: { conditions?: Condition[] } }>(["hpa", hpa.metadata.name, "-n", hpa.metadata.namespace ?? namespace]);
          return status.status.conditions?.length ? status.status.conditions : undefined;
        },
        { timeout: 40_000, interval: 1000, what: `conditions on ${hpa.metadata.name}` },
      ).catch((): Condition[] => []);
      t.ok(conditions.some((c) => c.type === "AbleToScale" && c.status === "True"), `the HPA controller took up ${hpa.metadata.name}: ${conditions.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}`).join(", ")}`);
    }
    const waiting = objects.filter((o) => /^(keda\.sh|autoscaling\.k8s\.io|redis\.redis\.opstreelabs\.in|monitoring\.coreos\.com)\//.test(o.apiVersion));
    if (waiting.length) t.comment(`custom resources whose operators this cluster lacks (KEDA, VPA, redis-operator, prometheus-operator): ${describe(waiting).join(", ")}`);
    return objects;
  };

  /** Uninstalls; the StatefulSets' claims stay (Kubernetes keeps them by default): list them, then free their volumes. */
  const uninstall = async (t: Test, which: Helm, namespace: string, objects: Ref[]) => {
    const result = await cluster.helm(which, ["uninstall", release, "-n", namespace, "--wait", "--timeout", "2m"]);
    succeeded(t, result, `${which} uninstall --wait`);
    const kept = describe(objects.filter((o) => o.metadata.annotations?.["helm.sh/resource-policy"] === "keep"));
    t.same(await cluster.present(objects), kept, `of the release, only what the chart keeps is left (${kept.join(", ") || "nothing"})`);
    const namespaces = [...new Set(objects.map((o) => o.metadata.namespace ?? namespace))];
    for (const ns of namespaces) {
      const pods = (await cluster.get<{ items: Pod[] }>(["pods", "-n", ns])).items;
      t.same(pods.map((p) => p.metadata.name), [], `${ns}: no pod is left`);
      const claims = (await cluster.get<{ items: Claim[] }>(["pvc", "-n", ns])).items;
      if (claims.length) t.comment(`${ns}: claims left by the StatefulSets: ${claims.map((c) => c.metadata.name).join(", ")}`);
      for (const claim of claims) {
        await cluster.kubectl(["delete", "pvc", claim.metadata.name, "-n", ns, "--wait"]);
        // The volumes are Retain: make them Available again for the next install.
        if (claim.spec.volumeName) await cluster.kubectl(["patch", "pv", claim.spec.volumeName, "--type=json", "-p", '[{"op":"remove","path":"/spec/claimRef"}]']);
      }
    }
  };

  for (const profile of ["default", "local", "production", "demo"]) {
    await t.test(`helm3: ${profile}`, async (t) => {
      const namespace = profile === "demo" ? "meme-demo" : `workloads-${profile}`;
      const objects = await install(t, "helm3", profile, namespace);
      if (objects) await uninstall(t, "helm3", namespace, objects);
    });
  }
  // An upgrade from the chart as it was before NATS users, the Redis password and NetworkPolicies were on:
  // the rollout replaces every pod, the provisioner runs as the new Job, and every workload ends Ready.
  for (const profile of ["default", "local", "production", "demo"]) {
    await t.test(`helm3: ${profile}, upgraded from the chart before credentials (${BEFORE_CREDENTIALS})`, async (t) => {
      const namespace = profile === "demo" ? "meme-demo" : `upgrade-${profile}`;
      await cluster.namespace(namespace);
      const old = previousChart(t);
      const oldArgs = profileArgs(profile).map((arg) => (arg.endsWith(`profiles/${profile}.yaml`) ? join(old, "profiles", `${profile}.yaml`) : arg));
      const installed = await cluster.helm("helm3", ["install", release, old, "-n", namespace, "--wait", "--timeout", "5m", ...oldArgs]);
      if (!succeeded(t, installed, `the earlier chart installs (${profile})`)) return;
      const before = parse((await cluster.helm("helm3", ["get", "manifest", release, "-n", namespace])).stdout);
      t.notOk(before.some((o) => o.kind === "Secret"), "the earlier release has no credentials");
      const started = Date.now();
      const upgraded = await cluster.helm("helm3", ["upgrade", release, repoPath("chart"), "-n", namespace, "--wait", "--timeout", "5m", ...profileArgs(profile)]);
      if (!succeeded(t, upgraded, `helm upgrade --wait to this chart in ${((Date.now() - started) / 1000).toFixed(1)} s`)) return;
      const objects = parse((await cluster.helm("helm3", ["get", "manifest", release, "-n", namespace])).stdout);
      await allReady(t, objects, namespace);
      const secrets = objects.filter((o) => o.kind === "Secret");
      t.same(await cluster.present(secrets), describe(secrets), `the generated credentials are in the cluster: ${describe(secrets).join(", ")}`);
      for (const ref of objects.filter((o) => o.kind === "Deployment")) {
        const workload = await cluster.get<{ spec: { template: { spec: { containers: { args?: string[]; env?: { name: string; valueFrom?: unknown }[] }[] } } } }>(["deployment", ref.metadata.name, "-n", ref.metadata.namespace ?? namespace]);
        const env = workload.spec.template.spec.containers[0]?.env ?? [];
        t.ok(["NATS_PASSWORD", "REDIS_PASSWORD"].every((name) => env.some((e) => e.name === name && e.valueFrom)), `${ref.metadata.name}: its pods now read NATS_PASSWORD and REDIS_PASSWORD from Secrets`);
      }
      t.equal(objects.filter((o) => o.kind === "NetworkPolicy").length, profile === "local" ? 0 : 6, `NetworkPolicies: ${profile === "local" ? "none in local" : "one per tier"}`);
      const job = objects.find((o) => o.kind === "Job");
      if (t.ok(job, "the provisioner is now a Job of the release") && job) {
        const done = await succeededOf(cluster, job.metadata.name, job.metadata.namespace ?? namespace);
        t.equal(done, 1, `Job ${job.metadata.name} completed after the upgrade`);
        if (profile === "local") {
          // What the chart's README says to do when NATS lost its store: delete the Job, upgrade with the same values.
          const ns = job.metadata.namespace ?? namespace;
          await cluster.kubectl(["delete", "job", job.metadata.name, "-n", ns, "--wait"]);
          const again = await cluster.helm("helm3", ["upgrade", release, repoPath("chart"), "-n", namespace, "--reuse-values", "--wait", "--timeout", "2m"]);
          succeeded(t, again, "helm upgrade --reuse-values after deleting the provisioner Job");
          const rerun = await succeededOf(cluster, job.metadata.name, ns);
          t.equal(rerun, 1, "Helm made the Job again and it ran to completion");
        }
      }
      await uninstall(t, "helm3", namespace, objects);
    });
  }
  await t.test("helm4: demo", async (t) => {
    const objects = await install(t, "helm4", "demo", "meme-demo");
    if (objects) await uninstall(t, "helm4", "meme-demo", objects);
  });
  t.comment(`Pod Security on every namespace used: ${Object.entries(restricted).map(([k, v]) => `${k}=${v}`).join(", ")}`);
}

await withCrds(suite);

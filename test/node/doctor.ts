// `meme-generator doctor` on the real node, against the demo release with its autoscalers running:
// the command as a user runs it passes on the healthy install, and each fault the test injects is
// found by its check, with the fix; once each is put back, the doctor passes again.
import type { Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import { diagnose, type Check } from "../../src/doctor/doctor.js";
import { Kube, kubeAccess } from "../../src/shared/kube.js";
import type { Cluster } from "../e2e/cluster.js";
import { runCommand } from "../e2e/controlplane.js";
import { eventually } from "../harness/eventually.js";

/** The doctor's checks, run until `done` says they show what is awaited, or `seconds` pass; the last run. */
async function until(kube: Kube, release: string, done: (checks: Check[]) => boolean, seconds: number): Promise<Check[]> {
  let checks: Check[] = [];
  await eventually(async () => done((checks = await diagnose(kube, { release }))), { timeout: seconds * 1000, interval: 2000 }).catch(() => undefined);
  return checks;
}

const problems = (checks: Check[]) => checks.filter((c) => !c.ok);
const shown = (checks: Check[]) => problems(checks).map((c) => `${c.name}: ${c.evidence}`).join("\n") || "none";

/** The command as a user runs it: `meme-generator doctor --kubeconfig <file>`, its exit code and output. */
async function command(c: Cluster, release: string): Promise<{ code: number; output: string }> {
  const run = await runCommand(process.execPath, [repoPath("dist/src/cli/bin.js"), "doctor", "--release", release, "--kubeconfig", c.plane.kubeconfig], {}, undefined, 60_000);
  return { code: run.code, output: `${run.stdout}${run.stderr}`.trim() };
}

/** Runs `fault`, waits until the named check fails, asserts its fix mentions `fix` (and its evidence `evidence`), then runs `restore`. */
async function injected(t: Test, kube: Kube, release: string, what: string, check: RegExp, fix: RegExp, fault: () => Promise<unknown>, restore: () => Promise<unknown>, seconds = 90, evidence?: RegExp): Promise<void> {
  const started = Date.now();
  await fault();
  try {
    // A rollout passes through moments where the check fails for a reason of its own (a pod still
    // starting); with an expected cause, the check is run until its evidence names it.
    const checks = await until(kube, release, (cs) => problems(cs).some((c) => check.test(c.name) && (!evidence || evidence.test(c.evidence))), seconds);
    const found = problems(checks).find((c) => check.test(c.name));
    if (t.ok(found, `${what}: the check ${check.source} finds it ${found ? `after ${((Date.now() - started) / 1000).toFixed(0)} s — ${found.evidence}` : `not within ${seconds} s (problems: ${shown(checks)})`}`)) {
      t.match(found?.fix, fix, `and says what to do: ${found?.fix}`);
      if (evidence) t.match(found?.evidence, evidence, "and the evidence names the cause");
    }
  } finally {
    await restore();
  }
}

export async function doctorFindsFaults(t: Test, c: Cluster, release: string): Promise<void> {
  const kube = new Kube(kubeAccess({ KUBECONFIG: c.plane.kubeconfig }));
  // Right after the other tests a new pod may still lack its first metrics: the healthy state first.
  const settled = await until(kube, release, (cs) => problems(cs).length === 0, 120);
  t.same(problems(settled).map((p) => p.name), [], `the release settles healthy (problems left: ${shown(settled)})`);
  const healthy = await command(c, release);
  t.equal(healthy.code, 0, "meme-generator doctor exits 0 on the healthy install");
  t.match(healthy.output, /\nall \d+ checks pass$/, "and says every check passes");
  t.comment(healthy.output);
  const areas = ["HPA", "KEDA", "VPA"].filter((a) => settled.some((s) => s.area === a));
  t.same(areas, ["HPA", "KEDA", "VPA"], "it checked all three autoscalers");

  // The metrics API gone: the HPA cannot read CPU.
  const apiservice = JSON.parse((await c.kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "json"])).stdout) as { metadata: Record<string, unknown>; spec: unknown };
  await injected(
    t,
    kube,
    release,
    "the metrics APIService removed",
    /^metrics API$/,
    /install metrics-server/,
    () => c.kubectl(["delete", "apiservice", "v1beta1.metrics.k8s.io"]),
    () => c.kubectl(["create", "-f", "-"], JSON.stringify({ apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", metadata: { name: "v1beta1.metrics.k8s.io", labels: apiservice.metadata.labels }, spec: apiservice.spec })),
  );

  // The VPA switched off: it recommends, and never evicts.
  const vpaPatch = (mode: string) => c.kubectl(["patch", "vpa", "redis-vpa", "-n", "cache", "--type", "merge", "-p", JSON.stringify({ spec: { updatePolicy: { updateMode: mode } } })]);
  await injected(t, kube, release, "the VPA set to Off", /redis-vpa update mode$/, /updateMode=Recreate/, () => vpaPatch("Off"), () => vpaPatch("Recreate"));

  // The trigger's endpoint pointing nowhere: KEDA cannot read the lag.
  const so = "meme-generator-backend-scaler";
  const endpoint = JSON.parse((await c.kubectl(["get", "scaledobject", so, "-n", "meme-generator", "-o", "jsonpath={.spec.triggers[0].metadata}"])).stdout) as { natsServerMonitoringEndpoint: string };
  const endpointPatch = (value: string) => c.kubectl(["patch", "scaledobject", so, "-n", "meme-generator", "--type", "json", "-p", JSON.stringify([{ op: "replace", path: "/spec/triggers/0/metadata/natsServerMonitoringEndpoint", value }])]);
  await injected(t, kube, release, "the ScaledObject's endpoint pointing nowhere", /scaler errors$|Ready$/, /keda-operator/, () => endpointPatch("nowhere.meme-generator.svc.cluster.local:8222"), () => endpointPatch(endpoint.natsServerMonitoringEndpoint));

  // The frontend's CPU request removed (and its limit, which would otherwise become the request): a rollout of pods without one.
  const frontend = await c.get<{ spec: { template: { spec: { containers: { resources: { requests: Record<string, string>; limits?: Record<string, string> } }[] } } } }>(["deployment", "meme-generator-frontend", "-n", "meme-generator"]);
  const resources = frontend.spec.template.spec.containers[0]?.resources;
  const cpuPatch = (ops: unknown[]) => c.kubectl(["patch", "deployment", "meme-generator-frontend", "-n", "meme-generator", "--type", "json", "-p", JSON.stringify(ops)]);
  const paths = [["requests", resources?.requests.cpu], ["limits", resources?.limits?.cpu]].filter(([, v]) => v !== undefined) as [string, string][];
  await injected(
    t,
    kube,
    release,
    "the frontend's CPU request removed",
    /^meme-generator-frontend requests$/,
    /frontend\.resources\.requests/,
    () => cpuPatch(paths.map(([k]) => ({ op: "remove", path: `/spec/template/spec/containers/0/resources/${k}/cpu` }))),
    () => cpuPatch(paths.map(([k, v]) => ({ op: "add", path: `/spec/template/spec/containers/0/resources/${k}/cpu`, value: v }))),
  );

  // A tier's NATS credentials wrong: the frontend's password replaced by another, so the pod the
  // rollout makes cannot log in to NATS and stays unready while the old one serves; the check finds
  // the new pod unready past its start-up time, with NATS's refusal from its /readyz or its log.
  const env = (await c.get<{ spec: { template: { spec: { containers: { env: { name: string }[] }[] } } } }>(["deployment", "meme-generator-frontend", "-n", "meme-generator"])).spec.template.spec.containers[0]?.env ?? [];
  const at = env.findIndex((e) => e.name === "NATS_PASSWORD");
  const envPatch = (value: unknown) => c.kubectl(["patch", "deployment", "meme-generator-frontend", "-n", "meme-generator", "--type", "json", "-p", JSON.stringify([{ op: "replace", path: `/spec/template/spec/containers/0/env/${at}`, value }])]);
  if (t.ok(at >= 0, "the frontend reads NATS_PASSWORD from the NATS users Secret")) {
    await injected(
      t,
      kube,
      release,
      "the frontend's NATS password wrong",
      /^frontend meme-generator\/meme-generator-frontend$/,
      /credentials/,
      () => envPatch({ name: "NATS_PASSWORD", value: "not-the-password" }),
      () => envPatch(env[at]),
      120,
      /[Aa]uthorization|NATS/,
    );
  }

  const after = await until(kube, release, (cs) => problems(cs).length === 0, 180);
  t.same(problems(after).map((p) => p.name), [], `every fault put back, the doctor passes again (problems left: ${shown(after)})`);
}

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import t from "tap";
import { parse } from "yaml";
import { run } from "../../generator/cli.js";
import type { Teardown } from "../harness/servers.js";
import { generatedFiles } from "../../generator/generate.js";
import { loadSchema, repoPath } from "../../generator/schema.js";

async function gen(args: string[], base?: string) {
  let stdout = "";
  let stderr = "";
  const io = { out: (s: string) => void (stdout += s), err: (s: string) => void (stderr += s) };
  const code = await run(args, io, base);
  return { code, stdout, stderr };
}

function tempDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), "meme-gen-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test("--profile writes the profile's differences and prints the helm command", async (t) => {
  const file = join(tempDir(t), "values-demo.yaml");
  const r = await gen(["--profile", "demo", "--out", file]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `wrote ${file} (demo profile)\ninstall with: helm install meme-generator ./chart -f ${file}\n`);
  t.equal(readFileSync(file, "utf8"), readFileSync(repoPath("chart/profiles/demo.yaml"), "utf8"), "the same file the chart ships");
});

t.test("--out - writes to standard output; --full writes every value", async (t) => {
  const delta = await gen(["--profile", "local", "--out", "-"]);
  t.equal(delta.code, 0);
  const values = parse(delta.stdout) as Record<string, unknown>;
  t.notOk("clusterDomain" in values, "only differences");
  const full = await gen(["--profile", "local", "--out", "-", "--full"]);
  const all = parse(full.stdout) as { clusterDomain: string; nats: { jetstream: { fileStore: { pvc: { enabled: boolean } } } } };
  t.equal(all.clusterDomain, "cluster.local");
  t.equal(all.nats.jetstream.fileStore.pvc.enabled, false);
  t.match(full.stdout, /# DNS domain of the cluster/, "descriptions as comments");
});

t.test("--set overrides by the schema's type, lists as JSON, null deletes", async (t) => {
  const r = await gen([
    "--profile", "demo", "--out", "-",
    "--set", "frontend.autoscaling.hpa.maxReplicas=8",
    "--set", "frontend.ingress.enabled=true",
    "--set", 'redis.autoscaling.vpa.controlledResources=["memory"]',
    "--set", "backend.podLabels=null",
  ]);
  t.equal(r.code, 0, r.stderr);
  const v = parse(r.stdout) as { frontend: { autoscaling: { hpa: { maxReplicas: unknown } }; ingress: { enabled: unknown } }; redis: { autoscaling: { vpa: { controlledResources: unknown } } }; backend: Record<string, unknown> };
  t.equal(v.frontend.autoscaling.hpa.maxReplicas, 8);
  t.equal(v.frontend.ingress.enabled, true);
  t.same(v.redis.autoscaling.vpa.controlledResources, ["memory"]);
  t.equal(v.backend.podLabels, null, "deleted keys show as null in the differences");
  t.match(r.stdout, /^# meme-generator values: demo profile with --set frontend.autoscaling.hpa.maxReplicas=8/);
});

t.test("bad input: one clear message, a non-zero exit, nothing written", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "values.yaml");
  const cases: [string[], number, string][] = [
    [["--profile", "demo", "--set", "frontend.resources.requests.cpu=ten"], 1, 'gen-values: invalid values, nothing written:\n  frontend.resources.requests.cpu: must be a CPU quantity such as 250m, 0.5 or 2 (got "ten")\n'],
    [["--profile", "demo", "--set", "frontend.autoscaling.hpa.maxReplicas=0"], 1, "gen-values: invalid values, nothing written:\n  frontend.autoscaling.hpa.maxReplicas: must be at least 1 (got 0)\n"],
    [["--profile", "default", "--set", "frontend.autoscaling.hpa.minReplicas=3", "--set", "frontend.autoscaling.hpa.maxReplicas=2"], 1, "gen-values: invalid values, nothing written:\n  frontend.autoscaling.hpa.maxReplicas: must be at least minReplicas (3) (got 2)\n"],
    [["--profile", "staging"], 2, 'gen-values: unknown profile "staging"; profiles: default, demo, local, production\n'],
    [["--profile", "demo", "--set", "frontend.replicas"], 2, 'gen-values: --set "frontend.replicas": expected path=value, e.g. frontend.autoscaling.hpa.maxReplicas=8\n'],
    [["--profile", "demo", "--set", "=3"], 2, 'gen-values: --set "=3": expected path=value, e.g. frontend.autoscaling.hpa.maxReplicas=8\n'],
    [["--profile", "demo", "--set", "frontend.replica=3"], 2, "gen-values: --set frontend.replica: no such value in the chart's schema\n"],
    [["--profile", "demo", "--set", "frontend.replicas=two"], 2, "gen-values: --set frontend.replicas=two: frontend.replicas takes a whole number\n"],
    [["--profile", "demo", "--set", "frontend.ingress.enabled=yes"], 2, "gen-values: --set frontend.ingress.enabled=yes: frontend.ingress.enabled takes true or false\n"],
    [["--profile", "demo", "--set", "redis.autoscaling.vpa.controlledResources=cpu"], 2, 'gen-values: --set redis.autoscaling.vpa.controlledResources=cpu: redis.autoscaling.vpa.controlledResources takes a JSON list, e.g. ["cpu"]\n'],
    [["--for", "grafana"], 2, "gen-values: --for grafana: unknown chart; companions: kube-prometheus-stack, redis-operator\n"],
    [[], 2, "gen-values: nothing to do: give --profile NAME, --for CHART, --list, --all or --check\n"],
  ];
  for (const [args, code, message] of cases) {
    const r = await gen([...args, "--out", file]);
    t.equal(r.code, code, args.join(" "));
    t.equal(r.stderr, message, args.join(" "));
    t.notOk(existsSync(file), `${args.join(" ")}: nothing written`);
  }
  const unknown = await gen(["--profil", "demo"]);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^gen-values: Unknown option '--profil'.*\n\nusage: npm run gen-values/s);
});

t.test("--list and --help", async (t) => {
  const list = await gen(["--list"]);
  t.equal(list.code, 0);
  t.match(list.stdout, /^default\s+The chart's defaults/m);
  t.equal(list.stdout.trim().split("\n").length, 4);
  const help = await gen(["--help"]);
  t.equal(help.code, 0);
  for (const flag of ["--profile", "--out", "--full", "--set", "--for", "--list", "--all", "--check"]) t.match(help.stdout, flag);
});

t.test("--check names a hand-edited generated file; --all restores it", async (t) => {
  const base = tempDir(t);
  const files = await generatedFiles(loadSchema());
  for (const [path, content] of files) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), content);
  }
  t.equal((await gen(["--check"], base)).code, 0, "freshly generated files are up to date");
  writeFileSync(join(base, "chart/values.yaml"), readFileSync(join(base, "chart/values.yaml"), "utf8").replace("maxReplicas: 5", "maxReplicas: 6"));
  rmSync(join(base, "chart/profiles/local.yaml"));
  const stale = await gen(["--check"], base);
  t.equal(stale.code, 1);
  t.equal(stale.stderr, "stale: chart/values.yaml\nstale: chart/profiles/local.yaml\ngen-values: 2 generated file(s) differ from what the schema and profiles give; run npm run gen-values -- --all\n");
  t.equal((await gen(["--all"], base)).code, 0);
  t.equal((await gen(["--check"], base)).code, 0, "regenerated");
});

t.test("--for kube-prometheus-stack matches the demo profile's monitoring", async (t) => {
  const r = await gen(["--for", "kube-prometheus-stack", "--out", "-"]);
  t.equal(r.code, 0, r.stderr);
  const v = parse(r.stdout) as {
    grafana: { admin: Record<string, string>; sidecar: { dashboards: Record<string, unknown> } };
    prometheus: { prometheusSpec: Record<string, unknown> };
    "kube-state-metrics": { rbac: { extraRules: unknown[] }; customResourceState: { enabled: boolean; config: { spec: { resources: { groupVersionKind: unknown; metrics: { name: string }[] }[] } } } };
  };
  t.same(v.grafana.admin, { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
  t.notMatch(r.stdout, /meme-battle/, "no password in the values");
  t.match(v.grafana.sidecar.dashboards, { enabled: true, label: "grafana_dashboard", labelValue: "1" });
  for (const kind of ["serviceMonitor", "podMonitor", "rule"]) {
    t.same(v.prometheus.prometheusSpec[`${kind}Selector`], { matchLabels: { release: "prometheus" } }, kind);
    t.equal(v.prometheus.prometheusSpec[`${kind}SelectorNilUsesHelmValues`], false, kind);
  }
  const ksm = v["kube-state-metrics"];
  t.same(ksm.rbac.extraRules, [{ apiGroups: ["autoscaling.k8s.io"], resources: ["verticalpodautoscalers"], verbs: ["list", "watch"] }]);
  t.equal(ksm.customResourceState.enabled, true);
  const vpa = ksm.customResourceState.config.spec.resources[0];
  t.same(vpa?.groupVersionKind, { group: "autoscaling.k8s.io", version: "v1", kind: "VerticalPodAutoscaler" });
  t.ok(vpa?.metrics.some((m) => m.name === "verticalpodautoscaler_status_recommendation_containerrecommendations_target"));
  const secret = "kubectl create secret generic grafana-admin -n monitoring --from-literal=admin-user=admin --from-literal=admin-password='<password>'";
  t.ok(r.stdout.split("\n").includes(`# ${secret}`), "the file's header holds the whole command on one line");
});

t.test("--for kube-prometheus-stack prints the commands to run, whole, before it writes the file", async (t) => {
  const file = join(tempDir(t), "prometheus.yaml");
  const said: string[] = [];
  const code = await run(["--for", "kube-prometheus-stack", "--out", file], { out: (s) => void said.push(`out:${existsSync(file) ? "after" : "before"}:${s}`), err: (s) => void said.push(`err:${existsSync(file) ? "after" : "before"}:${s}`) });
  t.equal(code, 0);
  const steps = said.find((s) => s.startsWith("err:")) ?? "";
  t.match(steps, /^err:before:/, "on stderr, before the file exists");
  const lines = steps.split("\n").map((l) => l.trim());
  t.ok(lines.includes("kubectl create namespace monitoring"), "the namespace first");
  t.ok(lines.includes("kubectl create secret generic grafana-admin -n monitoring --from-literal=admin-user=admin --from-literal=admin-password='<password>'"), "the Secret, user and password on one line");
  t.ok(lines.includes(`helm install prometheus prometheus-community/kube-prometheus-stack -n monitoring -f ${file}`), "then the install, with the file as written");
  t.ok(lines.findIndex((l) => l.startsWith("kubectl create secret")) < lines.findIndex((l) => l.startsWith("helm install")), "the Secret before the install");
  t.match(said.at(-1) ?? "", /^out:after:wrote /);
});

t.test("--for redis-operator watches the profile's cache namespace", async (t) => {
  const dir = tempDir(t);
  const file = join(dir, "values-redis-operator.yaml");
  const r = await gen(["--for", "redis-operator", "--out", file]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `wrote ${file} (redis-operator values for the demo profile)\n`);
  t.equal(r.stderr, `Install the operator with these values:\n  helm install redis-operator ot-helm/redis-operator -n redis-operator --create-namespace -f ${file}\n`);
  const v = parse(readFileSync(file, "utf8")) as { redisOperator: { watchNamespace: string }; securityContext: Record<string, unknown> };
  t.equal(v.redisOperator.watchNamespace, "cache");
  t.match(v.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
});

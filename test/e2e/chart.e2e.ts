// The chart against a real kube-apiserver (with etcd, the real CRDs installed,
// Pod Security `restricted` enforced and warned on every namespace we use):
// every profile installs with Helm 3 and Helm 4, what `helm template` renders
// passes `kubectl apply --dry-run=server --validate=strict` without a warning,
// an upgrade from the default profile to the demo profile (whose data move the API server accepts, and
// which the chart stops, with the move off, until told that NATS and Redis may go) and every uninstall
// are clean, and only what the chart marks to keep remains.
import t, { type Test } from "tap";
import { repoPath } from "../../generator/schema.js";
import { undeclaredEnv } from "../chart/env-contract.js";
import { apis, Cluster, describe, parse, profileArgs, release, succeeded, type Helm, type Ref, withCrds } from "./cluster.js";

async function suite(crds: string): Promise<void> {
  // The API server with the controllers that give every namespace its `default` ServiceAccount (pods
  // without one of their own are refused otherwise) and that delete namespaces; nothing runs pods.
  const cluster = await Cluster.start(t, "chart", crds, {
    controllers: ["serviceaccount-token-controller", "serviceaccount-controller", "namespace-controller", "garbage-collector-controller"],
  });
  const helm = (which: Helm, args: string[]) => cluster.helm(which, args);

  await t.test("the API server is real", async (t) => {
    const version = await cluster.kubectl(["version", "-o", "json"]);
    const server = (JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
    t.match(server, /^v1\.\d+\.\d+$/, `it reports its version (${server})`);
    const crds = await cluster.get<{ items: unknown[] }>(["crd"]);
    t.ok(crds.items.length >= 10, `${crds.items.length} CRDs are established`);
  });

  /**
   * Installs (or upgrades to) a profile and checks that every object the release's manifest holds exists,
   * that `helm template` with the same inputs renders the same objects, and that those pass a strict
   * server-side dry run with no warning. Returns the release's objects.
   */
  const deploy = async (t: Test, which: Helm, verb: "install" | "upgrade", profile: string, namespace: string, extra: string[] = []): Promise<Ref[]> => {
    const result = await helm(which, [verb, release, repoPath("chart"), "-n", namespace, "--no-hooks", ...profileArgs(profile), ...extra]);
    succeeded(t, result, `${which} ${verb} ${profile}`);
    t.notMatch(result.stderr, /would violate PodSecurity|unknown field|[Dd]eprecated/, `${which} ${verb} ${profile}: no warning from the API server`);

    const manifest = await helm(which, ["get", "manifest", release, "-n", namespace]);
    succeeded(t, manifest, `${which} get manifest`);
    const installed = parse(manifest.stdout);
    t.ok(installed.length > 10, `${installed.length} objects in the release`);
    t.same(await cluster.present(installed), describe(installed), "every object of the release exists on the API server");

    const rendered = await helm(which, ["template", release, repoPath("chart"), "-n", namespace, ...apis.flatMap((a) => ["--api-versions", a]), ...profileArgs(profile), ...extra]);
    succeeded(t, rendered, `${which} template ${profile}`);
    t.same(describe(parse(rendered.stdout).filter((o) => !o.metadata.annotations?.["helm.sh/hook"])), describe(installed), "helm template renders what the cluster got");
    // Server-side apply, so that the objects Helm made are compared field by field (no last-applied annotation).
    const dryRun = await cluster.kubectl(["apply", "--server-side", "--force-conflicts", "--dry-run=server", "--validate=strict", "-f", "-"], rendered.stdout);
    succeeded(t, dryRun, `kubectl apply --dry-run=server --validate=strict (${profile})`);
    t.equal(dryRun.stderr.trim(), "", "the strict server-side dry run warns of nothing");
    return installed;
  };

  /** Uninstalls and returns what is left of `objects`; it must be exactly what the chart marks to keep. */
  const uninstall = async (t: Test, which: Helm, namespace: string, objects: Ref[]): Promise<string[]> => {
    const result = await helm(which, ["uninstall", release, "-n", namespace, "--wait", "--timeout", "2m"]);
    succeeded(t, result, `${which} uninstall`);
    const kept = describe(objects.filter((o) => o.metadata.annotations?.["helm.sh/resource-policy"] === "keep"));
    const left = await cluster.present(objects);
    t.same(left, kept, `left after uninstall: ${left.length ? left.join(", ") : "nothing"}`);
    const releases = await helm(which, ["list", "-n", namespace, "-q"]);
    t.equal(releases.stdout.trim(), "", "no release is left");
    return left;
  };

  for (const which of ["helm3", "helm4"] as const) {
    await t.test(`${which}: install and uninstall every profile`, async (t) => {
      for (const profile of ["default", "local", "production"]) {
        await t.test(profile, async (t) => {
          const namespace = `${which}-${profile}`;
          await cluster.namespace(namespace);
          const objects = await deploy(t, which, "install", profile, namespace);
          await uninstall(t, which, namespace, objects);
        });
      }
      // The demo profile's namespaces are fixed names, kept on uninstall: installing again adopts them,
      // which is why every demo release here lives in the same release namespace.
      await t.test("demo", async (t) => {
        await cluster.namespace("meme-demo");
        const objects = await deploy(t, which, "install", "demo", "meme-demo");
        const namespaces = describe(objects.filter((o) => o.kind === "Namespace"));
        t.same(namespaces, ["Namespace/cache", "Namespace/meme-generator", "Namespace/messaging"], "the demo profile creates its three namespaces");
        const left = await uninstall(t, which, "meme-demo", objects);
        t.comment(`kept after uninstall: ${left.join(", ")}`);
      });
      await t.test("upgrade from the default profile to the demo profile", async (t) => {
        const before = await deploy(t, which, "install", "default", "meme-demo");
        // The demo profile puts NATS and Redis in namespaces of their own. Helm renders the data move only
        // where it can look: a server-side dry run shows its hooks, which the API server must take as they are.
        const dry = await helm(which, ["upgrade", release, repoPath("chart"), "-n", "meme-demo", "--dry-run=server", ...profileArgs("demo")]);
        succeeded(t, dry, `${which} upgrade --dry-run=server to demo`);
        const hooks = parse(dry.stdout.slice(dry.stdout.indexOf("HOOKS:") + "HOOKS:".length, dry.stdout.indexOf("MANIFEST:"))).filter((o) => o.metadata.name.startsWith("meme-generator-move-data"));
        t.same(describe(hooks), ["Job/meme-demo/meme-generator-move-data-keep", "Job/meme-demo/meme-generator-move-data-run", "NetworkPolicy/meme-demo/meme-generator-move-data", ...["keep", "layout", "move"].flatMap((r) => [`Role/meme-demo/meme-generator-move-data-${r}`, `RoleBinding/meme-demo/meme-generator-move-data-${r}`]).sort(), "Secret/meme-demo/meme-generator-move-data", "ServiceAccount/meme-demo/meme-generator-move-data"], "the data move's hooks: its account, a Role for each Job and one for the layout, a Secret, a NetworkPolicy and two Jobs");
        const env = undeclaredEnv(hooks as Parameters<typeof undeclaredEnv>[0]);
        t.same(env.problems, [], `the Jobs set only variables move-data reads (${env.checked} checked)`);
        const hooksYaml = hooks.map((o) => JSON.stringify(o)).join("\n---\n");
        const hookRun = await cluster.kubectl(["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"], hooksYaml);
        succeeded(t, hookRun, "the hooks pass a strict server-side dry run");
        t.equal(hookRun.stderr.trim(), "", "without a warning");
        // With upgrade.moveData off the chart stops the upgrade first.
        const refused = await helm(which, ["upgrade", release, repoPath("chart"), "-n", "meme-demo", "--no-hooks", ...profileArgs("demo"), "--set", "upgrade.moveData=false"]);
        t.not(refused.code, 0, `${which} upgrade to demo with upgrade.moveData=false stops without upgrade.allowDataTierMove`);
        t.match(refused.stderr, /this upgrade moves NATS from meme-demo\/meme-generator-nats to messaging\/nats and Redis from meme-demo\/meme-generator-redis \(standalone\) to cache\/redis \(operator\)/, "and says what would move");
        t.same(await cluster.present(before), describe(before), "the release is untouched");
        const after = await deploy(t, which, "upgrade", "demo", "meme-demo", ["--set", "upgrade.moveData=false", "--set", "upgrade.allowDataTierMove=true"]);
        const gone = describe(before).filter((name) => !describe(after).includes(name));
        t.same(await cluster.present(before.filter((o) => gone.includes(describe([o])[0] ?? ""))), [], `the upgrade removed what demo no longer has (${gone.length} objects)`);
        await uninstall(t, which, "meme-demo", after);
      });
    });
  }
}

await withCrds(suite);

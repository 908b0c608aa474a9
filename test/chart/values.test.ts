// The chart itself enforces the values contract: both Helm lines reject what the generator rejects.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { run } from "../../generator/cli.js";
import { repoPath } from "../../generator/schema.js";
import { toolPath } from "../toolchain/toolchain.mjs";

const chart = repoPath("chart");
const helms = ["helm3", "helm4"] as const;

function helm(which: (typeof helms)[number], args: string[]) {
  return spawnSync(toolPath(which), args, { encoding: "utf8" });
}

const quiet = { out: () => undefined, err: () => undefined };

t.test("a profile written by gen-values renders with both Helm lines", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "meme-values-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const profile of ["demo", "local", "production"]) {
    const file = join(dir, `values-${profile}.yaml`);
    t.equal(await run(["--profile", profile, "--out", file], quiet), 0);
    for (const which of helms) {
      const r = helm(which, ["template", "meme-generator", chart, "-f", file]);
      t.equal(r.status, 0, `${which} template -f values-${profile}.yaml: ${r.stderr}`);
    }
  }
});

t.test("the same bad values are rejected by the generator and by both Helm lines", async (t) => {
  const bad: [string, RegExp][] = [
    ["frontend.resources.requests.cpu=ten", /at '\/frontend\/resources\/requests\/cpu': 'ten' does not match pattern/],
    ["redis.mode=cluster", /at '\/redis\/mode': value must be one of 'operator', 'standalone', 'external'/],
    ["frontend.autoscaling.hpa.maxReplicas=0", /at '\/frontend\/autoscaling\/hpa\/maxReplicas': minimum: got 0, want 1/],
  ];
  for (const [set, helmMessage] of bad) {
    t.equal(await run(["--profile", "default", "--out", "-", "--set", set], quiet), 1, `gen-values rejects ${set}`);
    for (const which of helms) {
      const r = helm(which, ["template", "meme-generator", chart, "--set", set]);
      t.not(r.status, 0, `${which} rejects ${set}`);
      t.match(r.stderr, helmMessage, `${which}: ${set}`);
    }
  }
  for (const which of helms) {
    const r = helm(which, ["template", "meme-generator", chart, "--set", "frontend.replica=2"]);
    t.not(r.status, 0, `${which} rejects an unknown key`);
    t.match(r.stderr, /additional properties 'replica' not allowed/, which);
  }
});

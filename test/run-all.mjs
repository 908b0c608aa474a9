// `npm test`: every suite in one go. Each step runs even when an earlier one
// failed, so the closing line `N passed, N failed` counts everything that ran.
// `npm run test:e2e` (--e2e): the end-to-end suites on a local Kubernetes
// control plane, after building its pinned binaries when they are missing.
// `npm run test:images` (--images): builds every image the chart runs (image/build.mjs) and
// starts each through containerd under the chart's security settings.
// `npm run test:node` (--node): the chart on a real node (containerd, kubelet, kube-proxy in a
// network namespace of its own) joined to the end-to-end control plane, running those images.
// `npm run test:e2e:full` (--node --full): the same with the demo's real HPA timings and the guide's full loads.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toolPath } from "./toolchain/toolchain.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const artifacts = join(root, ".artifacts");
const bin = (/** @type {string} */ name) => join(root, "node_modules", ".bin", name);

/**
 * @typedef {{ passed: number, failed: number, note?: string }} Count
 * @typedef {(output: string, code: number) => Count} Counter
 * @typedef {{ name: string, command: () => [string, string[]], quiet?: boolean, count?: Counter }} Step
 */

/** A step that is one check: it passes when the command exits 0. @type {Counter} */
const single = (_output, code) => ({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 });

/** tap prints `# { total: 64, pass: 63, fail: 1 }` last; a coverage shortfall only sets the exit code. @type {Counter} */
function tapCount(output, code) {
  const summary = /^# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?/m.exec(output);
  if (!summary) return { passed: 0, failed: 1, note: "tap printed no summary" };
  const passed = Number(summary[2] ?? 0);
  const failed = Number(summary[3] ?? 0);
  const coverage = [...output.matchAll(/^# ERROR: incomplete (\w+) coverage \(([\d.]+)%\)/gm)].map((m) => `${m[1]} ${m[2]}%`);
  if (coverage.length > 0) return { passed, failed: failed + 1, note: `coverage under the bar set in package.json: ${coverage.join(", ")}` };
  if (code !== 0 && failed === 0) return { passed, failed: 1, note: `tap exited ${code}` };
  return { passed, failed };
}

/** helm-unittest prints `Tests:       1 failed, 12 passed, 13 total`. @type {Counter} */
function unittestCount(output, code) {
  const line = /^Tests:\s+(.*)$/m.exec(output);
  if (!line) return { passed: 0, failed: 1, note: "helm-unittest printed no test count" };
  const passed = Number(/(\d+) passed/.exec(line[1] ?? "")?.[1] ?? 0);
  const failed = Number(/(\d+) failed/.exec(line[1] ?? "")?.[1] ?? 0);
  if (code !== 0 && failed === 0) return { passed, failed: 1, note: `helm-unittest exited ${code}` };
  return { passed, failed };
}

/** @type {Step[]} */
const unitSteps = [
  { name: "lint", command: () => [bin("eslint"), ["--max-warnings", "0", "."]] },
  { name: "typecheck", command: () => [bin("tsc"), ["-p", "tsconfig.json"]] },
  { name: "build", command: () => [bin("tsc"), ["-b", "tsconfig.build.json"]] },
  { name: "generated files", command: () => [process.execPath, ["dist/generator/bin.js", "--check"]] },
  { name: "tap", command: () => [bin("tap"), ["--reporter=tap"]], quiet: true, count: tapCount },
  { name: "helm 3 lint", command: () => [toolPath("helm3"), ["lint", "--strict", "chart"]] },
  { name: "helm 4 lint", command: () => [toolPath("helm4"), ["lint", "--strict", "chart"]] },
  {
    name: "helm unittest",
    command: () => [toolPath("helm-unittest"), ["--strict", "--color=false", "-f", "tests/**/*_test.yaml", "chart"]],
    count: unittestCount,
  },
];

/**
 * tap on the end-to-end files two at a time, each with a control plane of its own (ports and folders
 * are its own; most of each file waits on its API server and Helm): no coverage bar (they drive
 * binaries, not our modules), a longer timeout. On 2 cores: 216 s, against 305 s one at a time.
 */
const e2eTap = ["--reporter=tap", "--disable-coverage", "--jobs=2", "--timeout=1800", "test/e2e/*.e2e.ts"];

/** @type {Step[]} */
const e2eSteps = [
  { name: "build", command: () => [bin("tsc"), ["-b", "tsconfig.build.json"]] },
  { name: "e2e toolchain", command: () => [process.execPath, ["test/toolchain/toolchain.mjs", "--e2e"]] },
  { name: "e2e", command: () => [bin("tap"), e2eTap], quiet: true, count: tapCount },
];

/** @type {Step[]} */
const imageSteps = [
  { name: "image toolchain", command: () => [process.execPath, ["test/toolchain/toolchain.mjs", "--image"]] },
  { name: "images", command: () => [process.execPath, ["image/build.mjs", "all"]] },
  { name: "image suite", command: () => [bin("tap"), ["--reporter=tap", "--disable-coverage", "--jobs=1", "--timeout=900", "test/image/*.image.ts"]], quiet: true, count: tapCount },
];

/** @type {Step[]} */
const nodeSteps = [
  { name: "build", command: () => [bin("tsc"), ["-b", "tsconfig.build.json"]] },
  { name: "node toolchain", command: () => [process.execPath, ["test/toolchain/toolchain.mjs", "--node"]] },
  { name: "images", command: () => [process.execPath, ["image/build.mjs", "all"]] },
  // The demo's own windows alone take about 40 minutes in the full run.
  { name: "node suite", command: () => [bin("tap"), ["--reporter=tap", "--disable-coverage", "--jobs=1", `--timeout=${process.argv.includes("--full") ? 4200 : 2400}`, "test/node/*.node.ts"]], quiet: true, count: tapCount },
];

const steps = process.argv.includes("--e2e") ? e2eSteps : process.argv.includes("--images") ? imageSteps : process.argv.includes("--node") ? nodeSteps : unitSteps;

/** With --full, the real-node suite runs the demo's own scaling windows and the guide's full loads. */
const full = process.argv.includes("--full") ? { MEME_E2E_FULL: "1" } : {};
/**
 * tap runs the TypeScript test files with Node's own type stripping (the sources use only syntax it can
 * erase; tsconfig's erasableSyntaxOnly holds them to it) instead of its ts-node loader, which compiled
 * every module again in every test process: the unit files took 346 s one at a time with it, 284 s
 * without, and 179 s two at a time (package.json's tap.jobs; tap's own default on 2 cores is 1).
 */
const stripOnly = { TAP_TYPE_STRIP_ONLY: "1" };

/** @param {string} file @param {string[]} args @returns {Promise<{ output: string, code: number }>} */
function run(file, args) {
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: root, env: { ...process.env, FORCE_COLOR: "0", ...stripOnly, ...full }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (error) => resolve({ output: `${output}${error.message}\n`, code: 127 }));
    child.on("close", (code) => resolve({ output, code: code ?? 1 }));
  });
}

/** tap's full output goes to .artifacts/; the log shows the files and, on failure, everything. @param {Step} step @param {string} output @param {Count} count */
function shown(step, output, count) {
  if (!step.quiet || count.failed > 0) return output;
  return output
    .split("\n")
    .filter((line) => /^(ok|not ok|#)/.test(line) || /^(Statements|Branches|Functions|Lines)\s+:/.test(line))
    .join("\n");
}

mkdirSync(artifacts, { recursive: true });
const totals = { passed: 0, failed: 0 };
const rows = [];
for (const step of steps) {
  const started = Date.now();
  process.stdout.write(`\n── ${step.name} ${"─".repeat(Math.max(0, 60 - step.name.length))}\n`);
  let result;
  try {
    const [file, args] = step.command();
    result = await run(file, args);
  } catch (error) {
    result = { output: `${/** @type {Error} */ (error).message}\n`, code: 127 };
  }
  /** @type {Count} */
  const count = (step.count ?? single)(result.output, result.code);
  writeFileSync(join(artifacts, `test-${step.name.replace(/\W+/g, "-")}.log`), result.output);
  const text = shown(step, result.output, count).trimEnd();
  if (text) process.stdout.write(`${text}\n`);
  if (count.note) process.stdout.write(`${step.name}: ${count.note}\n`);
  totals.passed += count.passed;
  totals.failed += count.failed;
  rows.push([step.name, count.passed, count.failed, ((Date.now() - started) / 1000).toFixed(1)]);
}

process.stdout.write("\n── summary ─────────────────────────────────────────────────\n");
for (const [name, passed, failed, seconds] of rows) {
  process.stdout.write(`${failed ? "FAIL" : "ok  "}  ${String(name).padEnd(16)} ${String(passed).padStart(5)} passed ${String(failed).padStart(3)} failed  ${seconds} s\n`);
}
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed\n`);
process.exitCode = totals.failed > 0 ? 1 : 0;

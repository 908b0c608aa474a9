// One Node version for the image, the tests and CI: the Dockerfile's base names the
// major that test/toolchain/node-version pins, and that .ci/run installs.
import { readFileSync } from "node:fs";
import t from "tap";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const pin = read("test/toolchain/node-version").trim();
const major = (version: string) => Number(version.replace(/^v/, "").split(".")[0]);

t.test("the Dockerfile's base image is the pinned Node major", async (t) => {
  t.match(pin, /^\d+\.\d+\.\d+$/, "a full version");
  const base = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read("Dockerfile"))?.[1];
  t.equal(Number(base), major(pin), `node:${base} and ${pin}`);
});

t.test("the tests run on that major, and package.json admits it", async (t) => {
  t.equal(major(process.version), major(pin), `this is ${process.version}`);
  const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
  const floor = Number(/^>=(\d+)/.exec(engines)?.[1]);
  t.ok(floor <= major(pin), `engines ${engines}`);
  t.match(read("src/cli/bin.ts"), new RegExp(`const required = ${floor};`), "the CLI checks the same floor");
});

import t from "tap";
import { commands, main, usage } from "../../src/cli/main.js";
import { shownDefault } from "../../src/shared/env.js";
import { commandVariables } from "../../src/shared/variables.js";

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

t.test("without a command it prints the usage and exits 2", async (t) => {
  const r = await run([]);
  t.equal(r.code, 2);
  t.equal(r.stdout, usage());
  for (const name of Object.keys(commands)) t.match(r.stdout, new RegExp(`^  ${name}\\s`, "m"));
});

t.test("--help exits 0, --version prints the package version", async (t) => {
  t.equal((await run(["--help"])).code, 0);
  const v = await run(["--version"]);
  t.equal(v.code, 0);
  t.match(v.stdout, /^\d+\.\d+\.\d+$/);
});

t.test("an unknown command is named and the usage follows", async (t) => {
  const r = await run(["frobnicate"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^meme-generator: unknown command "frobnicate"\n\nusage: meme-generator <command>/);
});

t.test("a command's --help lists every variable it reads with its default", async (t) => {
  const r = await run(["provision", "--help"]);
  t.equal(r.code, 0);
  for (const [name, spec] of Object.entries(commandVariables.provision)) {
    t.match(r.stdout, `  ${name}`, name);
    t.match(r.stdout, `Default: ${shownDefault(spec)}.`, name);
  }
});

t.test("a bad setting stops the command with one line naming it", async (t) => {
  process.env.NATS_MAX_DELIVER = "0";
  t.teardown(() => {
    delete process.env.NATS_MAX_DELIVER;
  });
  const r = await run(["provision"]);
  t.equal(r.code, 1);
  t.equal(r.stderr, 'meme-generator provision: NATS_MAX_DELIVER must be a whole number from 1 to 100 (got "0")');
});

// npm run gen-values -- --profile demo   → values-demo.yaml and the helm command that uses it
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { companionNames, type CompanionName } from "./companions.js";
import { build, companionSteps, companionYaml, findProfile, generatedFiles, profiles, profileYaml, UsageError } from "./generate.js";
import { loadSchema, repoPath } from "./schema.js";
import { ValuesError } from "./validate.js";

export const help = `usage: npm run gen-values -- [options]

  --profile NAME     write values-NAME.yaml with the profile's differences from the chart's
                     defaults, and print the helm command that uses it
  --out FILE         write to FILE instead; --out - writes to standard output
  --full             all values, merged with the defaults, instead of the differences
  --set PATH=VALUE   override one value (repeatable), parsed by the type the schema gives PATH;
                     lists and maps as JSON; null deletes the key
  --for CHART        companion values for ${companionNames.join(" or ")}, matching
                     the profile (default demo): the guide's install steps 3 and 6
  --list             list the profiles
  --all              regenerate every committed generated file
  --check            exit 1 naming every generated file that is stale
  --help             this text

Profiles: ${profiles.map((p) => p.name).join(", ")}. The merged values are validated against
schemas/values.schema.json and the rules across fields; on any problem nothing is written.`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const consoleIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

function write(file: string, content: string, io: Io): void {
  if (file === "-") {
    io.out(content);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

/** `base` is the repository whose generated files --all writes and --check reads. */
export async function run(argv: string[], io: Io = consoleIo, base = repoPath(".")): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        profile: { type: "string" },
        out: { type: "string" },
        full: { type: "boolean", default: false },
        set: { type: "string", multiple: true, default: [] },
        for: { type: "string" },
        list: { type: "boolean", default: false },
        all: { type: "boolean", default: false },
        check: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    io.err(`gen-values: ${(error as Error).message}\n\n${help}\n`);
    return 2;
  }

  try {
    const root = loadSchema();
    if (args.help) {
      io.out(`${help}\n`);
      return 0;
    }
    if (args.list) {
      const width = Math.max(...profiles.map((p) => p.name.length));
      io.out(profiles.map((p) => `${p.name.padEnd(width)}  ${p.summary}`).join("\n") + "\n");
      return 0;
    }
    if (args.all || args.check) {
      const files = await generatedFiles(root, base);
      if (args.check) {
        const stale = [...files].filter(([path, content]) => {
          try {
            return readFileSync(join(base, path), "utf8") !== content;
          } catch {
            return true;
          }
        });
        for (const [path] of stale) io.err(`stale: ${path}\n`);
        if (stale.length > 0) {
          io.err(`gen-values: ${stale.length} generated file(s) differ from what the schema and profiles give; run npm run gen-values -- --all\n`);
          return 1;
        }
        io.out(`gen-values: all ${files.size} generated files are up to date\n`);
        return 0;
      }
      for (const [path, content] of files) write(join(base, path), content, io);
      io.out(`gen-values: wrote ${[...files.keys()].join(", ")}\n`);
      return 0;
    }
    if (args.for !== undefined) {
      if (!(companionNames as readonly string[]).includes(args.for)) {
        throw new UsageError(`--for ${args.for}: unknown chart; companions: ${companionNames.join(", ")}`);
      }
      const profile = findProfile(args.profile ?? "demo");
      const { full } = build(root, profile, args.set);
      const file = args.out ?? `values-${args.for}.yaml`;
      const named = file === "-" ? `values-${args.for}.yaml` : file;
      // On stderr, before the file: what to run, whole, also when the values go to standard output.
      io.err(`${companionSteps(args.for as CompanionName, full, named)}\n`);
      write(file, companionYaml(args.for as CompanionName, full, named), io);
      if (file !== "-") io.out(`wrote ${file} (${args.for} values for the ${profile.name} profile)\n`);
      return 0;
    }
    if (args.profile === undefined) throw new UsageError("nothing to do: give --profile NAME, --for CHART, --list, --all or --check");
    const profile = findProfile(args.profile);
    const built = build(root, profile, args.set);
    const file = args.out ?? `values-${profile.name}.yaml`;
    write(file, profileYaml(root, profile, built, args.full, args.set), io);
    if (file !== "-") {
      io.out(`wrote ${file} (${profile.name} profile${args.full ? ", all values" : ""})\n`);
      io.out(`install with: helm install meme-generator ./chart -f ${file}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof ValuesError) {
      io.err(`gen-values: invalid values, nothing written:\n${error.problems.length > 0 ? error.message.replace(/^/gm, "  ") : ""}\n`);
      return 1;
    }
    if (error instanceof UsageError) {
      io.err(`gen-values: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

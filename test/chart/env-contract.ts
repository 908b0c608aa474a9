// The chart's env wiring against the program's declarations: a container of
// ours (its first argument is a subcommand) may only be given variables that
// subcommand reads, or a typo in a template would be ignored silently.
import { commandVariables, type CommandName } from "../../src/shared/variables.js";

type Container = { name: string; args?: string[]; env?: { name: string }[] };
type PodSpec = { containers?: Container[]; initContainers?: Container[] };
type Obj = { kind: string; metadata: { name: string }; spec?: { template?: { spec?: PodSpec }; jobTemplate?: unknown } & PodSpec };

function podSpec(o: Obj): PodSpec | undefined {
  return o.kind === "Pod" ? o.spec : o.spec?.template?.spec;
}

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(commandVariables, name);
}

/** "Kind name/container: NAME is not a variable of <command>" for each env entry the command does not read. */
export function undeclaredEnv(objects: Obj[]): { checked: number; problems: string[] } {
  let checked = 0;
  const problems: string[] = [];
  for (const o of objects) {
    const pod = podSpec(o);
    for (const c of [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])]) {
      const command = c.args?.[0];
      if (!isCommand(command)) continue;
      for (const { name } of c.env ?? []) {
        checked++;
        if (!Object.hasOwn(commandVariables[command], name)) problems.push(`${o.kind} ${o.metadata.name}/${c.name}: ${name} is not a variable of ${command}`);
      }
    }
  }
  return { checked, problems };
}

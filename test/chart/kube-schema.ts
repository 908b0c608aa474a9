// Kubernetes' own typed schema of every built-in kind, as client-go ships it
// for server-side apply (applyconfigurations/internal): every field a kind has,
// so that a rendered object with a field Kubernetes does not know fails here,
// not first on a cluster. The module comes from the pinned toolchain's go.sum.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

interface TypeRef {
  namedType?: string;
  scalar?: string;
  list?: { elementType: TypeRef };
  map?: { fields?: { name: string; type: TypeRef }[]; elementType?: TypeRef };
}
type Named = TypeRef & { name: string };

export class KubeSchema {
  private readonly types = new Map<string, Named>();

  constructor(schemaYaml: string) {
    for (const type of (parse(schemaYaml) as { types: Named[] }).types) this.types.set(type.name, type);
  }

  /** From the client-go module the pinned helm3 toolchain module requires. */
  static fromToolchain(): KubeSchema {
    const moduleDir = join(dirname(fileURLToPath(import.meta.url)), "..", "toolchain", "helm3");
    const clientGo = execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "k8s.io/client-go"], { cwd: moduleDir, encoding: "utf8" }).trim();
    const source = readFileSync(join(clientGo, "applyconfigurations", "internal", "internal.go"), "utf8");
    const start = source.indexOf("typed.YAMLObject(`") + "typed.YAMLObject(`".length;
    return new KubeSchema(source.slice(start, source.indexOf("`)", start)));
  }

  /**
   * The schema type of an apiVersion and kind, named after the group's Go package (its first label):
   * apps/v1 Deployment → io.k8s.api.apps.v1.Deployment, rbac.authorization.k8s.io/v1 Role → io.k8s.api.rbac.v1.Role.
   */
  typeName(apiVersion: string, kind: string): string | undefined {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
    const name = `io.k8s.api.${(group as string).split(".")[0]}.${version}.${kind}`;
    return this.types.has(name) ? name : undefined;
  }

  /** Paths of the fields in `value` that the type does not have. */
  unknownFields(value: unknown, typeName: string): string[] {
    const out: string[] = [];
    this.walk(value, { namedType: typeName }, "", out);
    return out;
  }

  private walk(value: unknown, ref: TypeRef, path: string, out: string[]): void {
    if (value === null || value === undefined) return;
    let type: TypeRef = ref;
    if (ref.namedType) {
      if (ref.namedType.startsWith("__untyped")) return;
      const named = this.types.get(ref.namedType);
      if (!named) return;
      type = named;
    }
    if (type.list && Array.isArray(value)) {
      value.forEach((item, i) => this.walk(item, type.list?.elementType ?? {}, `${path}[${i}]`, out));
      return;
    }
    if (type.map && typeof value === "object" && !Array.isArray(value)) {
      const fields = new Map((type.map.fields ?? []).map((f) => [f.name, f.type]));
      for (const [key, child] of Object.entries(value)) {
        const field = fields.get(key);
        if (field) this.walk(child, field, `${path}.${key}`, out);
        else if (type.map.elementType) this.walk(child, type.map.elementType, `${path}.${key}`, out);
        else out.push(`${path}.${key}`);
      }
    }
  }
}

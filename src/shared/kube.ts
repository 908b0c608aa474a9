// A small reader of the Kubernetes API: where to reach it (the kubeconfig's current context, or the
// pod's own service account when running in a cluster) and GET of JSON or text. It never writes.
// Kubeconfig credentials: a token or token file, a client certificate and key (inline or files), or
// an exec plugin (the ExecCredential a cloud's CLI prints); a CA inline or from a file.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

/** Where the API server is and who asks. */
export interface KubeAccess {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure: boolean;
  /** The context's namespace, or the service account's. */
  namespace: string;
  /** Which kubeconfig and context, or "in-cluster". */
  source: string;
}

/** No way to reach the API server could be worked out. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

/** The API server answered with an error status (404: no such object or kind). */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(`GET ${path}: ${status} ${message}`);
  }
}

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";

type Named<T> = { name: string } & Record<string, T | undefined>;
interface KubeConfigFile {
  "current-context"?: string;
  contexts?: Named<{ cluster: string; user: string; namespace?: string }>[];
  clusters?: Named<{ server: string; "certificate-authority"?: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean }>[];
  users?: Named<{
    token?: string;
    tokenFile?: string;
    "client-certificate"?: string;
    "client-certificate-data"?: string;
    "client-key"?: string;
    "client-key-data"?: string;
    exec?: { command: string; args?: string[]; env?: { name: string; value: string }[] };
  }>[];
}

/**
 * How to reach the API server: $KUBECONFIG (its first file that exists), else ~/.kube/config, else the
 * pod's service account. `context` picks a context other than the current one.
 */
export function kubeAccess(env: NodeJS.ProcessEnv = process.env, context?: string): KubeAccess {
  const candidates = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(env.HOME ?? homedir(), ".kube", "config")];
  const file = candidates.find((f) => existsSync(f));
  if (file) return fromKubeconfig(file, env, context);
  if (env.KUBERNETES_SERVICE_HOST && existsSync(join(serviceAccount, "token"))) {
    const host = env.KUBERNETES_SERVICE_HOST.includes(":") ? `[${env.KUBERNETES_SERVICE_HOST}]` : env.KUBERNETES_SERVICE_HOST;
    return {
      server: `https://${host}:${env.KUBERNETES_SERVICE_PORT ?? "443"}`,
      ca: readFileSync(join(serviceAccount, "ca.crt")),
      token: readFileSync(join(serviceAccount, "token"), "utf8").trim(),
      insecure: false,
      namespace: existsSync(join(serviceAccount, "namespace")) ? readFileSync(join(serviceAccount, "namespace"), "utf8").trim() : "default",
      source: "in-cluster (the pod's service account)",
    };
  }
  throw new KubeConfigError(`no kubeconfig (looked for ${candidates.join(", ")}) and not in a cluster: set KUBECONFIG or pass --kubeconfig`);
}

function fromKubeconfig(file: string, env: NodeJS.ProcessEnv, wanted?: string): KubeAccess {
  let config: KubeConfigFile;
  try {
    config = (parse(readFileSync(file, "utf8")) ?? {}) as KubeConfigFile;
  } catch (error) {
    throw new KubeConfigError(`${file} is not a kubeconfig: ${(error as Error).message}`);
  }
  const name = wanted ?? config["current-context"];
  if (!name) throw new KubeConfigError(`${file} has no current-context: pass --context`);
  const context = config.contexts?.find((c) => c.name === name)?.context;
  if (!context) throw new KubeConfigError(`${file} has no context ${name}`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new KubeConfigError(`${file}: context ${name} names cluster ${context.cluster}, which has no server`);
  const user = config.users?.find((u) => u.name === context.user)?.user ?? {};
  const base = dirname(file);
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(isAbsolute(path) ? path : join(base, path)));
  const data = (b64: string | undefined) => (b64 === undefined ? undefined : Buffer.from(b64, "base64"));
  const access: KubeAccess = {
    server: cluster.server.replace(/\/+$/, ""),
    ca: data(cluster["certificate-authority-data"]) ?? read(cluster["certificate-authority"]),
    cert: data(user["client-certificate-data"]) ?? read(user["client-certificate"]),
    key: data(user["client-key-data"]) ?? read(user["client-key"]),
    token: user.token ?? read(user.tokenFile)?.toString("utf8").trim(),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    namespace: context.namespace ?? "default",
    source: `${file}, context ${name}`,
  };
  if (user.exec) Object.assign(access, execCredential(user.exec, env));
  return access;
}

/** Runs a kubeconfig's exec plugin and takes the token or client certificate it prints. */
function execCredential(exec: { command: string; args?: string[]; env?: { name: string; value: string }[] }, env: NodeJS.ProcessEnv): Partial<KubeAccess> {
  let out: string;
  try {
    out = execFileSync(exec.command, exec.args ?? [], { env: { ...env, ...Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value])) }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 });
  } catch (error) {
    throw new KubeConfigError(`the kubeconfig's exec plugin ${exec.command} failed: ${(error as Error).message.split("\n")[0]}`);
  }
  const status = (JSON.parse(out) as { status?: { token?: string; clientCertificateData?: string; clientKeyData?: string } }).status ?? {};
  return {
    ...(status.token ? { token: status.token } : {}),
    ...(status.clientCertificateData ? { cert: Buffer.from(status.clientCertificateData) } : {}),
    ...(status.clientKeyData ? { key: Buffer.from(status.clientKeyData) } : {}),
  };
}

/** GETs of the API, as the access allows. */
export class Kube {
  constructor(
    readonly access: KubeAccess,
    private readonly timeoutMs = 10_000,
  ) {}

  /** The body of GET `path` as text; a KubeApiError for an error status. */
  text(path: string): Promise<string> {
    const { access } = this;
    const url = new URL(path, `${access.server}/`);
    const send = url.protocol === "http:" ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: "GET",
          headers: { accept: "application/json", ...(access.token ? { authorization: `Bearer ${access.token}` } : {}) },
          ...(url.protocol === "https:" ? { ca: access.ca, cert: access.cert, key: access.key, rejectUnauthorized: !access.insecure } : {}),
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) return resolve(body);
            let message = body.trim().slice(0, 300);
            try {
              // A Status object's message, or the reason a probe endpoint gives.
              const parsed = JSON.parse(body) as { message?: string; reason?: string; detail?: string };
              message = parsed.message ?? parsed.reason ?? parsed.detail ?? message;
            } catch {
              // not a Status object: the text as it came
            }
            reject(new KubeApiError(res.statusCode ?? 0, path, message));
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer from ${access.server} within ${this.timeoutMs} ms`)));
      req.on("error", reject);
      req.end();
    });
  }

  async get<T>(path: string): Promise<T> {
    return JSON.parse(await this.text(path)) as T;
  }

  /** The object, or undefined when the API says 404 (no such object, or no such kind installed). */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** The items of a list, across namespaces when `path` names none; a kind not installed lists nothing. */
  async list<T>(path: string, labelSelector?: string): Promise<T[]> {
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
    return (await this.find<{ items: T[] }>(`${path}${query}`))?.items ?? [];
  }
}

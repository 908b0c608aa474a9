// A local stand-in for the parts of the Kubernetes API a list-and-watch reader uses: collections by
// path, LIST with labelSelector and fieldSelector metadata.name, WATCH from a resourceVersion as a
// stream of JSON lines, 410 Gone for an expired watch, 403 and 404 for paths a test refuses; and
// GET, PATCH (a merge patch, or a JSON patch of add operations) and DELETE of one object by its
// path. Every change goes to the open watches of its collection. Loopback only.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Obj = { metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string } };

interface Watcher {
  path: string;
  name?: string;
  labels?: Record<string, string>;
  res: ServerResponse;
}

/** A JSON merge patch, applied in place: objects merge, anything else replaces, null deletes. */
function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(target, key);
    else if (typeof value === "object" && !Array.isArray(value) && typeof target[key] === "object" && target[key] !== null) mergeInto(target[key] as Record<string, unknown>, value as Record<string, unknown>);
    else target[key] = value;
  }
}

const parseSelector = (s: string | null) => (s ? Object.fromEntries(s.split(",").map((pair) => pair.split("=") as [string, string])) : undefined);

export class FakeKube {
  private readonly collections = new Map<string, Map<string, Obj>>();
  private readonly watchers = new Set<Watcher>();
  private readonly refused = new Map<string, number>();
  private version = 100;
  /** Requests seen, as method path?query. */
  readonly requests: string[] = [];
  private readonly server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const refusal = this.refused.get(url.pathname);
    if (refusal) return this.status(res, refusal, refusal === 403 ? `forbidden: cannot list ${url.pathname}` : "the server could not find the requested resource");
    const slash = url.pathname.lastIndexOf("/");
    const parent = url.pathname.slice(0, slash);
    if (!this.collections.has(url.pathname) && this.collections.has(parent)) {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => this.one(res, req.method ?? "GET", parent, url.pathname.slice(slash + 1), Buffer.concat(chunks).toString("utf8")));
      return;
    }
    const collection = this.collections.get(url.pathname);
    if (!collection) return this.status(res, 404, "the server could not find the requested resource");
    const name = url.searchParams.get("fieldSelector")?.replace(/^metadata\.name=/, "");
    const labels = parseSelector(url.searchParams.get("labelSelector"));
    if (url.searchParams.get("watch") === "1") {
      res.writeHead(200, { "content-type": "application/json" });
      const watcher: Watcher = { path: url.pathname, res, ...(name ? { name } : {}), ...(labels ? { labels } : {}) };
      this.watchers.add(watcher);
      res.on("close", () => this.watchers.delete(watcher));
      return;
    }
    const items = [...collection.values()].filter((o) => this.matches(o, name, labels));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "List", metadata: { resourceVersion: String(this.version) }, items }));
  });

  /** GET, PATCH or DELETE of one object of the collection `path`. */
  private one(res: ServerResponse, method: string, path: string, name: string, body: string) {
    const object = this.collections.get(path)?.get(name);
    if (!object) return this.status(res, 404, `${name} not found`);
    if (method === "DELETE") this.remove(path, name);
    if (method === "PATCH") {
      const patch = JSON.parse(body) as unknown;
      const changed = structuredClone(object) as Obj & Record<string, unknown>;
      if (Array.isArray(patch)) {
        for (const op of patch as { op: string; path: string; value: unknown }[]) {
          const parts = op.path.split("/").slice(1);
          const last = parts.pop() as string;
          const into = parts.reduce<Record<string, unknown>>((at, key) => at[key] as Record<string, unknown>, changed);
          if (op.op !== "add" || into === undefined) return this.status(res, 422, `cannot apply ${op.op} ${op.path}`);
          if (last === "-" && Array.isArray(into)) into.push(op.value);
          else into[last] = op.value;
        }
      } else mergeInto(changed, patch as Record<string, unknown>);
      this.put(path, changed);
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(this.collections.get(path)?.get(name) ?? object));
  }

  private status(res: ServerResponse, code: number, message: string) {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", status: "Failure", code, message }));
  }

  private matches(o: Obj, name: string | undefined, labels: Record<string, string> | undefined): boolean {
    if (name && o.metadata.name !== name) return false;
    return Object.entries(labels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig that points at this server, in a new temporary directory. */
  kubeconfig(namespace = "default"): string {
    const file = join(mkdtempSync(join(tmpdir(), "fake-kube-")), "config");
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: "v1", kind: "Config", "current-context": "fake", contexts: [{ name: "fake", context: { cluster: "fake", user: "fake", namespace } }], clusters: [{ name: "fake", cluster: { server: this.url } }], users: [{ name: "fake", user: { token: "test-token" } }] }),
    );
    return file;
  }

  /** Makes `path` a collection (empty at first): lists answer, watches stream. */
  serve(path: string): this {
    if (!this.collections.has(path)) this.collections.set(path, new Map());
    return this;
  }

  /** Answers every request of `path` with `status` (403: RBAC refuses; 404: the kind is not installed). */
  refuse(path: string, status: 403 | 404): this {
    this.refused.set(path, status);
    return this;
  }

  allow(path: string): this {
    this.refused.delete(path);
    return this;
  }

  /** Creates or replaces an object, and tells the watches of its collection. */
  put<T extends Obj>(path: string, object: T): T {
    this.serve(path);
    const collection = this.collections.get(path) as Map<string, Obj>;
    const type = collection.has(object.metadata.name) ? "MODIFIED" : "ADDED";
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.version);
    collection.set(object.metadata.name, stored as Obj);
    this.emit(path, type, stored);
    return stored;
  }

  remove(path: string, name: string): void {
    const collection = this.collections.get(path);
    const object = collection?.get(name);
    if (!collection || !object) return;
    collection.delete(name);
    object.metadata.resourceVersion = String(++this.version);
    this.emit(path, "DELETED", object);
  }

  /** Ends the watches of `path` with 410 Gone, as a server does when their version is too old. */
  expire(path: string): void {
    for (const w of [...this.watchers].filter((w) => w.path === path)) {
      w.res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" } })}\n`);
      this.watchers.delete(w);
    }
  }

  /** Open watches of `path`. */
  watching(path: string): number {
    return [...this.watchers].filter((w) => w.path === path).length;
  }

  private emit(path: string, type: string, object: Obj) {
    for (const w of this.watchers) {
      if (w.path === path && this.matches(object, w.name, w.labels)) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

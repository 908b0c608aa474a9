// A local stand-in for the parts of the Kubernetes API a list-and-watch reader uses: collections by
// path, LIST with labelSelector and fieldSelector metadata.name, WATCH from a resourceVersion as a
// stream of JSON lines, 410 Gone for an expired watch, 403 and 404 for paths a test refuses. Every
// change a test makes goes to the open watches of its collection. Loopback only.
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

// Who may do what on NATS: one user per tier, a guide user for the guide's
// `nats pub`, and an ops user for whoever runs the cluster. Each subject a user may publish or subscribe to is listed once,
// with why it needs it; the NATS configuration of `npm start`, of the tests and
// of the chart is rendered from this list, and the chart's docs show it.
import { queueNames, subjects } from "./contract.js";

export type NatsRole = "frontend" | "worker" | "provisioner" | "guide" | "ops";

export const natsRoles: readonly NatsRole[] = ["frontend", "worker", "provisioner", "guide", "ops"];

export interface Grant {
  subject: string;
  why: string;
}

export interface RolePermissions {
  publish: Grant[];
  /** Empty: the user may subscribe to nothing. */
  subscribe: Grant[];
}

/** The names the grants depend on: each deployment may rename them. */
export interface QueueNames {
  stream: string;
  consumer: string;
  request: string;
  response: string;
}

/** The names every deployment has unless it renames them. */
export const defaultQueueNames: QueueNames = { stream: queueNames.stream, consumer: queueNames.consumer, request: subjects.request, response: subjects.response };

/** What nobody but the server publishes: a client that could would forge advisories. */
export const SERVER_ONLY = "$JS.EVENT.>";

export function permissionsFor(n: QueueNames): Record<NatsRole, RolePermissions> {
  const api = (what: string, why: string): Grant => ({ subject: `$JS.API.${what}`, why });
  const manager = api("INFO", "opens a JetStream manager, which asks the server for JetStream first");
  const streamInfo = api(`STREAM.INFO.${n.stream}`, "checks at start that the stream exists");
  const consumerInfo = api(`CONSUMER.INFO.${n.stream}.${n.consumer}`, "checks at start that the consumer exists");
  const inbox: Grant = { subject: "_INBOX.>", why: "receives the answers of its requests to the server (API replies, publish acknowledgements, pulled messages)" };
  return {
    frontend: {
      publish: [
        { subject: n.request, why: "queues a submitted meme" },
        { subject: `${n.response}.>`, why: "answers a request that used up its deliveries as failed" },
        manager,
        { ...streamInfo, why: `${streamInfo.why}; the sweep reads the oldest stored request` },
        { ...consumerInfo, why: `${consumerInfo.why}; reads the lag (num_pending + num_ack_pending) once a second and the ack floor for the sweep` },
        api(`STREAM.MSG.GET.${n.stream}`, "reads a request that used up its deliveries, to answer it"),
        api(`STREAM.MSG.DELETE.${n.stream}`, "deletes a request that used up its deliveries"),
      ],
      subscribe: [
        { subject: `${n.response}.>`, why: "relays every result to its browsers" },
        { subject: subjects.heartbeat, why: "counts the live workers" },
        { subject: subjects.maxDeliveries(n.stream, n.consumer), why: "hears that a request used up its deliveries (a cue to sweep)" },
        inbox,
      ],
    },
    worker: {
      publish: [
        manager,
        streamInfo,
        { ...consumerInfo, why: `${consumerInfo.why} and reads its max_deliver` },
        api(`CONSUMER.MSG.NEXT.${n.stream}.${n.consumer}`, "pulls requests"),
        { subject: `$JS.ACK.${n.stream}.${n.consumer}.>`, why: "acknowledges, returns (nak), extends (working) and ends (term) the requests it pulled" },
        { subject: `${n.response}.>`, why: "publishes results" },
        { subject: subjects.heartbeat, why: "says it is alive and what it holds" },
      ],
      subscribe: [inbox],
    },
    provisioner: {
      publish: [
        manager,
        streamInfo,
        api(`STREAM.CREATE.${n.stream}`, "creates the stream"),
        api(`STREAM.UPDATE.${n.stream}`, "brings the stream's editable settings in line"),
        consumerInfo,
        api(`CONSUMER.CREATE.${n.stream}.>`, "creates or updates the consumer (the subject names the consumer and its filter)"),
        api(`CONSUMER.DURABLE.CREATE.${n.stream}.${n.consumer}`, "creates or updates the consumer on servers that use the older subject"),
      ],
      subscribe: [inbox],
    },
    guide: {
      publish: [{ subject: n.request, why: "the guide's `nats pub` loop that wakes the backend" }],
      subscribe: [],
    },
    ops: {
      publish: [
        manager,
        { ...streamInfo, why: "reads the stream: its messages, its replicas and which server leads it" },
        { ...consumerInfo, why: "reads the consumer: its lag, its replicas and which server leads it" },
        api(`STREAM.LEADER.STEPDOWN.${n.stream}`, "moves the stream's leadership to another server, before that server's maintenance"),
        api(`CONSUMER.LEADER.STEPDOWN.${n.stream}.${n.consumer}`, "moves the consumer's leadership to another server, before that server's maintenance"),
      ],
      subscribe: [inbox],
    },
  };
}

export interface NatsUser {
  user: string;
  /** Written as given: a literal (quoted) or a `$VARIABLE` the server reads from its environment. */
  password: string;
  /** Absent: every subject (only for a test's own observer). */
  permissions?: RolePermissions;
}

const quoted = (text: string) => JSON.stringify(text);

/** The `authorization` block of a nats-server configuration for these users. */
export function authorizationBlock(users: NatsUser[]): string {
  const lines = ["authorization {", "  users = ["];
  for (const u of users) {
    const password = /^\$[A-Z_][A-Z0-9_]*$/.test(u.password) ? u.password : quoted(u.password);
    const parts = [`user: ${quoted(u.user)}`, `password: ${password}`];
    if (u.permissions) {
      const list = (grants: Grant[]) => `[${grants.map((g) => quoted(g.subject)).join(", ")}]`;
      const publish = `publish: { allow: ${list(u.permissions.publish)}, deny: [${quoted(SERVER_ONLY)}] }`;
      const subscribe = u.permissions.subscribe.length > 0 ? `subscribe: { allow: ${list(u.permissions.subscribe)} }` : `subscribe: { deny: [">"] }`;
      parts.push(`permissions: { ${publish}, ${subscribe} }`);
    }
    lines.push(`    { ${parts.join(", ")} }`);
  }
  lines.push("  ]", "}");
  return `${lines.join("\n")}\n`;
}

/** The user a subcommand connects as when NATS_USER is empty. */
export const roleOf = { frontend: "frontend", backend: "worker", provision: "provisioner" } as const satisfies Record<string, NatsRole>;

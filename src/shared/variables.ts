// Every environment variable the program reads: one declaration each (rule,
// default, text), grouped, and which subcommands read which groups. The --help
// of each command, the docs' table and the check of the chart's env wiring all
// come from here.
import { queueNames, subjects } from "./contract.js";
import { boolean, bytes, integer, oneOf, string, url, urls } from "./env.js";

const name = { re: /^[A-Za-z0-9_-]{1,64}$/, rule: "must be 1–64 letters, digits, _ or - (a JetStream name)" };
const subject = { re: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, rule: "must be a NATS subject without wildcards, such as meme.request" };

export const common = {
  LOG_LEVEL: oneOf("Log level of the JSON logs on stdout.", "info", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
};

/** Where JetStream is and what the queue is called; shared by every command that talks to NATS. */
export const nats = {
  NATS_URL: urls("NATS server URL(s), comma-separated.", "nats://127.0.0.1:4222", ["nats", "tls"]),
  NATS_STREAM: string("JetStream stream that holds the requests.", queueNames.stream, name),
  NATS_CONSUMER: string("Durable pull consumer the workers share (and KEDA reads the lag of).", queueNames.consumer, name),
  NATS_REQUEST_SUBJECT: string("Subject the requests are published on.", subjects.request, subject),
  NATS_CONNECT_TIMEOUT: integer("Seconds to keep trying to reach NATS with JetStream at start before giving up.", 30, 1, 3600),
  NATS_USER: string("NATS user; empty: the subcommand's own (frontend, worker or provisioner), when NATS_PASSWORD is set.", "", { re: /^[A-Za-z0-9_-]{0,64}$/, rule: "must be up to 64 letters, digits, _ or -" }),
  NATS_PASSWORD: string("NATS password; empty connects without credentials (a NATS without users). The chart sets it by secretKeyRef from the NATS users Secret, the key named after the user.", ""),
};

/** The settings `provision` applies to the stream and the consumer. */
export const queue = {
  NATS_STREAM_REPLICAS: integer("Replicas of the stream (1, or up to the size of the NATS cluster).", 1, 1, 5),
  NATS_STREAM_MAX_BYTES: bytes("Size limit of the stream; publishes are refused past it.", "256Mi", 2 ** 20, 2 ** 40),
  NATS_MAX_MSG_SIZE: bytes("Largest request message the stream accepts.", "64Ki", 2 ** 10, 8 * 2 ** 20),
  NATS_ACK_WAIT: integer("Seconds a worker has to acknowledge a request before it is redelivered.", 30, 1, 3600),
  NATS_MAX_DELIVER: integer("Deliveries of a request before it is answered as failed and deleted.", 5, 1, 100),
};

export const redis = {
  REDIS_URL: url("Redis URL (redis:// or rediss://); the password, if any, comes from REDIS_PASSWORD.", "redis://127.0.0.1:6379", ["redis", "rediss"]),
  REDIS_PASSWORD: string("Redis password; empty for none. The chart sets it by secretKeyRef from the Redis password Secret (key password) or redis.external.passwordSecret.", ""),
  CACHE_TTL: integer("Seconds results and images stay in Redis; a cache hit refreshes both.", 3600, 60, 2592000),
};

/** What the frontend and the workers share beyond NATS and Redis. */
export const service = {
  NATS_RESPONSE_SUBJECT: string("Prefix of the result subjects: results go to <prefix>.<id>.", subjects.response, subject),
  METRICS_PORT: integer("Port of /metrics, /healthz and /readyz (each process sets its own).", 9090, 1, 65535),
};

export const worker = {
  WORKER_CONCURRENCY: integer("Requests one worker process holds at once; while they hit the cache it holds up to 16 times as many.", 4, 1, 256),
  RENDER_THREADS: integer("Render threads; 0 uses one per CPU the process may use (its cgroup quota).", 0, 0, 64),
  SHUTDOWN_TIMEOUT: integer("Seconds a stopping worker waits for what it holds before returning it to the queue.", 20, 1, 3600),
};

export const frontend = {
  PORT: integer("HTTP port of the API, the server-sent events and the web UI.", 8080, 1, 65535),
  RATE_LIMIT_PER_MINUTE: integer("Memes one client address may submit per minute; 0 turns the limit off.", 0, 0, 100000),
  BURST_MAX: integer("Largest burst the web UI's burst control may submit; 0 hides the control.", 50, 0, 1000),
  MAX_INFLIGHT_REQUESTS: integer("HTTP requests handled at once before new ones are shed with 503 (event streams and the probes excluded); a request gives its slot back however it ends, aborted too.", 500, 1, 100000),
  MAX_EVENT_STREAMS: integer("Event streams (/api/events) one frontend serves at once; one more is a 503 with Retry-After.", 1000, 1, 100000),
  REQUEST_TIMEOUT: integer("Seconds a client has to send a whole request, headers and body; a slower one gets 408 and its connection is closed.", 10, 1, 300),
  TRUST_PROXY: integer("Proxy hops in front of the frontend whose X-Forwarded-For names the client (1 behind one Ingress); 0 trusts none and the client is the connection's peer.", 0, 0, 10),
  SHUTDOWN_DELAY: integer("Seconds a stopping frontend stays up but unready, so load balancers stop sending before it closes.", 5, 0, 300),
};

const target = { re: /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?)?$/, rule: "must be namespace/name, or empty" };
const selector = { re: /^([A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*(,[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*)*)?$/, rule: "must be key=value pairs separated by commas, or empty" };

/** The web UI's scaling view: what the frontend watches through the Kubernetes API. */
export const scalingView = {
  SCALING_VIEW: boolean("Watch the autoscalers below through the Kubernetes API (the pod's service account, or $KUBECONFIG) and show them in the web UI's scaling lanes; off, the lanes say what they would show.", false),
  SCALING_FRONTEND_HPA: string("The frontend's HorizontalPodAutoscaler the view follows, as namespace/name; empty: none.", "", target),
  SCALING_FRONTEND_PODS: string("Label selector of the frontend's pods.", "", selector),
  SCALING_BACKEND_SCALEDOBJECT: string("The backend's KEDA ScaledObject, as namespace/name; empty: none.", "", target),
  SCALING_BACKEND_PODS: string("Label selector of the workers' pods.", "", selector),
  SCALING_REDIS_VPA: string("The Redis VerticalPodAutoscaler, as namespace/name; empty: none.", "", target),
  SCALING_REDIS_PODS: string("Label selector of Redis's pods.", "", selector),
};

export const smoke = {
  FRONTEND_URL: string("Frontend the smoke check submits to, e.g. http://meme-generator-frontend.meme-generator.svc.", "http://localhost:8080", {
    re: /^https?:\/\/[^\s/]+(\/.*)?$/,
    rule: "must be an http:// or https:// URL",
  }),
  SMOKE_TIMEOUT: integer("Seconds the smoke check waits for its meme (a backend at zero must first be woken by KEDA).", 120, 1, 3600),
};

const paths = { re: /^\[.*\]$|^$/s, rule: "must be a JSON list" };

/** An upgrade's data move (the chart's hook Jobs): where the old tiers are, what of theirs to keep and then delete. */
export const move = {
  MOVE_FROM_NATS_URL: string("The old NATS, when the upgrade moves NATS; empty: NATS stays.", "", { re: /^((nats|tls):\/\/\S+)?$/, rule: "must be a nats:// or tls:// URL, or empty" }),
  MOVE_FROM_NATS_USER: string("The old NATS's user the move reads and deletes the old stream's messages as.", "frontend", { re: /^[A-Za-z0-9_-]{1,64}$/, rule: "must be 1–64 letters, digits, _ or -" }),
  MOVE_FROM_NATS_PASSWORD: string("That user's password; empty connects without credentials.", ""),
  MOVE_FROM_STREAM: string("The old NATS's request stream.", queueNames.stream, name),
  MOVE_FROM_REDIS_URL: string("The old Redis, when the upgrade moves Redis; empty: Redis stays.", "", { re: /^(rediss?:\/\/\S+)?$/, rule: "must be a redis:// or rediss:// URL, or empty" }),
  MOVE_FROM_REDIS_PASSWORD: string("The old Redis's password; empty for none.", ""),
  MOVE_FROM_NATS_OBJECT: string("API path of the old NATS's workload: when it is gone, so is its data, and there is nothing to move.", ""),
  MOVE_FROM_REDIS_OBJECT: string("API path of the old Redis's workload (StatefulSet or Redis resource), likewise.", ""),
  MOVE_LAYOUT: string("API path of the release's layout ConfigMap, whose pendingMove the move removes once done; empty: none.", ""),
  MOVE_OBJECTS: string("The old tiers' objects, as a JSON list of API paths: kept through the upgrade, deleted after the move.", "[]", paths),
  MOVE_POLICIES: string("The old tiers' NetworkPolicies, as a JSON list of API paths: each admits MOVE_PEER before the upgrade.", "[]", paths),
  MOVE_PEER: string("The NetworkPolicy peer (JSON) that selects the move's own pods.", "{}", { re: /^\{.*\}$/s, rule: "must be a JSON object" }),
  MOVE_NAMESPACES: string("Namespaces whose pods are waited for, as a JSON list: none may still use an old tier when the move begins.", "[]", paths),
  MOVE_PODS: string("Label selector of those pods (the release's).", "", selector),
  MOVE_WAIT: integer("Seconds to wait for the pods of the old revision to stop using the old tiers; pods still using one after it stop the move (the chart sets upgrade.moveWaitSeconds).", 120, 0, 3600),
};

export const groups = { common, nats, queue, redis, service, worker, frontend, scalingView, smoke, move } as const;

/** What each subcommand reads; `readEnv(commandVariables.frontend)` is the frontend's whole configuration. */
export const commandVariables = {
  frontend: { ...common, ...nats, ...queue, ...redis, ...service, ...frontend, ...scalingView },
  backend: { ...common, ...nats, ...queue, ...redis, ...service, ...worker },
  provision: { ...common, ...nats, ...queue },
  smoke,
  start: { ...common, ...nats, ...redis, PORT: frontend.PORT },
  load: {},
  doctor: {},
  "move-data": { ...common, NATS_URL: nats.NATS_URL, NATS_REQUEST_SUBJECT: nats.NATS_REQUEST_SUBJECT, NATS_CONNECT_TIMEOUT: nats.NATS_CONNECT_TIMEOUT, NATS_USER: nats.NATS_USER, NATS_PASSWORD: nats.NATS_PASSWORD, REDIS_URL: redis.REDIS_URL, REDIS_PASSWORD: redis.REDIS_PASSWORD, ...move },
} as const;

export type CommandName = keyof typeof commandVariables;

/** The chart value each variable the chart sets comes from; its schema's default and bounds must be the variable's. */
export const chartValues = {
  LOG_LEVEL: "logLevel",
  NATS_STREAM: "queue.stream",
  NATS_CONSUMER: "queue.consumer",
  NATS_REQUEST_SUBJECT: "queue.requestSubject",
  NATS_RESPONSE_SUBJECT: "queue.responseSubject",
  NATS_STREAM_REPLICAS: "queue.replicas",
  NATS_STREAM_MAX_BYTES: "queue.maxBytes",
  NATS_MAX_MSG_SIZE: "queue.maxMsgSize",
  NATS_ACK_WAIT: "queue.ackWaitSeconds",
  NATS_MAX_DELIVER: "queue.maxDeliver",
  NATS_CONNECT_TIMEOUT: "provisioner.connectTimeoutSeconds",
  CACHE_TTL: "cache.ttlSeconds",
  RATE_LIMIT_PER_MINUTE: "frontend.settings.rateLimitPerMinute",
  BURST_MAX: "frontend.settings.burstMax",
  TRUST_PROXY: "frontend.settings.trustedProxyHops",
  WORKER_CONCURRENCY: "backend.settings.concurrency",
} as const;

/** The subcommands that read a variable. */
export function readers(name: string): CommandName[] {
  return (Object.keys(commandVariables) as CommandName[]).filter((command) => name in commandVariables[command]);
}

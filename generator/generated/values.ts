// Generated from schemas/values.schema.json by `npm run gen-values -- --all`. Do not edit.

/**
 * A DNS label: lower-case letters, digits and -, at most 63 characters.
 */
export type DnsName = string;
export type Capability = "auto" | "present" | "absent";
/**
 * A DNS label, or empty for the derived name.
 */
export type OptionalName = string;
/**
 * A JetStream stream or consumer name: letters, digits, _ and -.
 */
export type JetstreamName = string;
/**
 * A NATS subject without wildcards.
 */
export type Subject = string;
/**
 * A memory quantity such as 64Mi, 1Gi or 500M.
 */
export type Memory = string | number;
/**
 * A CPU quantity such as 250m, 0.5 or 2.
 */
export type Cpu = string | number;
/**
 * A port a container listens on: 1024 or above, since the chart's containers run as a user without capabilities.
 */
export type ContainerPort = number;
export type Port = number;
/**
 * Extra environment variables of the container (Kubernetes EnvVar list).
 */
export type ExtraEnv = {
  name: string;
  [k: string]: unknown;
}[];
/**
 * Kubernetes tolerations, passed through.
 */
export type Tolerations = {
  [k: string]: unknown;
}[];
/**
 * Kubernetes topology spread constraints, passed through; an empty labelSelector gets the component's selector labels.
 */
export type TopologySpreadConstraints = {
  [k: string]: unknown;
}[];
/**
 * A duration such as 30s, 5m or 1h30m.
 */
export type Duration = string;

/**
 * Values of the meme-generator umbrella chart. The frontend scales by HPA, the backend by KEDA on the JetStream queue lag, Redis by VPA.
 */
export interface Values {
  /**
   * Replaces the chart name in derived object names.
   */
  nameOverride: string;
  /**
   * Replaces the release-chart prefix of derived object names.
   */
  fullnameOverride: string;
  /**
   * DNS domain of the cluster, used in the service addresses the chart derives (KEDA's NATS monitoring endpoint, NATS routes).
   */
  clusterDomain: string;
  /**
   * Log level of the frontend, the workers and the provisioner (LOG_LEVEL).
   */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace";
  image: Image;
  /**
   * Secrets for pulling images from a private registry, as [{name: ...}].
   */
  imagePullSecrets: {
    name: DnsName;
    [k: string]: unknown;
  }[];
  /**
   * Whether the APIs of optional operators exist. auto asks the cluster (.Capabilities.APIVersions); present and absent override it, e.g. for helm template without a cluster.
   */
  capabilities: {
    keda: Capability;
    vpa: Capability;
    redisOperator: Capability;
    prometheusOperator: Capability;
  };
  /**
   * Where each tier runs. An empty name means the release namespace.
   */
  namespaces: {
    app: OptionalName;
    messaging: OptionalName;
    cache: OptionalName;
    /**
     * Namespaces the chart creates and labels.
     */
    create: {
      /**
       * Create the named namespaces that differ from the release namespace.
       */
      enabled: boolean;
      labels: StringMap;
      /**
       * Keep the created namespaces (and what else is in them) when the release is uninstalled.
       */
      keepOnUninstall: boolean;
    };
  };
  /**
   * The JetStream stream and durable consumer that carry the requests; the provisioner applies these settings.
   */
  queue: {
    stream: JetstreamName;
    consumer: JetstreamName;
    requestSubject: Subject;
    responseSubject: Subject;
    /**
     * Replicas of the stream; at most nats.replicas.
     */
    replicas: number;
    maxBytes: Memory;
    maxMsgSize: Memory;
    /**
     * Seconds a worker has to acknowledge a request before it is redelivered.
     */
    ackWaitSeconds: number;
    /**
     * Deliveries of a request before it is answered as failed and deleted.
     */
    maxDeliver: number;
  };
  /**
   * What the services keep in Redis.
   */
  cache: {
    /**
     * Lifetime of results and images; a cache hit refreshes both (CACHE_TTL).
     */
    ttlSeconds: number;
  };
  /**
   * The fastify frontend: HTTP API, web UI and server-sent events. Scaled by an HPA on CPU and memory.
   */
  frontend: {
    name: OptionalName;
    /**
     * Replicas when the HPA is disabled (an HPA owns the count otherwise).
     */
    replicas: number;
    podLabels: StringMap;
    podAnnotations: StringMap;
    resources: Resources;
    podSecurityContext: PodSecurityContext;
    containerSecurityContext: ContainerSecurityContext;
    probes: Probes;
    /**
     * The ports the frontend's container listens on; its Services, probes, NetworkPolicies and monitors take them from here.
     */
    ports: {
      http: ContainerPort;
      metrics: ContainerPort;
    };
    /**
     * The frontend Service.
     */
    service: {
      /**
       * Service type.
       */
      type: "ClusterIP" | "NodePort" | "LoadBalancer";
      port: Port;
      annotations: StringMap;
    };
    /**
     * An optional Ingress in front of the Service.
     */
    ingress: {
      /**
       * Render the Ingress.
       */
      enabled: boolean;
      /**
       * IngressClass name; empty uses the cluster's default class.
       */
      className: string;
      /**
       * Host name the Ingress answers.
       */
      host: string;
      annotations: StringMap;
      tlsSecretName: OptionalName;
    };
    pdb: Pdb;
    /**
     * Behaviour of the frontend.
     */
    settings: {
      /**
       * Requests to POST /api/memes per client address and minute; 0 turns the limit off (a demo's load tests all come from one address).
       */
      rateLimitPerMinute: number;
      /**
       * Largest burst the web UI's burst control may submit; 0 hides the control.
       */
      burstMax: number;
      /**
       * Proxies in front of the frontend whose X-Forwarded-For names the client (TRUST_PROXY); null: 1 while ingress.enabled, else 0 (the client is the connection's peer). Set it to the number of proxies between the client and the pods, so no client can pick its own address.
       */
      trustedProxyHops: number | null;
    };
    /**
     * The web UI's scaling view: the frontend watches its HPA, the backend's ScaledObject and the HPA KEDA made for it, the Redis VPA, the pods of the three tiers and their events through the Kubernetes API, and shows each autoscaler's numbers and its last decision explained. On, the frontend's ServiceAccount token is mounted and namespaced read-only Roles allow exactly those reads; with NetworkPolicies on, networkPolicy.apiServer.peers must name the API server.
     */
    scalingView: {
      /**
       * Watch the autoscalers and show them in the web UI; off, the lanes say what they would show.
       */
      enabled: boolean;
    };
    extraEnv: ExtraEnv;
    nodeSelector: NodeSelector;
    tolerations: Tolerations;
    affinity: Affinity;
    topologySpreadConstraints: TopologySpreadConstraints;
    /**
     * Time to drain on shutdown: unready, short drain, close.
     */
    terminationGracePeriodSeconds: number;
    /**
     * Autoscaling of the frontend.
     */
    autoscaling: {
      /**
       * HorizontalPodAutoscaler (autoscaling/v2) on CPU and, optionally, memory utilization.
       */
      hpa: {
        /**
         * Render the HPA.
         */
        enabled: boolean;
        name: OptionalName;
        /**
         * Fewest replicas (at least 1: an HPA cannot hold zero).
         */
        minReplicas: number;
        /**
         * Most replicas.
         */
        maxReplicas: number;
        /**
         * Average CPU use, as a percentage of the CPU request, that the HPA aims for; 0 drops the CPU metric.
         */
        targetCPUUtilizationPercentage: number;
        /**
         * Average memory use, as a percentage of the memory request; 0 drops the memory metric. A Node.js heap rarely shrinks, and the HPA follows the highest metric, so a memory target can hold replicas up.
         */
        targetMemoryUtilizationPercentage: number;
        behavior: HpaBehavior;
      };
    };
  };
  /**
   * The JetStream worker that renders memes. Scaled by KEDA on the queue lag, down to zero.
   */
  backend: {
    name: OptionalName;
    /**
     * Replicas when no autoscaler owns the Deployment.
     */
    replicas: number;
    podLabels: StringMap;
    podAnnotations: StringMap;
    resources: Resources;
    podSecurityContext: PodSecurityContext;
    containerSecurityContext: ContainerSecurityContext;
    probes: Probes;
    /**
     * The ports the worker's container listens on; its Service, probes, NetworkPolicy and monitor take them from here.
     */
    ports: {
      metrics: ContainerPort;
    };
    /**
     * The metrics Service of the workers.
     */
    service: {
      port: Port;
      annotations: StringMap;
    };
    pdb: Pdb;
    /**
     * Behaviour of the worker.
     */
    settings: {
      /**
       * Requests one worker process holds at once; up to 16 times as many while they hit the cache (WORKER_CONCURRENCY).
       */
      concurrency: number;
    };
    extraEnv: ExtraEnv;
    nodeSelector: NodeSelector;
    tolerations: Tolerations;
    affinity: Affinity;
    topologySpreadConstraints: TopologySpreadConstraints;
    /**
     * Time a worker has on scale-down to finish or return what it holds, then drain.
     */
    terminationGracePeriodSeconds: number;
    /**
     * Autoscaling of the backend.
     */
    autoscaling: {
      /**
       * KEDA ScaledObject with the nats-jetstream trigger: replicas = ceil(lag / lagThreshold), where lag = num_pending + num_ack_pending of the consumer.
       */
      keda: {
        /**
         * Render the ScaledObject.
         */
        enabled: boolean;
        name: OptionalName;
        /**
         * Fewest replicas; 0 lets the backend sleep while the queue is empty.
         */
        minReplicaCount: number;
        /**
         * Most replicas.
         */
        maxReplicaCount: number;
        /**
         * Seconds between KEDA's reads of the lag.
         */
        pollingInterval: number;
        /**
         * Seconds after the last active read before KEDA scales to minReplicaCount when that is 0.
         */
        cooldownPeriod: number;
        /**
         * Target lag per replica.
         */
        lagThreshold: number;
        /**
         * KEDA wakes the backend from zero when the lag is strictly greater than this; 0 wakes it for one message.
         */
        activationLagThreshold: number;
        /**
         * NATS account of the stream: $G unless NATS accounts are configured.
         */
        account: string;
        /**
         * host:port of NATS monitoring that KEDA reads /jsz from; empty derives it from the chart's NATS Service (or nats.external).
         */
        monitoringEndpoint: string;
        behavior: HpaBehavior;
        /**
         * What the HPA KEDA made holds the backend at while the lag cannot be read (NATS monitoring unreachable, the stream or consumer missing): after more than failureThreshold failed reads in a row, the replicas by behavior. Without it the backend stays at the count the error found. It acts through that HPA, which stands still at 0 replicas: a backend asleep when the reads begin to fail stays asleep.
         */
        fallback: {
          /**
           * Render the ScaledObject's fallback block.
           */
          enabled: boolean;
          /**
           * Failed reads of the lag in a row the fallback waits out; it takes over on the next.
           */
          failureThreshold: number;
          /**
           * Replicas while the lag cannot be read.
           */
          replicas: number;
          /**
           * static: exactly replicas; currentReplicas: keep the count the error found; currentReplicasIfHigher: the higher of the two; currentReplicasIfLower: the lower.
           */
          behavior: "static" | "currentReplicas" | "currentReplicasIfHigher" | "currentReplicasIfLower";
        };
        /**
         * What to do when KEDA's API is absent: hpa renders a CPU HPA from autoscaling.hpa (min 1), skip leaves the Deployment at its replicas, fail stops the install.
         */
        whenUnavailable: "hpa" | "skip" | "fail";
      };
      /**
       * CPU HPA of the backend, used when KEDA is disabled and this is enabled, or when KEDA is absent and keda.whenUnavailable is hpa.
       */
      hpa: {
        /**
         * Render the HPA when KEDA is disabled.
         */
        enabled: boolean;
        name: OptionalName;
        /**
         * Fewest replicas (an HPA cannot hold zero).
         */
        minReplicas: number;
        /**
         * Most replicas.
         */
        maxReplicas: number;
        /**
         * Average CPU use, as a percentage of the request, that the HPA aims for.
         */
        targetCPUUtilizationPercentage: number;
        behavior: HpaBehavior;
      };
    };
  };
  /**
   * The Job that creates and reconciles the stream and the consumer, so they exist while the backend sits at zero: a plain Job of the release named after its pod template (a change of image or queue settings runs a new one).
   */
  provisioner: {
    /**
     * Run the provisioner Job.
     */
    enabled: boolean;
    resources: Resources;
    podSecurityContext: PodSecurityContext;
    containerSecurityContext: ContainerSecurityContext;
    /**
     * Seconds to wait for NATS with JetStream (NATS_CONNECT_TIMEOUT).
     */
    connectTimeoutSeconds: number;
    /**
     * Retries of the Job before it fails the install.
     */
    backoffLimit: number;
    /**
     * Time limit of the Job.
     */
    activeDeadlineSeconds: number;
    extraEnv: ExtraEnv;
    nodeSelector: NodeSelector;
    tolerations: Tolerations;
    affinity: Affinity;
  };
  /**
   * NATS with JetStream, run by the chart (a StatefulSet) or an existing one (enabled: false with external).
   */
  nats: {
    /**
     * Run NATS in this release; false uses nats.external.
     */
    enabled: boolean;
    name: OptionalName;
    image: Image;
    /**
     * NATS servers: 1, or 3 or 5 for a JetStream cluster with routes on port 6222 (with users, the servers route as the user route with its own password).
     */
    replicas: 1 | 3 | 5;
    /**
     * NATS users: one per tier (frontend, worker, provisioner) with only the subjects it needs, a guide user that may only publish requests, and an ops user that may read the stream and the consumer and move their leaders (docs/security.md lists every grant).
     */
    auth: {
      /**
       * Require the users; false lets any client of the cluster do anything on NATS.
       */
      enabled: boolean;
      existingSecret: OptionalName;
    };
    podLabels: StringMap;
    podAnnotations: StringMap;
    resources: Resources;
    podSecurityContext: PodSecurityContext;
    containerSecurityContext: ContainerSecurityContext;
    /**
     * Client and monitoring ports of the NATS Services (client Service and headless Service).
     */
    service: {
      clientPort: Port;
      monitorPort: Port;
      clusterPort: Port;
      annotations: StringMap;
    };
    /**
     * JetStream storage.
     */
    jetstream: {
      /**
       * File storage, where the stream keeps its requests.
       */
      fileStore: {
        /**
         * Store directory in the container.
         */
        dir: string;
        maxSize: Memory;
        /**
         * PersistentVolumeClaim per server; disabled keeps the store in an emptyDir (lost on restart).
         */
        pvc: {
          /**
           * Claim a volume for the store.
           */
          enabled: boolean;
          size: Memory;
          /**
           * StorageClass of the claim; empty uses the cluster's default.
           */
          storageClassName: string;
        };
      };
      /**
       * Memory storage for streams that ask for it (the request stream uses files).
       */
      memoryStore: {
        /**
         * Allow memory storage.
         */
        enabled: boolean;
        maxSize: Memory;
      };
    };
    /**
     * Seconds a stopping server spends in lame-duck mode, moving clients away (nats-server takes 30 at least); the grace period is longer.
     */
    lameDuckDurationSeconds: number;
    /**
     * Grace period of the pods; must exceed lameDuckDurationSeconds.
     */
    terminationGracePeriodSeconds: number;
    pdb: Pdb;
    /**
     * prometheus-nats-exporter sidecar, scraped by a PodMonitor, for the nats_jetstream_* metrics.
     */
    exporter: {
      /**
       * Run the exporter sidecar.
       */
      enabled: boolean;
      image: Image;
      port: Port;
      resources: Resources;
    };
    /**
     * An existing NATS with JetStream, used when enabled is false.
     */
    external: {
      /**
       * Client URL(s), comma-separated, e.g. nats://nats.messaging.svc:4222.
       */
      url: string;
      /**
       * host:port of its HTTP monitoring, for KEDA.
       */
      monitoringEndpoint: string;
    };
    nodeSelector: NodeSelector;
    tolerations: Tolerations;
    affinity: Affinity;
    topologySpreadConstraints: TopologySpreadConstraints;
  };
  /**
   * The cache: the opstree Redis operator's resource, the chart's own StatefulSet, or an existing Redis. Sized by a VPA.
   */
  redis: {
    /**
     * operator renders an opstree Redis resource; standalone the chart's own StatefulSet; external uses redis.external.
     */
    mode: "operator" | "standalone" | "external";
    name: OptionalName;
    image: Image;
    podLabels: StringMap;
    podAnnotations: StringMap;
    resources: Resources;
    podSecurityContext: PodSecurityContext;
    containerSecurityContext: ContainerSecurityContext;
    /**
     * Redis's password (requirepass), which the frontend, the workers, the exporter and the probes use.
     */
    auth: {
      /**
       * Require the password; false lets any client of the cluster read, replace or flush the cache.
       */
      enabled: boolean;
      existingSecret: OptionalName;
    };
    probes: Probes;
    /**
     * The Redis Service.
     */
    service: {
      port: Port;
      annotations: StringMap;
    };
    /**
     * maxmemory as a percentage of the container's memory limit: computed at start in standalone mode, the operator's maxMemoryPercentOfLimit in operator mode.
     */
    maxmemoryPercent: number;
    /**
     * Eviction policy when maxmemory is reached.
     */
    maxmemoryPolicy:
      | "allkeys-lru"
      | "allkeys-lfu"
      | "volatile-lru"
      | "volatile-lfu"
      | "volatile-ttl"
      | "allkeys-random"
      | "volatile-random"
      | "noeviction";
    /**
     * Persistence of the cache.
     */
    persistence: {
      /**
       * Keep an append-only file on a PersistentVolumeClaim; disabled keeps nothing across restarts.
       */
      enabled: boolean;
      size: Memory;
      /**
       * StorageClass of the claim; empty uses the cluster's default.
       */
      storageClassName: string;
    };
    /**
     * redis_exporter sidecar of standalone mode (operator mode uses the operator's exporter).
     */
    exporter: {
      /**
       * Run the exporter sidecar.
       */
      enabled: boolean;
      image: Image;
      port: Port;
      resources: Resources;
    };
    /**
     * Images of operator mode (opstree's redis and redis-exporter images).
     */
    operator: {
      image: Image;
      exporterImage: Image;
    };
    /**
     * An existing Redis, used in external mode.
     */
    external: {
      /**
       * redis:// or rediss:// URL without the password.
       */
      url: string;
      /**
       * Existing Secret holding the password; empty name means no password.
       */
      passwordSecret: {
        name: OptionalName;
        /**
         * Key in the Secret.
         */
        key: string;
      };
    };
    nodeSelector: NodeSelector;
    tolerations: Tolerations;
    affinity: Affinity;
    /**
     * Autoscaling of Redis.
     */
    autoscaling: {
      /**
       * VerticalPodAutoscaler on the Redis StatefulSet (in operator mode, the one the operator creates), scoped to the redis container.
       */
      vpa: {
        /**
         * Render the VPA.
         */
        enabled: boolean;
        name: OptionalName;
        /**
         * Off only recommends; Initial sets resources at pod creation; Recreate evicts pods to apply them; InPlaceOrRecreate (VPA >= 1.5, Kubernetes >= 1.33) resizes in place when it can. Auto is deprecated since VPA 1.5.
         */
        updateMode: "Off" | "Initial" | "Recreate" | "InPlaceOrRecreate";
        minAllowed: ResourceList;
        maxAllowed: ResourceList;
        /**
         * Resources the VPA adjusts.
         *
         * @minItems 1
         */
        controlledResources: ["cpu" | "memory", ...("cpu" | "memory")[]];
        /**
         * RequestsAndLimits scales limits with requests; RequestsOnly keeps the limits (operator mode needs it: the operator derives maxmemory from the limit it set).
         */
        controlledValues: "RequestsAndLimits" | "RequestsOnly";
      };
    };
  };
  /**
   * prometheus-operator objects and a Grafana dashboard.
   */
  monitoring: {
    /**
     * Render ServiceMonitors, the PodMonitor, the PrometheusRule and the dashboard ConfigMap (when the API is present).
     */
    enabled: boolean;
    labels: StringMap;
    interval: Duration;
    namespace: DnsName;
    /**
     * PrometheusRule alerts.
     */
    rules: {
      /**
       * Render the PrometheusRule.
       */
      enabled: boolean;
      /**
       * Queue lag that counts as a backlog.
       */
      backlogThreshold: number;
      backlogFor: Duration;
    };
    /**
     * Grafana dashboard ConfigMap, picked up by Grafana's sidecar.
     */
    dashboard: {
      /**
       * Render the dashboard ConfigMap.
       */
      enabled: boolean;
      labels: StringMap;
    };
  };
  /**
   * NetworkPolicies that allow only the traffic the tiers need.
   */
  networkPolicy: {
    /**
     * Render the NetworkPolicies (the local profile leaves them out: many laptop clusters cannot enforce them).
     */
    enabled: boolean;
    kedaNamespace: DnsName;
    redisOperatorNamespace: DnsName;
    /**
     * Where every pod that sends traffic may resolve names (port 53, UDP and TCP), as NetworkPolicy peers; the default is CoreDNS or kube-dns by its usual label in any namespace.
     *
     * @minItems 1
     */
    dnsPeers: [NetworkPolicyPeer, ...NetworkPolicyPeer[]];
    /**
     * Egress of the frontend to the Kubernetes API server. NetworkPolicies see the API server's own address and port, not the kubernetes Service's, so name them here (e.g. an ipBlock of the control plane and port 6443).
     */
    apiServer: {
      /**
       * The API server as NetworkPolicy peers; empty allows the frontend no traffic to it (the Jobs of an upgrade's data move, which need it, may then reach any address on these ports).
       */
      peers: NetworkPolicyPeer[];
      /**
       * Its ports.
       *
       * @minItems 1
       */
      ports: [Port, ...Port[]];
    };
  };
  /**
   * What an upgrade may do to the release it upgrades.
   */
  upgrade: {
    /**
     * When an upgrade puts NATS or Redis in another namespace (as switching from the default profile to demo does), carry their data over: hook Jobs keep the old ones through the upgrade, then move the requests still queued and copy every key the new Redis lacks, and delete the old ones. Needs the Kubernetes API from the Jobs' pods (networkPolicy.apiServer.peers, or anywhere on its ports when none are named).
     */
    moveData: boolean;
    /**
     * Seconds the data move waits for the pods of the old revision to stop using the old tiers (the workers' grace is 60 s); pods still using them after this stop the move, which leaves the old tiers as they are. The move Job's deadline is this plus 120 s: give helm upgrade a --timeout above it (the default 5m suits the default wait).
     */
    moveWaitSeconds: number;
    /**
     * Let an upgrade move NATS or Redis where their data cannot be carried over (another name or Redis mode in the same namespace, to or from an external one, or with moveData off). Helm then deletes the old ones with the requests still queued and the memes made so far; without this the upgrade stops and says what would move.
     */
    allowDataTierMove: boolean;
  };
  /**
   * The helm test pod, which runs the smoke command against the frontend.
   */
  tests: {
    /**
     * Render the helm test pod.
     */
    enabled: boolean;
  };
}
export interface Image {
  /**
   * Image repository.
   */
  repository: string;
  /**
   * Image tag; empty uses the chart's appVersion (application image only).
   */
  tag: string;
  /**
   * Image pull policy.
   */
  pullPolicy: "Always" | "IfNotPresent" | "Never";
}
export interface StringMap {
  [k: string]: string;
}
/**
 * Kubernetes ResourceRequirements limited to cpu and memory.
 */
export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}
export interface ResourceList {
  cpu?: Cpu;
  memory?: Memory;
}
/**
 * Kubernetes PodSecurityContext, passed through.
 */
export interface PodSecurityContext {
  [k: string]: unknown;
}
/**
 * Kubernetes SecurityContext, passed through.
 */
export interface ContainerSecurityContext {
  [k: string]: unknown;
}
export interface Probes {
  liveness: Probe;
  readiness: Probe;
}
export interface Probe {
  /**
   * Run the probe.
   */
  enabled: boolean;
  /**
   * Delay before the first probe.
   */
  initialDelaySeconds: number;
  /**
   * Seconds between probes.
   */
  periodSeconds: number;
  /**
   * Seconds before a probe times out.
   */
  timeoutSeconds: number;
  /**
   * Failures in a row that count as failed.
   */
  failureThreshold: number;
}
export interface Pdb {
  /**
   * Render the PodDisruptionBudget when it can be satisfied.
   */
  enabled: boolean;
  /**
   * Pods that must stay available during voluntary disruptions.
   */
  minAvailable: number;
}
/**
 * Node labels the pods must run on.
 */
export interface NodeSelector {
  [k: string]: string;
}
/**
 * Kubernetes affinity, passed through.
 */
export interface Affinity {
  [k: string]: unknown;
}
/**
 * Kubernetes HorizontalPodAutoscalerBehavior, passed through.
 */
export interface HpaBehavior {
  /**
   * How the HPA scales up (stabilizationWindowSeconds, selectPolicy, policies).
   */
  scaleUp: {
    [k: string]: unknown;
  };
  /**
   * How the HPA scales down (stabilizationWindowSeconds, selectPolicy, policies).
   */
  scaleDown: {
    [k: string]: unknown;
  };
}
/**
 * A NetworkPolicy peer: an ipBlock, or pods by namespace and pod selectors.
 */
export interface NetworkPolicyPeer {
  ipBlock: {
    cidr: string;
    except: string[];
  };
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}
/**
 * A Kubernetes label selector.
 */
export interface LabelSelector {
  matchLabels: StringMap;
  matchExpressions: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values: string[];
  }[];
}

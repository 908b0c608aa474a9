// Values for the charts the autoscaling guide installs beside ours
// (kube-prometheus-stack, redis-operator), derived from a profile's values so
// that selectors, namespaces and labels match what our chart renders.
import type { Values } from "./generated/values.js";

/** What to do, and its commands: each one shell line, never wrapped, so a copied line is whole. */
export interface Step {
  why: string;
  run: string[];
}

export interface Companion {
  /** What the file is for, above its steps in its header. */
  about: string;
  /** The steps that use the file, in order, given the name it was written to. */
  steps: (file: string) => Step[];
  values: Record<string, unknown>;
  /** Comments above keys, by dotted path. */
  notes: Record<string, string>;
}

export const companionNames = ["kube-prometheus-stack", "redis-operator"] as const;
export type CompanionName = (typeof companionNames)[number];

/** The Grafana admin credentials live in a Secret made beforehand; the guide's hard-coded password does not. */
export const grafanaSecret = { name: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" };

/** kube-state-metrics' custom-resource metrics for VPA recommendations (it no longer exports VPA metrics by itself). */
function vpaMetrics() {
  const metric = (field: string, resource: "cpu" | "memory") => ({
    name: `verticalpodautoscaler_status_recommendation_containerrecommendations_${field.toLowerCase()}`,
    help: `VPA recommendation (${field}) for a container`,
    commonLabels: { resource, unit: resource === "cpu" ? "core" : "byte" },
    each: {
      type: "Gauge",
      gauge: { path: ["status", "recommendation", "containerRecommendations"], valueFrom: [field, resource], labelsFromPath: { container: ["containerName"] } },
    },
  });
  return {
    kind: "CustomResourceStateMetrics",
    spec: {
      resources: [
        {
          groupVersionKind: { group: "autoscaling.k8s.io", version: "v1", kind: "VerticalPodAutoscaler" },
          metricNamePrefix: "kube_customresource",
          labelsFromPath: {
            verticalpodautoscaler: ["metadata", "name"],
            namespace: ["metadata", "namespace"],
            target_kind: ["spec", "targetRef", "kind"],
            target_name: ["spec", "targetRef", "name"],
          },
          metrics: ["target", "lowerBound", "upperBound"].flatMap((field) => [metric(field, "cpu"), metric(field, "memory")]),
        },
      ],
    },
  };
}

function kubePrometheusStack(v: Values): Companion {
  const selector = Object.keys(v.monitoring.labels).length > 0 ? { matchLabels: v.monitoring.labels } : {};
  const dashboardLabel = Object.entries(v.monitoring.dashboard.labels)[0] ?? ["grafana_dashboard", "1"];
  return {
    about: "Values for kube-prometheus-stack, matching the meme-generator chart's monitoring settings.",
    steps: (file) => [
      {
        why: "First create the Grafana admin Secret, with a password of your own in place of <password>:",
        run: [
          `kubectl create namespace ${v.monitoring.namespace}`,
          `kubectl create secret generic ${grafanaSecret.name} -n ${v.monitoring.namespace} --from-literal=${grafanaSecret.userKey}=admin --from-literal=${grafanaSecret.passwordKey}='<password>'`,
        ],
      },
      { why: "Then install the chart with these values:", run: [`helm install prometheus prometheus-community/kube-prometheus-stack -n ${v.monitoring.namespace} -f ${file}`] },
    ],
    values: {
      grafana: {
        admin: { existingSecret: grafanaSecret.name, userKey: grafanaSecret.userKey, passwordKey: grafanaSecret.passwordKey },
        sidecar: { dashboards: { enabled: true, label: dashboardLabel[0], labelValue: dashboardLabel[1], searchNamespace: "ALL" } },
      },
      prometheus: {
        prometheusSpec: {
          serviceMonitorSelectorNilUsesHelmValues: false,
          serviceMonitorSelector: selector,
          serviceMonitorNamespaceSelector: {},
          podMonitorSelectorNilUsesHelmValues: false,
          podMonitorSelector: selector,
          podMonitorNamespaceSelector: {},
          ruleSelectorNilUsesHelmValues: false,
          ruleSelector: selector,
          ruleNamespaceSelector: {},
        },
      },
      "kube-state-metrics": {
        rbac: { extraRules: [{ apiGroups: ["autoscaling.k8s.io"], resources: ["verticalpodautoscalers"], verbs: ["list", "watch"] }] },
        customResourceState: { enabled: true, config: vpaMetrics() },
      },
    },
    notes: {
      "grafana.admin": "The guide hard-codes the Grafana password; here it comes from an existing Secret.",
      "prometheus.prometheusSpec": `Select the monitors and rules the chart labels ${JSON.stringify(v.monitoring.labels)}, in every namespace.`,
      "kube-state-metrics.customResourceState": "kube-state-metrics exports VPA recommendations only through custom-resource metrics (kube_customresource_verticalpodautoscaler_*).",
    },
  };
}

function redisOperator(v: Values): Companion {
  const cache = v.namespaces.cache || "<release namespace>";
  return {
    about: "Values for the opstree redis-operator chart, for the meme-generator chart's operator mode.",
    steps: (file) => [{ why: "Install the operator with these values:", run: [`helm install redis-operator ot-helm/redis-operator -n redis-operator --create-namespace -f ${file}`] }],
    values: {
      redisOperator: { watchNamespace: v.namespaces.cache, imagePullPolicy: "IfNotPresent" },
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ["ALL"] } },
    },
    notes: {
      "redisOperator.watchNamespace": `Watch only the namespace the chart puts Redis in (${cache}); empty watches all.`,
      resources: "The chart's own defaults reserve 500m CPU and 500Mi for the operator; a demo needs far less.",
      podSecurityContext: "Restricted Pod Security, like every pod of the meme-generator chart.",
    },
  };
}

export function companion(name: CompanionName, values: Values): Companion {
  return name === "kube-prometheus-stack" ? kubePrometheusStack(values) : redisOperator(values);
}

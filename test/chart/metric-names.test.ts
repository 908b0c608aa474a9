// The dashboard and the alert rules name metrics by hand: each must be one the
// program registers, or one of an exporter the chart's monitoring relies on.
import { readFileSync } from "node:fs";
import type { Registry } from "prom-client";
import t from "tap";
import { workerMetrics } from "../../src/backend/metrics.js";
import { frontendMetrics } from "../../src/frontend/app.js";
import { repoPath } from "../../generator/schema.js";
import { renderedObjects } from "./helm.js";

/** Metrics of the exporters the dashboard reads, each from where it comes. */
const exporters: Record<string, string> = {
  kube_deployment_status_replicas: "kube-state-metrics",
  kube_statefulset_status_replicas: "kube-state-metrics",
  kube_pod_container_resource_requests: "kube-state-metrics",
  kube_horizontalpodautoscaler_status_current_replicas: "kube-state-metrics",
  kube_horizontalpodautoscaler_spec_max_replicas: "kube-state-metrics",
  kube_customresource_verticalpodautoscaler_status_recommendation_containerrecommendations_target: "kube-state-metrics, with the VPA custom-resource configuration the companion values carry",
  container_memory_working_set_bytes: "the kubelet's cAdvisor",
  redis_memory_used_bytes: "redis_exporter",
  redis_memory_max_bytes: "redis_exporter",
};

/** PromQL functions and keywords that look like metric names. */
const promql = new Set(["histogram_quantile", "clamp_min", "clamp_max", "label_replace"]);

/** The metric names of a PromQL expression: strings, label matchers and grouping clauses removed first. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(?:by|without)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "");
  return [...new Set([...bare.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*_[a-zA-Z0-9_:]+\b/g)].map((m) => m[0]))].filter((name) => !promql.has(name));
}

async function registered(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap((m) => (String(m.type) === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name]));
}

function dashboardExprs(): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "expr" && typeof value === "string") found.push(value);
        else walk(value);
      }
    }
  };
  walk(JSON.parse(readFileSync(repoPath("chart/dashboards/meme-generator.json"), "utf8")));
  return found;
}

function ruleExprs(): string[] {
  const apis = ["monitoring.coreos.com/v1/PrometheusRule", "monitoring.coreos.com/v1/ServiceMonitor", "keda.sh/v1alpha1/ScaledObject", "autoscaling.k8s.io/v1/VerticalPodAutoscaler", "redis.redis.opstreelabs.in/v1beta2/Redis"];
  type Rule = { kind?: string; spec?: { groups: { rules: { expr: string }[] }[] } };
  return renderedObjects<Rule>(["-f", repoPath("chart/profiles/demo.yaml"), ...apis.flatMap((api) => ["--api-versions", api])])
    .filter((o) => o.kind === "PrometheusRule")
    .flatMap((o) => o.spec?.groups.flatMap((g) => g.rules.map((r) => r.expr)) ?? []);
}

t.test("metric names are read out of PromQL", async (t) => {
  t.same(metricNames('sum(rate(meme_frontend_http_requests_total{status=~"5.."}[5m])) / clamp_min(sum(rate(meme_frontend_http_requests_total[5m])), 1e-9)'), ["meme_frontend_http_requests_total"]);
  t.same(metricNames("histogram_quantile(0.95, sum by (le) (rate(meme_generator_processing_duration_seconds_bucket[5m])))"), ["meme_generator_processing_duration_seconds_bucket"]);
  t.same(metricNames('max(redis_memory_used_bytes / clamp_min(redis_memory_max_bytes, 1)) > 0.9'), ["redis_memory_used_bytes", "redis_memory_max_bytes"]);
});

t.test("every metric the dashboard and the alert rules use exists", async (t) => {
  const known = new Set([...(await registered(frontendMetrics().registry)), ...(await registered(workerMetrics().registry)), ...Object.keys(exporters)]);
  const dashboard = dashboardExprs();
  const rules = ruleExprs();
  t.ok(dashboard.length >= 10, `${dashboard.length} dashboard queries`);
  t.ok(rules.length >= 4, `${rules.length} alert rules`);
  const used = new Set([...dashboard, ...rules].flatMap(metricNames));
  for (const name of used) t.ok(known.has(name), `${name}${exporters[name] ? ` (${exporters[name]})` : ""}`);
  for (const name of Object.keys(exporters)) t.ok(used.has(name), `${name} is listed because it is used`);
});

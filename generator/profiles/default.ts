import type { Profile } from "../profile.js";

export const defaultProfile: Profile = {
  name: "default",
  summary: "The chart's defaults: everything in the release namespace, standalone Redis, and a CPU HPA for the backend when KEDA is absent; needs no operator.",
  values: {},
  notes: {},
};

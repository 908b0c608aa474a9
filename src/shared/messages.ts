// The request contract shared by the frontend (HTTP bodies) and the worker
// (raw NATS payloads): one JSON Schema, one normalisation, one cache key.
import { Ajv, type ErrorObject } from "ajv";
import { hash as digest, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { MemeRequest } from "../generated/messages.js";
import { isRequestId, keys, PROMPT_MAX, templateNames, type TemplateName } from "./contract.js";
import { projectRoot } from "./project.js";

/** Bumped whenever the same request would render different bytes, so cached images are not reused. */
export const RENDERER_VERSION = "1";

export function loadMessageSchema(name: "meme-request" | "meme-result" | "worker-heartbeat"): Record<string, unknown> {
  return JSON.parse(readFileSync(join(projectRoot(import.meta.url), "schemas", `${name}.schema.json`), "utf8")) as Record<string, unknown>;
}

export const requestSchema = loadMessageSchema("meme-request");
const validateRequest = new Ajv({ allErrors: true }).compile<MemeRequest>(requestSchema);

export interface NormalizedRequest {
  id: string;
  /** Trimmed, inner white space folded to single spaces. */
  prompt: string;
  size: 512 | 1024;
  template: TemplateName;
}

export type ParsedRequest = { ok: true; request: NormalizedRequest } | { ok: false; id: string; error: string };

function describe(errors: ErrorObject[]): string {
  return errors
    .map((e) => {
      const field = e.instancePath.replace(/^\//, "") || (e.keyword === "required" ? String(e.params.missingProperty) : "request");
      if (e.keyword === "additionalProperties") return `unknown field ${String(e.params.additionalProperty)}`;
      if (e.keyword === "required") return `${field} is required`;
      if (e.keyword === "enum") return `${field} must be one of ${(e.params.allowedValues as string[]).join(", ")}`;
      return `${field} ${e.message ?? "is invalid"}`;
    })
    .join("; ");
}

function hash(text: string): Buffer {
  return digest("sha256", text, "buffer");
}

/** The template of a request that names none: the same prompt always gets the same one. */
export function templateFor(prompt: string): TemplateName {
  return templateNames[hash(prompt.toLocaleUpperCase("en")).readUInt32BE(0) % templateNames.length] as TemplateName;
}

/** Characters XML (and so the SVG a meme is drawn from) cannot hold; white space (tab, line feed, vertical tab, form feed, return) is folded to spaces before. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f\ufffe\uffff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Characters that take no room: a prompt of only these and spaces shows nothing. */
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff\u00ad]/g;

const codePoint = (char: string) => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;

/** Why a normalised prompt cannot become a meme, or undefined when it can. */
function unshowableIn(prompt: string): string | undefined {
  const control = CONTROL.exec(prompt)?.[0];
  if (control !== undefined) return `prompt contains the control character ${codePoint(control)}, which a meme cannot show`;
  const lone = LONE_SURROGATE.exec(prompt)?.[0];
  if (lone !== undefined) return `prompt contains a lone surrogate (${codePoint(lone)}), which is no character`;
  if (prompt.length > 0 && prompt.replace(INVISIBLE, "").trim() === "") return "prompt has no visible characters";
  return undefined;
}

/**
 * Validates and normalises a request from a JSON body or a raw message. The id
 * comes from the payload, else from the Nats-Msg-Id header, else a new one, so
 * that even an unreadable message can be answered.
 */
export function parseRequest(input: unknown, headerId?: string): ParsedRequest {
  // An id becomes part of a subject and of Redis keys: only one that passes the id rule is ever used.
  const header = isRequestId(headerId) ? headerId : undefined;
  let body = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    const text = typeof input === "string" ? input : Buffer.from(input).toString("utf8");
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, id: header ?? randomUUID(), error: "the request is not JSON" };
    }
  }
  const claimed = typeof body === "object" && body !== null ? (body as { id?: unknown }).id : undefined;
  const safe = isRequestId(claimed) ? claimed : header;
  if (!validateRequest(body)) {
    return { ok: false, id: safe ?? randomUUID(), error: describe(validateRequest.errors ?? []) };
  }
  if (body.id === undefined && headerId !== undefined && header === undefined) {
    return { ok: false, id: randomUUID(), error: `the Nats-Msg-Id header ${JSON.stringify(headerId)} is not a request id (a UUID)` };
  }
  const id = body.id ?? header ?? randomUUID();
  const prompt = body.prompt.trim().replace(/\s+/g, " ");
  const unshowable = unshowableIn(prompt);
  if (unshowable) return { ok: false, id, error: unshowable };
  if (prompt.length === 0 || prompt.length > PROMPT_MAX) {
    return { ok: false, id, error: `prompt must be 1–${PROMPT_MAX} characters after trimming (got ${prompt.length})` };
  }
  const small = Boolean(body.fastMode ?? body.fast_mode) || Boolean(body.smallImage ?? body.small_image);
  return { ok: true, request: { id, prompt, size: small ? 512 : 1024, template: body.template ?? templateFor(prompt) } };
}

/** What makes two requests the same request: the normalised prompt, size and template (an id's owner is recorded as this). */
export function fingerprint(r: Pick<NormalizedRequest, "prompt" | "size" | "template">): string {
  return hash(JSON.stringify({ prompt: r.prompt, size: r.size, template: r.template })).toString("hex").slice(0, 32);
}

/** Redis key of the image a request renders to: the normalised request and the renderer version. */
export function imageKey(r: Pick<NormalizedRequest, "prompt" | "size" | "template">): string {
  const canonical = JSON.stringify({ v: RENDERER_VERSION, prompt: r.prompt.toLocaleUpperCase("en"), size: r.size, template: r.template });
  return keys.image(hash(canonical).toString("hex").slice(0, 32));
}

import t from "tap";
import { ID_PATTERN, PROMPT_MAX, templateNames } from "../../src/shared/contract.js";
import { imageKey, loadMessageSchema, parseRequest, RENDERER_VERSION, templateFor } from "../../src/shared/messages.js";

const id = "0b6f7a52-9c1e-4d2b-8f3a-5e6d7c8b9a01";

t.test("the guide's own message, as nats pub sends it, is a 512 px request", async (t) => {
  const parsed = parseRequest('{"prompt":"Test meme 1","fastMode":true}');
  t.ok(parsed.ok);
  if (!parsed.ok) return;
  t.match(parsed.request, { prompt: "Test meme 1", size: 512, template: templateFor("Test meme 1") });
  t.match(parsed.request.id, /^[0-9a-f-]{36}$/, "a message without id gets one");
});

t.test("snake_case flags are accepted; either flag makes the image small", async (t) => {
  for (const body of [{ fast_mode: true }, { small_image: true }, { smallImage: true }, { fastMode: true }]) {
    const parsed = parseRequest({ prompt: "x", ...body });
    t.equal(parsed.ok && parsed.request.size, 512, JSON.stringify(body));
  }
  const big = parseRequest({ prompt: "x", fastMode: false, small_image: false });
  t.equal(big.ok && big.request.size, 1024);
});

t.test("ids come from the payload, then the Nats-Msg-Id header", async (t) => {
  const fromBody = parseRequest({ id, prompt: "x" }, "header-id");
  t.equal(fromBody.ok && fromBody.request.id, id);
  const fromHeader = parseRequest({ prompt: "x" }, id);
  t.equal(fromHeader.ok && fromHeader.request.id, id);
});

t.test(`prompts are trimmed and folded; 1–${PROMPT_MAX} characters`, async (t) => {
  const parsed = parseRequest({ prompt: "  hello \n  world  " });
  t.equal(parsed.ok && parsed.request.prompt, "hello world");
  t.same(parseRequest({ id, prompt: "   " }), { ok: false, id, error: `prompt must be 1–${PROMPT_MAX} characters after trimming (got 0)` });
  t.same(parseRequest({ id, prompt: "x".repeat(PROMPT_MAX + 1) }), { ok: false, id, error: `prompt must be 1–${PROMPT_MAX} characters after trimming (got ${PROMPT_MAX + 1})` });
  t.ok(parseRequest({ prompt: ` ${"x".repeat(200)} ` }).ok);
});

t.test("invalid requests say what is wrong and keep whatever id they can", async (t) => {
  t.same(parseRequest("{not json", id), { ok: false, id, error: "the request is not JSON" });
  t.same(parseRequest(Buffer.from("[1,2]"), id), { ok: false, id, error: "request must be object" });
  t.same(parseRequest({ id }), { ok: false, id, error: "prompt is required" });
  t.same(parseRequest({ id, prompt: 5 }), { ok: false, id, error: "prompt must be string" });
  t.same(parseRequest({ id, prompt: "x", template: "doge" }), { ok: false, id, error: `template must be one of ${templateNames.join(", ")}` });
  t.same(parseRequest({ id, prompt: "x", colour: "red" }), { ok: false, id, error: "unknown field colour" });
  t.same(parseRequest({ id: "not-a-uuid", prompt: "x" }, id), { ok: false, id, error: 'id must match pattern "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"' });
  const noId = parseRequest("nope");
  t.match(noId, { ok: false, id: /^[0-9a-f-]{36}$/ });
});

t.test("an id that breaks the id rule is never used, from the payload or the header", async (t) => {
  const fromPayload = parseRequest(JSON.stringify({ id: "a b", prompt: "x" }));
  t.match(fromPayload, { ok: false, id: ID_PATTERN, error: /^id must match pattern/ });
  t.not((fromPayload as { id: string }).id, "a b");
  t.match(parseRequest(JSON.stringify({ prompt: "x" }), "a b"), { ok: false, id: ID_PATTERN, error: 'the Nats-Msg-Id header "a b" is not a request id (a UUID)' });
  t.match(parseRequest("{nope", "meme.>"), { ok: false, id: ID_PATTERN, error: "the request is not JSON" });
  const id = "0b6f7a52-9c1e-4d2b-8f3a-5e6d7c8b9a01";
  t.match(parseRequest(JSON.stringify({ id, prompt: "x" }), "a b"), { ok: true, request: { id } }, "a good payload id wins over a bad header");
});

t.test("a prompt a meme cannot show is refused with the reason", async (t) => {
  const id = "0b6f7a52-9c1e-4d2b-8f3a-5e6d7c8b9a01";
  t.same(parseRequest({ id, prompt: "nul\u0000here" }), { ok: false, id, error: "prompt contains the control character U+0000, which a meme cannot show" });
  t.same(parseRequest({ id, prompt: "bell\u0007" }), { ok: false, id, error: "prompt contains the control character U+0007, which a meme cannot show" });
  t.same(parseRequest({ id, prompt: "half \ud800 pair" }), { ok: false, id, error: "prompt contains a lone surrogate (U+D800), which is no character" });
  t.same(parseRequest({ id, prompt: "\u200b\u200c \u2060\ufeff" }), { ok: false, id, error: "prompt has no visible characters" });
  t.same(parseRequest({ id, prompt: "\u3000\u00a0" }), { ok: false, id, error: `prompt must be 1–${PROMPT_MAX} characters after trimming (got 0)` });
  t.match(parseRequest({ id, prompt: "tabs\tand\nnew lines | fold" }), { ok: true, request: { prompt: "tabs and new lines | fold" } });
  t.match(parseRequest({ id, prompt: "emoji 🚀 and ünïcödé" }), { ok: true, request: { prompt: "emoji 🚀 and ünïcödé" } });
});

t.test("the request schema states the contract's templates and id rule", async (t) => {
  const schema = loadMessageSchema("meme-request") as { properties: { template: { enum: string[] }; id: { pattern: string } } };
  t.same(schema.properties.template.enum, [...templateNames]);
  t.equal(schema.properties.id.pattern, ID_PATTERN.source);
});

t.test("the cache key covers the normalised request and the renderer version, not the id", async (t) => {
  const base = { prompt: "Hello World", size: 1024 as const, template: "ocean" as const };
  t.match(imageKey(base), /^meme:img:[0-9a-f]{32}$/);
  t.equal(imageKey(base), imageKey({ ...base, prompt: "HELLO WORLD" }), "captions are upper case, so case does not matter");
  t.not(imageKey(base), imageKey({ ...base, size: 512 }));
  t.not(imageKey(base), imageKey({ ...base, template: "space" }));
  t.not(imageKey(base), imageKey({ ...base, prompt: "Hello Worlds" }));
  t.equal(RENDERER_VERSION, "1");
  t.equal(templateFor("same prompt"), templateFor("SAME PROMPT"));
});

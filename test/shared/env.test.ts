import t from "tap";
import { boolean, bytes, ConfigError, integer, oneOf, readEnv, shownDefault, string, urls } from "../../src/shared/env.js";

t.test("defaults apply when a variable is unset or blank", async (t) => {
  const v = readEnv({ A: integer("a", 3, 1, 5), B: string("b", "x"), C: boolean("c", false) }, { B: "  " });
  t.same(v, { A: 3, B: "x", C: false });
});

t.test("a required variable that is missing names itself and its rule", async (t) => {
  t.throws(() => readEnv({ TOKEN: string("t") }, {}), new ConfigError("TOKEN is required: it must not be empty"));
});

t.test("integers keep to their range and reject fractions and words", async (t) => {
  const spec = { N: integer("n", 1, 1, 10) };
  t.equal(readEnv(spec, { N: "10" }).N, 10);
  for (const bad of ["0", "11", "2.5", "ten", "1e3"]) {
    t.throws(() => readEnv(spec, { N: bad }), { message: `N must be a whole number from 1 to 10 (got "${bad}")` }, bad);
  }
});

t.test("booleans, choices and patterns", async (t) => {
  t.equal(readEnv({ B: boolean("b", false) }, { B: "TRUE" }).B, true);
  t.equal(readEnv({ B: boolean("b", true) }, { B: "0" }).B, false);
  t.throws(() => readEnv({ B: boolean("b", true) }, { B: "yes" }), { message: 'B must be true or false (got "yes")' });
  t.equal(readEnv({ L: oneOf("l", "info", ["info", "debug"]) }, { L: "debug" }).L, "debug");
  t.throws(() => readEnv({ L: oneOf("l", "info", ["info", "debug"]) }, { L: "loud" }), { message: 'L must be one of info, debug (got "loud")' });
  const named = string("n", "MEMES", { re: /^[A-Z]+$/, rule: "must be upper case" });
  t.throws(() => readEnv({ S: named }, { S: "memes" }), { message: 'S must be upper case (got "memes")' });
});

t.test("URL lists accept several servers and only the given schemes", async (t) => {
  const spec = { U: urls("u", "nats://127.0.0.1:4222", ["nats", "tls"]) };
  t.same(readEnv(spec, {}).U, ["nats://127.0.0.1:4222"]);
  t.same(readEnv(spec, { U: "nats://a:4222, tls://b:4222" }).U, ["nats://a:4222", "tls://b:4222"]);
  for (const bad of ["http://a:4222", "nats://", "localhost:4222", ","]) {
    t.throws(() => readEnv(spec, { U: bad }), { message: /^U must be a comma-separated list of nats:\/\/ or tls:\/\/ URLs/ }, bad);
  }
  t.equal(shownDefault(spec.U), "nats://127.0.0.1:4222");
});

t.test("sizes are Kubernetes quantities: binary with i, decimal without", async (t) => {
  const spec = { S: bytes("s", "64Ki", 1024, 2 ** 30) };
  t.equal(readEnv(spec, {}).S, 65536);
  t.equal(readEnv(spec, { S: "8Mi" }).S, 8 * 2 ** 20);
  t.equal(readEnv(spec, { S: "8M" }).S, 8e6);
  t.equal(readEnv(spec, { S: "500k" }).S, 5e5);
  t.equal(readEnv(spec, { S: "1Gi" }).S, 2 ** 30);
  t.equal(readEnv(spec, { S: "2048" }).S, 2048);
  t.equal(readEnv(spec, { S: "1.5Mi" }).S, 1572864, "a decimal quantity that is a whole number of bytes, as the chart's schema allows");
  for (const bad of ["2Gi", "10", "lots", "1.5Ki5", "8MB", "2G", "1.0001Ki"]) {
    t.throws(() => readEnv(spec, { S: bad }), { message: /^S must be a size such as 64Ki, 256Mi or 1Gi, from 1024 to 1073741824 bytes/ }, bad);
  }
  t.equal(shownDefault(spec.S), "64Ki");
  t.equal(shownDefault(string("x")), "(required)");
});

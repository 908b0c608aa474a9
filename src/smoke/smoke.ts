// `smoke`: one meme through the API, end to end — what `helm test` runs. Exit 0
// when the image arrives as a PNG of the asked size, 1 with the reason otherwise.
import { setTimeout as sleep } from "node:timers/promises";
import { readEnv } from "../shared/env.js";
import { commandVariables } from "../shared/variables.js";

const variables = commandVariables.smoke;

export class SmokeFailure extends Error {
  override name = "SmokeFailure";
}

export async function smoke(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const v = readEnv(variables, env);
  const base = v.FRONTEND_URL.replace(/\/+$/, "");
  const started = performance.now();
  const prompt = `smoke test | ${new Date().toISOString()}`;
  let created: Response;
  try {
    created = await fetch(`${base}/api/memes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt, fastMode: true }) });
  } catch (error) {
    throw new SmokeFailure(`cannot reach ${base}: ${(error as Error).cause ?? (error as Error).message}`);
  }
  if (created.status !== 202) throw new SmokeFailure(`POST /api/memes answered ${created.status}: ${await created.text()}`);
  const { id } = (await created.json()) as { id: string };
  const deadline = started + v.SMOKE_TIMEOUT * 1000;
  let status = "queued";
  while (performance.now() < deadline) {
    const body = (await (await fetch(`${base}/api/memes/${id}`)).json()) as { status: string; error?: string };
    status = body.status;
    if (status === "failed") throw new SmokeFailure(`meme ${id} failed: ${body.error ?? "no reason given"}`);
    if (status === "done") break;
    await sleep(250);
  }
  if (status !== "done") throw new SmokeFailure(`meme ${id} still ${status} after ${v.SMOKE_TIMEOUT} s: are workers running (or can KEDA wake them)?`);
  const image = await fetch(`${base}/api/memes/${id}/image.png`);
  const png = Buffer.from(await image.arrayBuffer());
  if (image.status !== 200 || png.toString("latin1", 1, 4) !== "PNG") throw new SmokeFailure(`the image of ${id} answered ${image.status} without a PNG`);
  const width = png.readUInt32BE(16);
  if (width !== 512) throw new SmokeFailure(`the image of ${id} is ${width} px wide, not 512`);
  return `meme ${id} rendered and served as a ${width} px PNG in ${Math.round(performance.now() - started)} ms`;
}

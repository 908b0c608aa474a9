// Generated from schemas/meme-*.schema.json and worker-heartbeat.schema.json by `npm run gen-values -- --all`. Do not edit.

/**
 * A request to render a meme, published on the request subject (meme.request) and the body of POST /api/memes. Snake_case spellings of the flags are accepted too.
 */
export interface MemeRequest {
  /**
   * Request id, also the Nats-Msg-Id header for de-duplication; one is given when missing.
   */
  id?: string;
  /**
   * The caption: top and bottom split on | or ' / ', otherwise at a word boundary; 1–200 characters after trimming.
   */
  prompt: string;
  /**
   * Render at 512 px instead of 1024 px.
   */
  fastMode?: boolean;
  /**
   * Render at 512 px instead of 1024 px.
   */
  smallImage?: boolean;
  /**
   * Snake_case spelling of fastMode.
   */
  fast_mode?: boolean;
  /**
   * Snake_case spelling of smallImage.
   */
  small_image?: boolean;
  /**
   * Background template; chosen from the prompt when missing.
   */
  template?: "sunset" | "ocean" | "space" | "retro-grid" | "confetti" | "spotlight";
}

/**
 * The outcome of a request, published on meme.response.<id> and kept in Redis under meme:res:<id>.
 */
export interface MemeResult {
  /**
   * The request id.
   */
  id: string;
  /**
   * done: the image is stored; failed: it will not be.
   */
  status: "done" | "failed";
  /**
   * The caption, as normalised, when the request could be read.
   */
  prompt?: string;
  /**
   * Redis key of the PNG (meme:img:<hash>), when done.
   */
  imageKey?: string;
  /**
   * The image came from the cache, not a new render.
   */
  cached: boolean;
  /**
   * Milliseconds spent rendering (0 for a cache hit or a failure).
   */
  renderMs: number;
  /**
   * Image width in pixels, when done.
   */
  width?: number;
  /**
   * Template used, when done.
   */
  template?: string;
  /**
   * Why it failed, when failed.
   */
  error?: string;
  /**
   * When the worker finished, ISO 8601.
   */
  finishedAt?: string;
}

/**
 * Published by every worker every 2 s on meme.workers.heartbeat; a worker silent for 6 s is gone.
 */
export interface WorkerHeartbeat {
  /**
   * Host name and process id of the worker.
   */
  workerId: string;
  /**
   * Requests the worker holds now.
   */
  inFlight: number;
  /**
   * Requests answered since start.
   */
  processed: number;
  /**
   * Requests answered as failed since start.
   */
  failed: number;
  /**
   * Requests it may hold at once.
   */
  concurrency: number;
  /**
   * Start time, ISO 8601.
   */
  startedAt: string;
}

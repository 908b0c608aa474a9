// Listening on a configured port: a port that is taken is the user's to fix,
// so it is one line naming the port and the variable that sets it.
import type { FastifyInstance } from "fastify";

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

export async function listenOn(app: FastifyInstance, port: number, host: string, variable: string): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new PortInUseError(`port ${port} is already in use: stop what holds it, or set ${variable} to a free port`);
    }
    throw error;
  }
}

/** Loopback port helpers for starting servers (a Mosquitto, a proxy) on a port nobody else uses. */
import net from "node:net";

/**
 * Returns a loopback port that was free a moment ago: binds port 0, reads the port the
 * kernel chose and closes again. Another process may take it before the caller binds,
 * so callers must retry on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `server` listening on a free port of 127.0.0.1; resolves with the port, rejects on a listen error. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/** Resolves true when a TCP connection to `127.0.0.1:port` succeeds, false when it fails. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

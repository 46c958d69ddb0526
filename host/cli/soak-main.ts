/**
 * A process of its own for `wasmqtt soak` (the soak replaces the process's timer globals):
 * runs {@link runSoak} with the command line and exits with its status once stdout and
 * stderr are flushed. The tests spawn it; `wasmqtt soak` does the same through host/cli.ts.
 *
 * @example
 * node --import tsx host/cli/soak-main.ts --days 3 --devices 3 --report reports/soak
 */
import { runSoak } from "./soak.ts";

// a reader that went away (`… | head`) ends the output quietly, as SIGPIPE would
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
}

const status = await runSoak(process.argv.slice(2));
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write("", resolve))));
process.exit(status);

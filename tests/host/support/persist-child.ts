/**
 * The client process of tests/host/persist.test.ts, which kills it with SIGKILL: the
 * session lives only in its state file.
 *
 * `queue <url> <state> <clientId> <topic> <count>`: connects (retrying) to a broker that
 * is not there, queues `count` QoS 1 messages `q1-<i>` and `count` QoS 2 messages `q2-<i>`,
 * prints "queued", and waits to be killed.
 * `deliver <url> <state> <clientId> [everyMs]`: restores the session, connects, prints
 * "restored <restoreStatus> <outbox bytes>", and once the outbox is empty ends cleanly and
 * prints "delivered"; saves at each change, or batched every `everyMs`.
 */
import { createClient } from "../../../host/index.ts";

const [mode, url, state, clientId, topicOrEvery, count] = process.argv.slice(2);
const client = await createClient(url, {
  clientId,
  clean: false,
  persist: state,
  persistEvery: mode === "deliver" && topicOrEvery !== undefined ? Number(topicOrEvery) : "change",
  keepalive: 5,
  reconnect: { minDelayMs: 50, maxDelayMs: 200 },
  connectTimeout: 1000,
  retryFirstConnect: true,
});
client.on("error", () => {}); // the broker is unreachable on purpose in "queue"

if (mode === "queue") {
  void client.connect().catch(() => {});
  for (let i = 0; i < Number(count); i++) {
    for (const qos of [1, 2] as const) client.publish(topicOrEvery, `q${qos}-${i}`, { qos }).catch(() => {});
  }
  process.stdout.write("queued\n");
  setInterval(() => {}, 1000); // until SIGKILL
} else {
  process.stdout.write(`restored ${client.restoreStatus} ${client.stats().outbox.used}\n`);
  await client.connect();
  while (client.stats().outbox.used > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  await client.end();
  process.stdout.write("delivered\n");
}

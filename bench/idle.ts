/**
 * Idle connected clients: RSS and JS heap per client. Each peer runs in a child process of
 * its own (this file, run with `--expose-gc`), which connects one client to warm up (code
 * compiled, the module loaded), measures, connects `count` more to the same broker, waits,
 * collects garbage and measures again; the difference over `count` is what one more idle
 * client costs. Prints one JSON line: `{ rssPerClient, heapPerClient, externalPerClient }`
 * in bytes.
 *
 * Usage (by bench/matrix.ts): node --expose-gc --import tsx bench/idle.ts <wasmqtt-desktop|wasmqtt-nodemcu|MQTT.js> <count> <url>
 *
 * @example
 * const figures = await idleClients("wasmqtt-nodemcu", 200, broker.url);
 */
import mqtt from "mqtt";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "../host/index.ts";

/** The peers measured, each in its own process. */
export const IDLE_PEERS = ["wasmqtt-nodemcu", "wasmqtt-desktop", "MQTT.js"] as const;
export type IdlePeer = (typeof IDLE_PEERS)[number];

/** What one more idle connected client costs, in bytes. */
export interface IdleFigures {
  rssPerClient: number;
  heapPerClient: number;
  externalPerClient: number;
}

const execFileAsync = promisify(execFile);

/** Runs this file in a child process for `peer` and resolves with its figures. */
export async function idleClients(peer: IdlePeer, count: number, url: string): Promise<IdleFigures> {
  const { stdout } = await execFileAsync(process.execPath, ["--expose-gc", "--import", "tsx", fileURLToPath(import.meta.url), peer, String(count), url], {
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as IdleFigures;
}

async function connectOne(peer: IdlePeer, url: string): Promise<() => Promise<void>> {
  if (peer === "MQTT.js") {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, keepalive: 60 });
    return () => client.endAsync();
  }
  const client = await connect(url, { profile: peer === "wasmqtt-nodemcu" ? "nodemcu" : "desktop", keepalive: 60 });
  return () => client.end();
}

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

async function child(peer: IdlePeer, count: number, url: string): Promise<void> {
  const ends = [await connectOne(peer, url)];
  const before = await settledMemory();
  for (let i = 0; i < count; i++) ends.push(await connectOne(peer, url));
  await sleep(500);
  const after = await settledMemory();
  const figures: IdleFigures = {
    rssPerClient: (after.rss - before.rss) / count,
    heapPerClient: (after.heapUsed - before.heapUsed) / count,
    externalPerClient: (after.external - before.external) / count,
  };
  await Promise.all(ends.map((end) => end()));
  console.log(JSON.stringify(figures));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [peer, count, url] = process.argv.slice(2);
  await child(peer as IdlePeer, Number(count), url);
}

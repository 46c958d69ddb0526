/**
 * The soak's closing summary: one table of what ran, what happened and whether every
 * invariant held, as plain text lines (the same on a terminal and in a log).
 *
 * @example
 * process.stdout.write(`${formatSummary(result).join("\n")}\n`);
 */
import { formatVirtualTime } from "../sim/view.ts";
import { FAULT_KINDS } from "./faults.ts";
import { formatWall } from "./progress.ts";
import type { SoakResult } from "./soak.ts";

const DAY_MS = 86_400_000;

/** The summary table of a run. */
export function formatSummary(result: SoakResult): string[] {
  const { settings, delivery, latency, broker, faults, module, hostMemory } = result;
  const failed = result.invariants.filter((verdict) => !verdict.held);
  const real = settings.mode === "real";
  const rows: [string, string][] = [
    ["mode", mode(result)],
    ["devices", `${settings.devices} × ${settings.boards.join(", ")} (QoS ${settings.qos.join("/")} round robin), a reading every ${settings.intervalSec} s, keepalive ${settings.keepaliveSec} s, MQTT ${settings.protocolVersion === 5 ? "5.0" : "3.1.1"}, seed ${settings.seed}`],
    [real ? "time" : "virtual time", `${days(settings.days * DAY_MS)} of faults (${settings.profile}${settings.scheduleFiles.length > 0 ? ` + ${settings.scheduleFiles.join(", ")}` : ""}) + ${formatWall(settings.drainMs / 1000)} drain = ${days(result.virtualMs)}`],
    ["u32 counter", `starts at ${settings.u32StartMs}; ${result.u32.wraps.length === 0 ? "did NOT wrap" : `wrapped at ${result.u32.wraps.map((wrap) => wrap.at).join(", ")}`}`],
    ["wall time", `${formatWall(result.wallSeconds)} (+ ${result.setupSeconds.toFixed(1)} s setup)${execution(result)}`],
    ["speed", real ? `real time: ${formatWall(result.virtualMs / 1000)} of device time in ${formatWall(result.wallSeconds)}` : `${result.deviceDaysPerSecond.toFixed(2)} device-days per wall second`],
    ["readings", `accepted ${delivery.accepted}, refused (OUTBOX_FULL) ${delivery.refused}, delivered ${delivery.delivered}, duplicates ${delivery.duplicates}`],
    ["", `lost with the broker's state ${delivery.lostWithBrokerState}, in flight at the end ${delivery.inFlightAtEnd}`],
    ...(delivery.lostWithBrokerStateDetail.length === 0
      ? []
      : [["", `(e.g. ${delivery.lostWithBrokerStateDetail[0].device} seq ${delivery.lostWithBrokerStateDetail[0].seq}: ${delivery.lostWithBrokerStateDetail[0].why})`] as [string, string]]),
    ...powerRows(result),
    ["latency", latency.count === 0 ? "no readings delivered" : `p50 ${latency.exact ? "" : "≤ "}${ms(latency.p50Ms)}, p99 ${latency.exact ? "" : "≤ "}${ms(latency.p99Ms)}, max ${ms(latency.maxMs)} (reading to observer, queueing while offline included)`],
    ["reconnects", `${result.reconnects} (all devices)`],
    ...brokerRows(result),
    ["faults possible", possible(result)],
    ["faults injected", Object.entries(faults).filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ${count}`).join(", ") || "none"],
    ["max outbox use", module.maxOutboxDevice === "" ? "-" : `${(module.maxOutboxUse * 100).toFixed(1)} % (${module.maxOutboxDevice})`],
    ["module memory", `${module.memoryBytes} B linear memory per device (static data ${module.staticBytes} B)`],
    ["host memory", `${mib(hostMemory.lastHeapPerDevice)} heap + ${mib(hostMemory.lastExternalPerDevice)} external per device (rss ${mib(hostMemory.rssBytes)})${hostMemory.forcedGc ? "" : " (no forced GC)"}`],
    ["", `trend: ${hostMemory.trend.summary}`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = [
    `wasmqtt soak: ${verdict(result, failed.length)}`,
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
    "  invariants",
    ...result.invariants.map((verdict) => `    ${(verdict.held ? "held" : `VIOLATED ×${verdict.violations}`).padEnd(12)}  ${verdict.invariant.padEnd(13)}  ${verdict.description}`),
  ];
  for (const violation of result.violations.slice(0, 10)) lines.push(`  ${violation.message}`);
  if (result.violations.length > 10) lines.push(`  … and ${result.violations.length - 10} more (report.json has up to 50)`);
  return lines;
}

function mode({ broker }: SoakResult): string {
  if (broker.name !== "mosquitto") return "virtual time against aedes in process (a broker and an observer per device)";
  if (!broker.controlled) return `real time against the broker at ${broker.url} (not the soak's: never restarted), a fault proxy per device, the observer direct`;
  return `real time against Mosquitto ${broker.version} (${broker.url}), a fault proxy per device, the observer direct`;
}

/** The fault kinds the broker allowed, and why the others were not. */
function possible({ settings }: SoakResult): string {
  const kinds = settings.faultsPossible.filter((kind) => kind !== "lose");
  const not = FAULT_KINDS.filter((kind) => kind !== "lose" && !settings.faultsPossible.includes(kind));
  return `${kinds.join(", ")}${not.length === 0 ? "" : ` (not ${not.join(", ")}: the soak does not control the broker)`}`;
}

/** What the power faults did and cost, when the run had any. */
function powerRows({ settings, power, delivery }: SoakResult): [string, string][] {
  if (power.powerLosses === 0 && power.deepSleeps === 0 && !settings.persist) return [];
  const storage = settings.persist ? `persistence on: ${power.saves} saves to flash` : "persistence off (--persist)";
  const rows: [string, string][] = [
    ["power", `${storage}; ${power.powerLosses} power losses (${power.duringSave} during a save), ${power.restored} restored, ${power.startedEmpty} started empty; ${power.deepSleeps} deep sleeps${power.wakeRefused > 0 ? ` (${power.wakeRefused} RTC images refused)` : ""}`],
    ["", `lost to power loss ${delivery.lostToPowerLoss} readings (${settings.persist ? "accepted after the last complete save: excused by name" : "no persistence: excused by name, the expected cost"})`],
  ];
  const first = delivery.lostToPowerLossDetail[0];
  if (first !== undefined) rows.push(["", `(e.g. ${first.device} seq ${first.seq}: ${first.why})`]);
  return rows;
}

/** What the broker and (with Mosquitto) the fault proxies went through. */
function brokerRows({ broker, settings }: SoakResult): [string, string][] {
  if (broker.name === "mosquitto") {
    return [
      broker.controlled
        ? ["broker restarts", `${broker.restartsKeepingSessions} keeping sessions (SIGTERM, persistence), ${broker.restartsLosingSessions} losing them (SIGKILL, persistence deleted: nothing excused); ${broker.keepaliveTimeouts} keepalive timeouts logged; connections accepted: ${broker.connectsMqtt311} MQTT 3.1.1, ${broker.connectsMqtt5} MQTT 5.0`]
        : ["broker restarts", "none (the user's broker)"],
      ["fault proxies", `${broker.connections} connections forwarded, ${broker.refusedByProxies} refused during outages and black-holes, ${broker.bytesDiscarded} B discarded by black-holes`],
    ];
  }
  return [
    ["broker restarts", `${broker.restartsKeepingSessions} keeping sessions, ${broker.restartsLosingSessions} losing them (each device's own aedes); ${broker.refusedWhileDown} connections reset while down, ${broker.keepaliveTimeouts} keepalive timeouts`],
    ["aedes patches", settings.patchAedes ? `on: ${broker.unknownPubrelsAnswered} PUBREL(s) for unknown ids answered with PUBCOMP` : "off (aedes as it is)"],
  ];
}

/** How the run was split, when it was. */
function execution({ execution: split }: SoakResult): string {
  if (split.workers <= 1 && split.shards <= 1) return "";
  return `, ${split.shards > 1 ? `${split.shards} shards, ` : ""}${split.workers} worker${split.workers === 1 ? "" : "s"}`;
}

function verdict(result: SoakResult, failed: number): string {
  if (failed > 0) return `FAILED — ${failed} invariant${failed === 1 ? "" : "s"} violated`;
  if (result.interrupted) return `INTERRUPTED at ${formatVirtualTime(result.virtualMs)} — nothing violated so far, no final delivery check`;
  return "PASSED — every invariant held";
}

function days(msValue: number): string {
  const value = msValue / DAY_MS;
  if (value < 1) return formatVirtualTime(msValue).replace(/^day 0 /, "");
  const rounded = Number(value.toFixed(2));
  return `${rounded} day${rounded === 1 ? "" : "s"}`;
}

function ms(value: number): string {
  if (value >= 60_000) return formatWall(value / 1000);
  if (value >= 1000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value)} ms`;
}

function mib(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

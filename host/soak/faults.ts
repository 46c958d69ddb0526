/**
 * Fault schedules for the soak: named profiles that draw faults at random (seeded) rates,
 * and custom schedules from JSON. A plan is a list of {@link FaultStep}s in time order;
 * host/soak/injector.ts applies them on the virtual clock.
 *
 * Kinds (per device unless noted):
 *
 * | kind | what happens | with `--real` (Mosquitto behind a fault proxy per device) |
 * |---|---|---|
 * | `drop` | the connection is reset (both ends told) | the proxy drops the device's connections |
 * | `outage` | for `durationMs` every connection is refused and the open one reset | the proxy refuses and drops |
 * | `long-outage` | the same for hours: the outbox fills, readings are refused (OUTBOX_FULL) | the same, for tens of seconds (`real` profile) |
 * | `blackhole` | for `durationMs` the open connection carries nothing, both ways, and nobody is told (half-open, until keepalive notices); new connections are refused | the proxy discards both ways and refuses; at the end it drops what lived through it |
 * | `partial` | for `durationMs` the device's send buffer is `bytes` long: writes are accepted partially | the same, on the device's simulated link |
 * | `latency` | for `durationMs` the link's latency is `latencyMs`, both ways | the proxy delays both ways |
 * | `restart` | the broker restarts after `downtimeMs`, keeping sessions or not; in virtual time each device has a broker of its own (so that sharding changes nothing), and a step with `device` restarts that device's broker, one without every broker | keeping: SIGTERM (persistence saves them), start again; not: SIGKILL and the persistence file deleted — a crash the soak cannot excuse (no broker hooks), so its losses fail the run |
 * | `jump` | clock-wide: the firmware's millisecond counter jumps by `jumpMs` | the same |
 * | `power-loss` | the device's power goes for `durationMs`: its RAM is lost (no DISCONNECT), then it boots again — with `--persist` from the last complete save in its simulated flash. With `duringSave`, the power goes during the `save`-th save from then instead (1, the next, by default; within {@link DURING_SAVE_WITHIN_MS}), the slot's write cut after `cut` × its length bytes (host/soak/power.ts) | the same (the device is simulated either way) |
 * | `deep-sleep` | the device disconnects, keeps only the persistent block (RTC memory), sleeps for `durationMs`, wakes, restores it and reconnects | the same |
 * | `lose` | test only: the broker silently drops the device's next telemetry message, on its way to the observer (`"stage": "forward"`, the default) or right after acknowledging it (`"stage": "publish"`) | refused: it needs aedes's hooks |
 *
 * `power-loss` and `deep-sleep` are in no profile: name them in `--faults` to draw them too
 * (`default,power-loss,deep-sleep`), at the rates of {@link POWER_RATES}.
 *
 * The 32-bit wrap is not a step: every run starts its counter so that it wraps (`--u32-start`).
 * The `real` profile draws minutes' worth of faults for `--real`; with `--real` no profile
 * draws restarts that lose sessions, and with `--real --broker URL` (a broker the soak
 * does not control) none at all.
 *
 * JSON schedule (`--faults file.json`), times in seconds of virtual time (or `"day D hh:mm:ss"`):
 *
 * ```json
 * { "profile": "none",
 *   "steps": [ { "at": 3600, "do": "blackhole", "device": 1, "duration": 300 },
 *              { "at": "day 0 02:00:00", "do": "restart", "keepSessions": false, "downtime": 5 },
 *              { "at": 9000, "do": "jump", "ms": 60000 },
              { "at": 9600, "do": "power-loss", "device": 2, "duration": 30, "duringSave": true, "save": 2, "cut": 0.5 },
              { "at": 12000, "do": "deep-sleep", "device": 1, "duration": 600 } ] }
 * ```
 * `device` is a 1-based index, a device id, or `"all"` (the default for per-device kinds).
 *
 * @example
 * const spec = parseFaultSpec("default,./extra.json");
 * const plan = planFaults({ spec, deviceIds, durationMs, random: root.fork("faults") });
 */
import { readFileSync } from "node:fs";
import type { Random } from "../sim/random.ts";

/** Every fault kind. */
export const FAULT_KINDS = ["drop", "outage", "long-outage", "blackhole", "partial", "latency", "restart", "jump", "power-loss", "deep-sleep", "lose"] as const;
/** A fault kind. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One fault at a virtual time. */
export interface FaultStep {
  atMs: number;
  kind: FaultKind;
  /** The device's index (per-device kinds). */
  device?: number;
  durationMs?: number;
  /** `partial`: the send buffer's size. */
  bytes?: number;
  /** `latency`: one-way latency. */
  latencyMs?: number;
  /** `restart`. */
  keepSessions?: boolean;
  downtimeMs?: number;
  /** `jump`: how far the counter jumps (either sign). */
  jumpMs?: number;
  /** `lose`: where the broker drops the message. */
  stage?: "forward" | "publish";
  /** `power-loss`: the power goes during a save rather than now … */
  duringSave?: boolean;
  /** … the `save`-th from now (1: the next; a save follows every change: a reading accepted, an ack, a PUBREC) … */
  save?: number;
  /** … cutting its write after this fraction [0, 1) of the slot. */
  cut?: number;
}

/** The fault kinds `--faults` draws when named (in no profile). */
export const POWER_KINDS = ["power-loss", "deep-sleep"] as const;
/** A kind of {@link POWER_KINDS}. */
export type PowerKind = (typeof POWER_KINDS)[number];

/** The profiles `--faults` knows. */
export const PROFILE_NAMES = ["none", "light", "default", "harsh", "real"] as const;
/** A profile's name. */
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** A value drawn uniformly from [min, max]. */
interface Range {
  min: number;
  max: number;
}

/** How a profile draws faults: rates per device-day (per broker-day for restarts, per day for clock faults). */
interface Profile {
  drop: number;
  outage: { rate: number; duration: Range };
  longOutage: { rate: number; duration: Range };
  blackhole: { rate: number; duration: Range };
  partial: { rate: number; duration: Range; bytes: Range };
  latency: { rate: number; duration: Range; latency: Range };
  restartKeep: number;
  restartFresh: number;
  downtime: Range;
  jump: { rate: number; size: Range; backward: boolean };
}

const SECOND = 1000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
/** A rate per (device-)minute as the profiles' rate per (device-)day. */
const PER_MINUTE = 1440;

const PROFILES: Record<Exclude<ProfileName, "none">, Profile> = {
  // a quarter of the default's rates, no long outages and no restarts losing sessions
  light: {
    drop: 1,
    outage: { rate: 0.25, duration: { min: 0.5 * MINUTE, max: 5 * MINUTE } },
    longOutage: { rate: 0, duration: { min: 1 * HOUR, max: 1 * HOUR } },
    blackhole: { rate: 0.25, duration: { min: 2 * MINUTE, max: 4 * MINUTE } },
    partial: { rate: 0.5, duration: { min: 2 * MINUTE, max: 10 * MINUTE }, bytes: { min: 8, max: 64 } },
    latency: { rate: 0.75, duration: { min: 1 * MINUTE, max: 5 * MINUTE }, latency: { min: 200, max: 2000 } },
    restartKeep: 0.25,
    restartFresh: 0,
    downtime: { min: 1000, max: 10_000 },
    jump: { rate: 0.25, size: { min: 1000, max: 60_000 }, backward: false },
  },
  default: {
    drop: 4,
    outage: { rate: 1, duration: { min: 0.5 * MINUTE, max: 10 * MINUTE } },
    longOutage: { rate: 0.25, duration: { min: 1 * HOUR, max: 3 * HOUR } },
    blackhole: { rate: 1, duration: { min: 2 * MINUTE, max: 6 * MINUTE } },
    partial: { rate: 2, duration: { min: 2 * MINUTE, max: 20 * MINUTE }, bytes: { min: 1, max: 64 } },
    latency: { rate: 3, duration: { min: 1 * MINUTE, max: 10 * MINUTE }, latency: { min: 500, max: 5000 } },
    restartKeep: 1,
    restartFresh: 0.5,
    downtime: { min: 1000, max: 20_000 },
    jump: { rate: 1, size: { min: 1000, max: 10 * MINUTE }, backward: false },
  },
  harsh: {
    drop: 16,
    outage: { rate: 4, duration: { min: 0.5 * MINUTE, max: 20 * MINUTE } },
    longOutage: { rate: 1, duration: { min: 1 * HOUR, max: 6 * HOUR } },
    blackhole: { rate: 4, duration: { min: 2 * MINUTE, max: 10 * MINUTE } },
    partial: { rate: 8, duration: { min: 2 * MINUTE, max: 30 * MINUTE }, bytes: { min: 1, max: 8 } },
    latency: { rate: 12, duration: { min: 1 * MINUTE, max: 20 * MINUTE }, latency: { min: 1000, max: 15_000 } },
    restartKeep: 4,
    restartFresh: 2,
    downtime: { min: 1000, max: 60_000 },
    jump: { rate: 4, size: { min: 1000, max: 10 * MINUTE }, backward: true },
  },
  // for `--real`: minutes of real time, keepalive 5 s (black-holes outlast two keepalives)
  real: {
    drop: 0.5 * PER_MINUTE,
    outage: { rate: 0.2 * PER_MINUTE, duration: { min: 2 * SECOND, max: 6 * SECOND } },
    longOutage: { rate: 0.03 * PER_MINUTE, duration: { min: 25 * SECOND, max: 45 * SECOND } },
    blackhole: { rate: 0.2 * PER_MINUTE, duration: { min: 12 * SECOND, max: 20 * SECOND } },
    partial: { rate: 0.3 * PER_MINUTE, duration: { min: 5 * SECOND, max: 20 * SECOND }, bytes: { min: 1, max: 64 } },
    latency: { rate: 0.5 * PER_MINUTE, duration: { min: 3 * SECOND, max: 15 * SECOND }, latency: { min: 200, max: 2000 } },
    restartKeep: 0.5 * PER_MINUTE,
    restartFresh: 0,
    downtime: { min: 1 * SECOND, max: 5 * SECOND },
    jump: { rate: 0.2 * PER_MINUTE, size: { min: 1 * SECOND, max: 10 * SECOND }, backward: false },
  },
};

/**
 * How `power-loss` and `deep-sleep` are drawn when named: per device-day in virtual time
 * (per device-minute's worth with `--real`), off or asleep for a uniform time in the range;
 * half the power losses fall during a save, one of the next four (so every kind of save
 * is cut: a reading accepted, its PUBACK, PUBREC or PUBCOMP).
 */
export const POWER_RATES: Record<"virtual" | "real", Record<PowerKind, { rate: number; duration: Range }>> = {
  virtual: {
    "power-loss": { rate: 4, duration: { min: 2 * SECOND, max: 10 * MINUTE } },
    "deep-sleep": { rate: 12, duration: { min: 1 * MINUTE, max: 20 * MINUTE } },
  },
  real: {
    "power-loss": { rate: 0.3 * PER_MINUTE, duration: { min: 1 * SECOND, max: 5 * SECOND } },
    "deep-sleep": { rate: 0.3 * PER_MINUTE, duration: { min: 2 * SECOND, max: 8 * SECOND } },
  },
};

/** A `power-loss` during a save waits at most this long for the save; then the power goes between saves. */
export const DURING_SAVE_WITHIN_MS = MINUTE;

/** No drawn fault starts before this (by default): the observer subscribes and the devices power on first. */
export const FAULT_WARMUP_MS = 2 * MINUTE;

/** A `--faults` value: a profile and custom steps (device references unresolved). */
export interface FaultSpec {
  profile: ProfileName;
  /** Kinds drawn besides the profile's (`power-loss`, `deep-sleep`). */
  added: PowerKind[];
  steps: CustomStep[];
  /** Where the custom steps came from, for messages. */
  sources: string[];
}

/** A step from a JSON schedule, its device not yet resolved. */
export interface CustomStep extends Omit<FaultStep, "device"> {
  device?: number | string;
}

/** A mistake in a `--faults` value. */
export class FaultSpecError extends Error {}

/**
 * Parses `--faults`: a profile name, a JSON file path, or both separated by a comma
 * (`default,extra.json`), and the kinds of {@link POWER_KINDS} to draw as well
 * (`default,power-loss`). Throws {@link FaultSpecError} naming the problem.
 */
export function parseFaultSpec(value: string, read: (path: string) => string = (path) => readFileSync(path, "utf8")): FaultSpec {
  const spec: FaultSpec = { profile: "none", added: [], steps: [], sources: [] };
  let named = false;
  for (const part of value.split(",").map((item) => item.trim()).filter((item) => item !== "")) {
    if ((PROFILE_NAMES as readonly string[]).includes(part)) {
      if (named) throw new FaultSpecError(`--faults names two profiles ('${spec.profile}' and '${part}')`);
      spec.profile = part as ProfileName;
      named = true;
      continue;
    }
    if ((POWER_KINDS as readonly string[]).includes(part)) {
      if (!spec.added.includes(part as PowerKind)) spec.added.push(part as PowerKind);
      continue;
    }
    if (!part.endsWith(".json")) throw new FaultSpecError(`--faults '${part}' is neither a profile (${PROFILE_NAMES.join(", ")}) nor a .json schedule, nor a kind drawn on request (${POWER_KINDS.join(", ")})`);
    let text: string;
    try {
      text = read(part);
    } catch (error) {
      throw new FaultSpecError(`cannot read the fault schedule ${part}: ${(error as Error).message}`);
    }
    const schedule = parseSchedule(text, part);
    if (schedule.profile !== undefined) {
      if (named && schedule.profile !== spec.profile) throw new FaultSpecError(`${part} names profile '${schedule.profile}' but --faults names '${spec.profile}'`);
      spec.profile = schedule.profile;
      named = true;
    }
    spec.steps.push(...schedule.steps);
    spec.sources.push(part);
  }
  return spec;
}

/** Parses a JSON schedule (see the file comment). */
export function parseSchedule(text: string, source = "schedule"): { profile?: ProfileName; steps: CustomStep[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FaultSpecError(`${source} is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new FaultSpecError(`${source}: expected an object with "steps"`);
  const { profile, steps } = json as { profile?: unknown; steps?: unknown };
  if (profile !== undefined && !(PROFILE_NAMES as readonly unknown[]).includes(profile)) {
    throw new FaultSpecError(`${source}: "profile" must be one of ${PROFILE_NAMES.join(", ")}`);
  }
  if (!Array.isArray(steps)) throw new FaultSpecError(`${source}: "steps" must be an array`);
  return { profile: profile as ProfileName | undefined, steps: steps.map((step, index) => parseStep(step, `${source} step ${index + 1}`)) };
}

function parseStep(value: unknown, where: string): CustomStep {
  if (typeof value !== "object" || value === null) throw new FaultSpecError(`${where}: expected an object`);
  const raw = value as Record<string, unknown>;
  const kind = raw.do;
  if (!(FAULT_KINDS as readonly unknown[]).includes(kind)) throw new FaultSpecError(`${where}: "do" must be one of ${FAULT_KINDS.join(", ")} (got ${JSON.stringify(kind)})`);
  const step: CustomStep = { atMs: parseTime(raw.at, `${where} "at"`), kind: kind as FaultKind };
  const seconds = (name: string): number | undefined => (raw[name] === undefined ? undefined : nonNegative(raw[name], `${where} "${name}"`) * 1000);
  if (raw.device !== undefined) {
    if (raw.device === "all") step.device = undefined;
    else if (typeof raw.device === "string" || (typeof raw.device === "number" && Number.isInteger(raw.device) && raw.device >= 1)) step.device = raw.device;
    else throw new FaultSpecError(`${where}: "device" must be a 1-based index, a device id or "all"`);
  }
  const needsDuration = ["outage", "long-outage", "blackhole", "partial", "latency", "power-loss", "deep-sleep"].includes(step.kind);
  step.durationMs = seconds("duration");
  if (needsDuration && step.durationMs === undefined) throw new FaultSpecError(`${where}: "${step.kind}" needs "duration" (seconds)`);
  if (step.kind === "partial") step.bytes = Math.max(1, Math.round(nonNegative(raw.bytes ?? 16, `${where} "bytes"`)));
  if (step.kind === "latency") step.latencyMs = nonNegative(raw.ms ?? 2000, `${where} "ms"`);
  if (step.kind === "restart") {
    if (raw.keepSessions !== undefined && typeof raw.keepSessions !== "boolean") throw new FaultSpecError(`${where}: "keepSessions" must be true or false`);
    step.keepSessions = (raw.keepSessions as boolean | undefined) ?? true;
    step.downtimeMs = seconds("downtime") ?? 0;
  }
  if (step.kind === "lose") {
    if (raw.stage !== undefined && raw.stage !== "forward" && raw.stage !== "publish") throw new FaultSpecError(`${where}: "stage" must be "forward" or "publish"`);
    step.stage = (raw.stage as "forward" | "publish" | undefined) ?? "forward";
  }
  if (step.kind === "power-loss") {
    if (raw.duringSave !== undefined && typeof raw.duringSave !== "boolean") throw new FaultSpecError(`${where}: "duringSave" must be true or false`);
    step.duringSave = (raw.duringSave as boolean | undefined) ?? false;
    const cut = raw.cut ?? 0.5;
    if (typeof cut !== "number" || !(cut >= 0 && cut < 1)) throw new FaultSpecError(`${where}: "cut" must be a number ≥ 0 and < 1 (the part of the slot written; got ${JSON.stringify(raw.cut)})`);
    step.cut = cut;
    const save = raw.save ?? 1;
    if (typeof save !== "number" || !Number.isInteger(save) || save < 1) throw new FaultSpecError(`${where}: "save" must be a whole number ≥ 1 (which save from then on is cut; got ${JSON.stringify(raw.save)})`);
    step.save = save;
  }
  if (step.kind === "jump") {
    if (typeof raw.ms !== "number" || !Number.isFinite(raw.ms)) throw new FaultSpecError(`${where}: "jump" needs "ms" (a number, either sign)`);
    step.jumpMs = raw.ms;
  }
  return step;
}

/** Seconds (a number) or `day D hh:mm:ss` / `hh:mm:ss`, as virtual ms. */
export function parseTime(value: unknown, where: string): number {
  if (typeof value === "number") return nonNegative(value, where) * 1000;
  if (typeof value === "string") {
    const match = /^(?:day\s+(\d+)\s+)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
    if (match !== null) {
      const [, day, hours, minutes, secs] = match;
      return ((Number(day ?? 0) * 24 + Number(hours)) * 3600 + Number(minutes) * 60 + Number(secs)) * 1000;
    }
  }
  throw new FaultSpecError(`${where} must be seconds or "day D hh:mm:ss" (got ${JSON.stringify(value)})`);
}

function nonNegative(value: unknown, where: string): number {
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) throw new FaultSpecError(`${where} must be a number ≥ 0 (got ${JSON.stringify(value)})`);
  return value;
}

/** The soak's broker: aedes in process, Mosquitto the soak started (`--real`), or the user's (`--real --broker URL`), which it cannot restart. */
export type SoakBrokerKind = "aedes" | "mosquitto" | "external";

/** The fault kinds a broker allows: `lose` needs aedes's hooks, `restart` a broker the soak controls. */
export function possibleFaults(broker: SoakBrokerKind): FaultKind[] {
  return FAULT_KINDS.filter((kind) => !(kind === "lose" && broker !== "aedes") && !(kind === "restart" && broker === "external"));
}

/** What {@link planFaults} needs. */
export interface PlanOptions {
  spec: FaultSpec;
  deviceIds: readonly string[];
  /** Drawn faults start in [warmupMs, durationMs) and end by durationMs. */
  durationMs: number;
  random: Random;
  /** Default {@link FAULT_WARMUP_MS}. */
  warmupMs?: number;
  /**
   * The soak's broker (default aedes). With `mosquitto` (`--real`) the profile draws only
   * restarts that keep sessions, and `lose` steps, which need aedes's hooks, are refused.
   */
  broker?: SoakBrokerKind;
  /** Each device has a broker of its own (virtual time): restarts are drawn per device and carry it. Default false (one broker). */
  brokerPerDevice?: boolean;
}

/**
 * The plan of one run: the profile's faults drawn from `random` (each kind and device its
 * own stream, so the same seed gives the same plan), with at least one of every kind the
 * profile has when the run is long enough, plus the custom steps. Sorted by time (stable).
 * Throws {@link FaultSpecError} for a custom step naming an unknown device, a `lose`
 * step with Mosquitto, or a `restart` step with the user's broker.
 */
export function planFaults(options: PlanOptions): FaultStep[] {
  const { spec, deviceIds, durationMs, random } = options;
  const broker = options.broker ?? "aedes";
  const profile = spec.profile === "none" ? undefined : PROFILES[spec.profile];
  const drawn = profile === undefined ? undefined : broker === "external" ? { ...profile, restartKeep: 0, restartFresh: 0 } : broker === "mosquitto" ? { ...profile, restartFresh: 0 } : profile;
  const warmupMs = options.warmupMs ?? FAULT_WARMUP_MS;
  const steps: FaultStep[] = drawn === undefined ? [] : drawProfile(drawn, deviceIds.length, durationMs, warmupMs, random, options.brokerPerDevice === true);
  if (spec.added.length > 0 && durationMs > warmupMs) {
    const draw = new Drawing(durationMs, warmupMs, random);
    for (const kind of spec.added) steps.push(...draw.powerFaults(kind, POWER_RATES[broker === "aedes" ? "virtual" : "real"][kind], deviceIds.length));
  }
  for (const custom of spec.steps) {
    if (broker !== "aedes" && custom.kind === "lose") throw new FaultSpecError(`a "lose" step needs the in-process broker's hooks: --real cannot inject it`);
    if (broker === "external" && custom.kind === "restart") throw new FaultSpecError(`a "restart" step needs a broker the soak controls: --broker names one it does not`);
    const targets = resolveDevices(custom, deviceIds);
    for (const device of targets) steps.push({ ...custom, device });
  }
  return steps.map((step, order) => ({ step, order })).sort((a, b) => a.step.atMs - b.step.atMs || a.order - b.order).map(({ step }) => step);
}

/** The virtual time by which every step of a plan has ended. */
export function planEnd(plan: readonly FaultStep[]): number {
  return plan.reduce((end, step) => Math.max(end, step.atMs + (step.durationMs ?? 0) + (step.downtimeMs ?? 0) + (step.duringSave === true ? DURING_SAVE_WITHIN_MS : 0)), 0);
}

/** The device indexes a custom step applies to (undefined: a broker- or clock-wide step). */
function resolveDevices(step: CustomStep, deviceIds: readonly string[]): (number | undefined)[] {
  if (step.kind === "jump" || (step.kind === "restart" && step.device === undefined)) return [undefined];
  if (step.device === undefined) return deviceIds.map((_, index) => index);
  if (typeof step.device === "number") {
    if (step.device > deviceIds.length) throw new FaultSpecError(`a "${step.kind}" step names device ${step.device}, but there are ${deviceIds.length}`);
    return [step.device - 1];
  }
  const index = deviceIds.indexOf(step.device);
  if (index < 0) throw new FaultSpecError(`a "${step.kind}" step names device "${step.device}", which is not one of ${deviceIds.slice(0, 5).join(", ")}${deviceIds.length > 5 ? ", …" : ""}`);
  return [index];
}

/** Draws a profile's faults: Poisson arrivals per kind (and device), durations uniform in their range. */
function drawProfile(profile: Profile, devices: number, durationMs: number, warmupMs: number, random: Random, brokerPerDevice: boolean): FaultStep[] {
  if (durationMs <= warmupMs) return [];
  const draw = new Drawing(durationMs, warmupMs, random);
  const restarts = brokerPerDevice
    ? [...draw.deviceRestarts(profile, true, devices), ...draw.deviceRestarts(profile, false, devices)]
    : [...draw.restarts(profile, true), ...draw.restarts(profile, false)];
  return [...draw.deviceFaults(profile, devices), ...restarts, ...draw.jumps(profile)];
}

/** A fault kind that hits one device, and how one is made. */
interface DeviceKind {
  kind: FaultKind;
  /** Per device-day. */
  rate: number;
  make(atMs: number, stream: Random): Omit<FaultStep, "device">;
}

/** Drawing the faults of one run: every kind (and device) from a stream of its own. */
class Drawing {
  /** Virtual ms in which faults may start. */
  private readonly span: number;

  constructor(
    private readonly durationMs: number,
    private readonly warmupMs: number,
    private readonly random: Random,
  ) {
    this.span = durationMs - warmupMs;
  }

  /** Per-device faults; a kind that drew none gets one on a drawn device (every run exercises every kind). */
  deviceFaults(profile: Profile, devices: number): FaultStep[] {
    const steps: FaultStep[] = [];
    for (const { kind, rate, make } of this.deviceKinds(profile)) {
      let drawn = 0;
      for (let device = 0; device < devices; device++) {
        const stream = this.random.fork(`${kind}/${device}`);
        for (const at of this.arrivals(stream, rate)) {
          steps.push({ ...make(at, stream), device });
          drawn++;
        }
      }
      if (drawn === 0 && rate > 0) {
        const stream = this.random.fork(`${kind}/ensure`);
        const device = Math.floor(stream.float() * devices);
        steps.push({ ...make(this.early(stream, 0.5), stream), device });
      }
    }
    return steps;
  }

  /** Broker restarts keeping sessions (or not), at least one. */
  restarts(profile: Profile, keepSessions: boolean): FaultStep[] {
    const stream = this.random.fork(keepSessions ? "restart/keep" : "restart/fresh");
    const rate = keepSessions ? profile.restartKeep : profile.restartFresh;
    return this.atLeastOne(stream, rate).map((at) => ({ atMs: at, kind: "restart", keepSessions, downtimeMs: Math.round(uniform(stream, profile.downtime)) }));
  }

  /** Restarts of each device's own broker (keeping sessions or not), each device its own stream; at least one on a drawn device. */
  deviceRestarts(profile: Profile, keepSessions: boolean, devices: number): FaultStep[] {
    const label = keepSessions ? "restart/keep" : "restart/fresh";
    const rate = keepSessions ? profile.restartKeep : profile.restartFresh;
    const make = (atMs: number, stream: Random, device: number): FaultStep => ({ atMs, kind: "restart", device, keepSessions, downtimeMs: Math.round(uniform(stream, profile.downtime)) });
    const steps: FaultStep[] = [];
    for (let device = 0; device < devices; device++) {
      const stream = this.random.fork(`${label}/${device}`);
      for (const at of this.arrivals(stream, rate)) steps.push(make(at, stream, device));
    }
    if (steps.length === 0 && rate > 0) {
      const stream = this.random.fork(`${label}/ensure`);
      const device = Math.floor(stream.float() * devices);
      steps.push(make(this.early(stream, 0.6), stream, device));
    }
    return steps;
  }

  /** Power losses or deep-sleep cycles per device, each device its own stream; at least one on a drawn device. */
  powerFaults(kind: PowerKind, rates: { rate: number; duration: Range }, devices: number): FaultStep[] {
    const make = (at: number, stream: Random, device: number): FaultStep => {
      const step: FaultStep = { kind, ...this.place(at, rates.duration, stream), device };
      if (kind === "power-loss") {
        step.duringSave = stream.float() < 0.5;
        step.save = 1 + Math.floor(stream.float() * 4);
        step.cut = stream.float();
      }
      return step;
    };
    const steps: FaultStep[] = [];
    for (let device = 0; device < devices; device++) {
      const stream = this.random.fork(`${kind}/${device}`);
      for (const at of this.arrivals(stream, rates.rate)) steps.push(make(at, stream, device));
    }
    if (steps.length === 0) {
      const stream = this.random.fork(`${kind}/ensure`);
      steps.push(make(this.early(stream, 0.5), stream, Math.floor(stream.float() * devices)));
    }
    return steps;
  }

  /** Clock jumps, at least one; whole seconds, so readings keep whole-second uptimes and latencies stay exact. */
  jumps(profile: Profile): FaultStep[] {
    const stream = this.random.fork("jump");
    return this.atLeastOne(stream, profile.jump.rate).map((at) => {
      const size = Math.round(uniform(stream, profile.jump.size) / 1000) * 1000;
      const sign = profile.jump.backward && stream.float() < 0.3 ? -1 : 1;
      return { atMs: at, kind: "jump", jumpMs: sign * size };
    });
  }

  private deviceKinds(profile: Profile): DeviceKind[] {
    const lasting = (kind: FaultKind, range: Range, extra: (stream: Random) => Partial<FaultStep> = () => ({})) =>
      (at: number, stream: Random): FaultStep => ({ kind, ...this.place(at, range, stream), ...extra(stream) });
    return [
      { kind: "drop", rate: profile.drop, make: (at) => ({ atMs: at, kind: "drop" }) },
      { kind: "outage", rate: profile.outage.rate, make: lasting("outage", profile.outage.duration) },
      { kind: "long-outage", rate: profile.longOutage.rate, make: lasting("long-outage", profile.longOutage.duration) },
      { kind: "blackhole", rate: profile.blackhole.rate, make: lasting("blackhole", profile.blackhole.duration) },
      { kind: "partial", rate: profile.partial.rate, make: lasting("partial", profile.partial.duration, (s) => ({ bytes: Math.round(uniform(s, profile.partial.bytes)) })) },
      { kind: "latency", rate: profile.latency.rate, make: lasting("latency", profile.latency.duration, (s) => ({ latencyMs: Math.round(uniform(s, profile.latency.latency)) })) },
    ];
  }

  /** A fault drawn from `range`, moved earlier when it would end after the run. */
  private place(at: number, range: Range, stream: Random): { atMs: number; durationMs: number } {
    const duration = Math.min(uniform(stream, range), this.span);
    return { atMs: Math.floor(Math.min(at, this.durationMs - duration)), durationMs: Math.round(duration) };
  }

  /** Poisson arrival times (ms) of `perDay` events a day, from the warm-up to the end. */
  private arrivals(stream: Random, perDay: number): number[] {
    const times: number[] = [];
    if (perDay <= 0) return times;
    for (let t = this.warmupMs + exponential(stream, perDay); t < this.durationMs; t += exponential(stream, perDay)) times.push(Math.floor(t));
    return times;
  }

  private atLeastOne(stream: Random, perDay: number): number[] {
    const times = this.arrivals(stream, perDay);
    return times.length === 0 && perDay > 0 ? [this.early(stream, 0.6)] : times;
  }

  /** A time in the first `fraction` of the span. */
  private early(stream: Random, fraction: number): number {
    return this.warmupMs + Math.floor(stream.float() * this.span * fraction);
  }
}

function uniform(stream: Random, range: Range): number {
  return range.min + stream.float() * (range.max - range.min);
}

/** An exponential gap (ms) for a Poisson process of `perDay` events per day. */
function exponential(stream: Random, perDay: number): number {
  return (-Math.log(1 - stream.float()) / perDay) * 86_400_000;
}

/**
 * Board files (`boards/<name>.json`): the real hardware a user flashes, validated on load.
 * boards/README.md explains every field; this file is the checked, typed form of it.
 *
 * @example
 * const board = loadBoard("esp32-devkitc");
 * const raw = rawFromMillivolts(board, 0, 750); // TMP36 at 25 °C → 991
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { packageRoot } from "./platform.ts";

/** The module build a board runs (`build/<profile>.wasm`). */
export type BuildProfile = "desktop" | "esp32" | "nodemcu";
/** Sensor types the firmware has drivers for. */
export type SensorKind = "tmp36" | "soil-moisture";
/** ADC input attenuation; `none` for ADCs without one (ESP8266). */
export type Attenuation = "none" | "0dB" | "2.5dB" | "6dB" | "11dB";

/** The board's ADC as the firmware's `adcRead(channel)` sees it. */
export interface Adc {
  bits: 10 | 12;
  /** Voltage at the chip's ADC input that reads full scale (2^bits − 1) with this attenuation. */
  referenceMv: number;
  attenuation: Attenuation;
  /** [min, max] mV at the chip where the datasheet calls the ADC accurate; it bends outside. */
  linearMv: [number, number];
  /** Board pin voltage ÷ chip input voltage (NodeMCU 220k + 100k divider: 3.2; none: 1). */
  dividerRatio: number;
  /** Logical channels `adcRead` accepts: 0 … channels − 1. */
  channels: number;
  /** Typical standard deviation of one reading, in LSB. */
  noiseLsb: number;
}

/** An analog multiplexer in front of the ADC pin (NodeMCU: a CD4051 on A0). */
export interface AnalogMux {
  chip: string;
  /** GPIO numbers of the select lines, least significant first (S0, S1, S2). */
  select: number[];
  /** The board pin the common output is wired to. */
  common: string;
}

/** A sensor wired to one logical ADC channel. */
export interface Sensor {
  kind: SensorKind;
  /** The number the firmware passes to `adcRead`. */
  channel: number;
  /** The board pin the reading comes through ("GPIO34", "A0"). */
  pin: string;
  /** The chip's ADC input behind that pin ("ADC1_CH6", "TOUT"). */
  adcInput: string;
  /** Which multiplexer input the sensor is on, when the board has a mux. */
  mux?: { input: number };
}

/** A digital output the firmware switches on commands. */
export interface OutputPin {
  gpio: number;
  /** True when writing 0 turns it on (the ESP-12 LED on GPIO2). */
  activeLow: boolean;
}

/** A validated board file. */
export interface Board {
  name: string;
  description: string;
  mcu: string;
  arch: string;
  fpu: boolean;
  profile: BuildProfile;
  /** The most static RAM the module may use on this board. */
  ramBudgetBytes: number;
  supplyMv: number;
  adc: Adc;
  mux?: AnalogMux;
  sensors: Sensor[];
  /** Raw readings of the moisture sensor in dry air (0 %) and in water (100 %). */
  calibration: { moisture: { dryRaw: number; wetRaw: number } };
  gpio: { led: OutputPin; relay: OutputPin };
}

/** Thrown for an unreadable or invalid board file; the message names the file and field. */
export class BoardError extends Error {
  readonly code = "INVALID_BOARD";
}

const PROFILES: readonly BuildProfile[] = ["desktop", "esp32", "nodemcu"];
const SENSOR_KINDS: readonly SensorKind[] = ["tmp36", "soil-moisture"];
const ATTENUATIONS: readonly Attenuation[] = ["none", "0dB", "2.5dB", "6dB", "11dB"];
const ADC_BITS = [10, 12] as const;
const MAX_GPIO = 48;
/** ADC2 cannot be read while Wi-Fi is on, so sensors must use ADC1 (or the ESP8266's TOUT). */
const ADC_INPUT = /^(ADC1_CH[0-9]|TOUT)$/;
const ADC_INPUT_RULE = "an ADC1 channel (ADC1_CH0 … ADC1_CH9) or TOUT; ADC2 is unusable while Wi-Fi is on";

/** Reads and validates `boards/<name>.json`, or a path when the argument contains "/" or ends in ".json". */
export function loadBoard(nameOrPath: string): Board {
  const byPath = nameOrPath.includes("/") || nameOrPath.endsWith(".json");
  const file = byPath ? resolve(nameOrPath) : join(boardsDirectory(), `${nameOrPath}.json`);
  const source = sourceLabel(file);
  if (!existsSync(file)) {
    throw new BoardError(`${source}: no such board file (known boards: ${listBoards().join(", ")})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new BoardError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const board = validateBoard(json, source);
  if (!byPath && board.name !== nameOrPath) {
    throw new BoardError(`${source}: name must match the file name "${nameOrPath}" (got ${show(board.name)})`);
  }
  return board;
}

/** The names of the shipped board files, sorted. */
export function listBoards(): string[] {
  return readdirSync(boardsDirectory())
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

/** Checks parsed JSON against the board schema; `source` prefixes every error message. */
export function validateBoard(json: unknown, source: string): Board {
  const fields = new Fields(source);
  const root = fields.object(json, "", [
    "name", "description", "mcu", "arch", "fpu", "profile", "ramBudgetBytes", "supplyMv",
    "adc", "mux", "sensors", "calibration", "gpio",
  ]);
  const chip = {
    name: fields.string(root.name, "name"),
    description: fields.string(root.description, "description"),
    mcu: fields.string(root.mcu, "mcu"),
    arch: fields.string(root.arch, "arch"),
    fpu: fields.boolean(root.fpu, "fpu"),
    profile: fields.oneOf(root.profile, "profile", PROFILES),
    ramBudgetBytes: fields.integer(root.ramBudgetBytes, "ramBudgetBytes", 1024, 65536),
    supplyMv: fields.integer(root.supplyMv, "supplyMv", 1800, 5500),
  };
  const adc = readAdc(fields, root.adc);
  const mux = root.mux === undefined ? undefined : readMux(fields, root.mux);
  const board: Board = {
    ...chip,
    adc,
    ...(mux === undefined ? {} : { mux }),
    sensors: readSensors(fields, root.sensors, adc, mux),
    calibration: readCalibration(fields, root.calibration, adc),
    gpio: readGpio(fields, root.gpio),
  };
  checkPinsDistinct(fields, board);
  return board;
}

/** The ideal reading for `mv` at the board pin of `channel`: divider, then linear 0 … full scale. */
export function rawFromMillivolts(board: Board, channel: number, mv: number): number {
  checkChannel(board, channel);
  const { adc } = board;
  const raw = Math.round((mv / adc.dividerRatio / adc.referenceMv) * maxRaw(adc));
  return Math.min(maxRaw(adc), Math.max(0, raw));
}

/** The board pin voltage in mV that ideally reads `raw` on `channel`. */
export function millivoltsFromRaw(board: Board, channel: number, raw: number): number {
  checkChannel(board, channel);
  const { adc } = board;
  return (raw / maxRaw(adc)) * adc.referenceMv * adc.dividerRatio;
}

/** The largest reading of an ADC: 2^bits − 1. */
export function maxRaw(adc: Adc): number {
  return 2 ** adc.bits - 1;
}

/** Throws a RangeError unless `channel` is one of the board's logical ADC channels. */
export function checkChannel(board: Board, channel: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel >= board.adc.channels) {
    throw new RangeError(`${board.name}: ADC channel must be 0 … ${board.adc.channels - 1} (got ${channel})`);
  }
}

function readAdc(fields: Fields, value: unknown): Adc {
  const adc = fields.object(value, "adc", [
    "bits", "referenceMv", "attenuation", "linearMv", "dividerRatio", "channels", "noiseLsb",
  ]);
  const referenceMv = fields.integer(adc.referenceMv, "adc.referenceMv", 500, 5000);
  const linear = fields.array(adc.linearMv, "adc.linearMv", 2, 2);
  const low = fields.integer(linear[0], "adc.linearMv[0]", 0, referenceMv - 1);
  const high = fields.integer(linear[1], "adc.linearMv[1]", low + 1, referenceMv);
  return {
    bits: fields.oneOf(adc.bits, "adc.bits", ADC_BITS),
    referenceMv,
    attenuation: fields.oneOf(adc.attenuation, "adc.attenuation", ATTENUATIONS),
    linearMv: [low, high],
    dividerRatio: fields.number(adc.dividerRatio, "adc.dividerRatio", 1, 20),
    channels: fields.integer(adc.channels, "adc.channels", 1, 16),
    noiseLsb: fields.number(adc.noiseLsb, "adc.noiseLsb", 0, 100),
  };
}

function readMux(fields: Fields, value: unknown): AnalogMux {
  const mux = fields.object(value, "mux", ["chip", "select", "common"]);
  const select = fields.array(mux.select, "mux.select", 1, 4).map((pin, i) => fields.gpio(pin, `mux.select[${i}]`));
  return { chip: fields.string(mux.chip, "mux.chip"), select, common: fields.string(mux.common, "mux.common") };
}

function readSensors(fields: Fields, value: unknown, adc: Adc, mux: AnalogMux | undefined): Sensor[] {
  const sensors = fields.array(value, "sensors", 1, adc.channels).map((item, i) => {
    const path = `sensors[${i}]`;
    const sensor = fields.object(item, path, ["kind", "channel", "pin", "adcInput", "mux"]);
    return {
      kind: fields.oneOf(sensor.kind, `${path}.kind`, SENSOR_KINDS),
      channel: fields.integer(sensor.channel, `${path}.channel`, 0, adc.channels - 1),
      pin: fields.string(sensor.pin, `${path}.pin`),
      adcInput: fields.matching(sensor.adcInput, `${path}.adcInput`, ADC_INPUT, ADC_INPUT_RULE),
      ...readSensorMux(fields, sensor.mux, path, mux),
    };
  });
  fields.distinct(sensors.map((s) => s.channel), "sensors[].channel");
  fields.distinct(sensors.map((s) => s.kind), "sensors[].kind");
  if (mux === undefined) fields.distinct(sensors.map((s) => s.pin), "sensors[].pin");
  else fields.distinct(sensors.map((s) => s.mux?.input), "sensors[].mux.input");
  return sensors;
}

/** A sensor's mux input: required when the board has a mux, refused when it has none. */
function readSensorMux(fields: Fields, value: unknown, path: string, mux: AnalogMux | undefined): { mux?: { input: number } } {
  if (mux === undefined) {
    if (value !== undefined) fields.fail(`${path}.mux`, "needs a top-level mux on the board", value);
    return {};
  }
  const sensorMux = fields.object(value, `${path}.mux`, ["input"]);
  return { mux: { input: fields.integer(sensorMux.input, `${path}.mux.input`, 0, 2 ** mux.select.length - 1) } };
}

function readCalibration(fields: Fields, value: unknown, adc: Adc): Board["calibration"] {
  const calibration = fields.object(value, "calibration", ["moisture"]);
  const moisture = fields.object(calibration.moisture, "calibration.moisture", ["dryRaw", "wetRaw"]);
  const wetRaw = fields.integer(moisture.wetRaw, "calibration.moisture.wetRaw", 0, maxRaw(adc));
  const dryRaw = fields.integer(moisture.dryRaw, "calibration.moisture.dryRaw", 0, maxRaw(adc));
  if (dryRaw <= wetRaw) {
    fields.fail("calibration.moisture.dryRaw", `must be greater than wetRaw ${wetRaw} (capacitive sensors read higher when dry)`, dryRaw);
  }
  return { moisture: { dryRaw, wetRaw } };
}

function readGpio(fields: Fields, value: unknown): Board["gpio"] {
  const gpio = fields.object(value, "gpio", ["led", "relay"]);
  const output = (item: unknown, path: string): OutputPin => {
    const pin = fields.object(item, path, ["gpio", "activeLow"]);
    return { gpio: fields.gpio(pin.gpio, `${path}.gpio`), activeLow: fields.boolean(pin.activeLow, `${path}.activeLow`) };
  };
  return { led: output(gpio.led, "gpio.led"), relay: output(gpio.relay, "gpio.relay") };
}

/** The LED, the relay and the mux select lines must each have a GPIO of their own. */
function checkPinsDistinct(fields: Fields, board: Board): void {
  fields.distinct([board.gpio.led.gpio, board.gpio.relay.gpio, ...(board.mux?.select ?? [])], "gpio and mux.select pins");
}

/** The file's path relative to the package root when inside it, for error messages. */
function sourceLabel(file: string): string {
  const fromRoot = relative(packageRoot(), file);
  return fromRoot.startsWith("..") || isAbsolute(fromRoot) ? file : fromRoot;
}

function boardsDirectory(): string {
  return join(packageRoot(), "boards");
}


function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Typed reads of JSON values; every failure names the source file and the field path. */
class Fields {
  constructor(private readonly source: string) {}

  fail(path: string, expectation: string, got: unknown): never {
    const subject = path === "" ? "the board file" : path;
    throw new BoardError(`${this.source}: ${subject} ${expectation} (got ${show(got)})`);
  }

  /** An object with only the `known` keys. */
  object(value: unknown, path: string, known: readonly string[]): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(path, "must be an object", value);
    const record = value as Record<string, unknown>;
    const unknownKey = Object.keys(record).find((key) => !known.includes(key));
    if (unknownKey !== undefined) {
      const field = path === "" ? unknownKey : `${path}.${unknownKey}`;
      this.fail(field, `is not a known field (expected one of ${known.join(", ")})`, record[unknownKey]);
    }
    return record;
  }

  array(value: unknown, path: string, minLength: number, maxLength: number): unknown[] {
    if (!Array.isArray(value) || value.length < minLength || value.length > maxLength) {
      const size = minLength === maxLength ? `${minLength}` : `${minLength} … ${maxLength}`;
      this.fail(path, `must be an array of ${size} items`, value);
    }
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== "string" || value.trim() === "") this.fail(path, "must be a non-empty string", value);
    return value;
  }

  matching(value: unknown, path: string, pattern: RegExp, description: string): string {
    const text = this.string(value, path);
    if (!pattern.test(text)) this.fail(path, `must be ${description}`, value);
    return text;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== "boolean") this.fail(path, "must be true or false", value);
    return value;
  }

  number(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.fail(path, `must be a number from ${min} to ${max}`, value);
    }
    return value;
  }

  integer(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  gpio(value: unknown, path: string): number {
    return this.integer(value, path, 0, MAX_GPIO);
  }

  oneOf<T extends string | number>(value: unknown, path: string, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) this.fail(path, `must be one of ${allowed.join(", ")}`, value);
    return value as T;
  }

  /** Fails on the first value that appears twice. */
  distinct(values: readonly unknown[], path: string): void {
    const repeated = values.find((value, i) => values.indexOf(value) !== i);
    if (repeated !== undefined) this.fail(path, "must not repeat a value", repeated);
  }
}

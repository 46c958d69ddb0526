/**
 * From physics to the number `adcRead(channel)` returns: the sensors' output voltages and
 * a board's ADC (divider, resolution, full scale, the bend outside the linear range, noise,
 * clamping). boards/README.md gives the figures and where they come from.
 *
 * @example
 * const adc = new AdcModel(loadBoard("nodemcu-v3"), random.fork("adc"));
 * adc.read(0, { airTemperatureC: 25, soilMoisturePercent: 40 }); // ≈ 240 (750 mV at A0)
 */
import { type Board, type Sensor, type SensorKind, checkChannel, maxRaw, millivoltsFromRaw } from "../boards.ts";
import type { Random } from "./random.ts";

/** What the sensors are exposed to at one moment. */
export interface SensorInputs {
  airTemperatureC: number;
  /** % of saturation, as `SoilMoisture.at` gives it. */
  soilMoisturePercent: number;
}

/** TMP36 output: 10 mV/°C with a 500 mV offset (750 mV at 25 °C). */
export function tmp36Millivolts(celsius: number): number {
  return 500 + 10 * celsius;
}

/**
 * Capacitive soil-moisture sensor output on `board` for `percent` (clamped to 0–100):
 * linear between the voltage that ideally reads the board's dryRaw (0 %) and wetRaw (100 %).
 */
export function moistureMillivolts(board: Board, percent: number): number {
  const { channel } = sensorOfKind(board, "soil-moisture");
  const { dryRaw, wetRaw } = board.calibration.moisture;
  const dryMv = millivoltsFromRaw(board, channel, dryRaw);
  const wetMv = millivoltsFromRaw(board, channel, wetRaw);
  const wetness = Math.min(100, Math.max(0, percent)) / 100;
  return dryMv + (wetMv - dryMv) * wetness;
}

/** One board's ADC with its sensors wired as the board file says. */
export class AdcModel {
  constructor(
    readonly board: Board,
    private readonly random: Random,
  ) {}

  /** The raw reading for `pinMv` at the board pin: divider, the chip's curve, noise, clamping. */
  convert(pinMv: number): number {
    const { adc } = this.board;
    const chipMv = this.bend(pinMv / adc.dividerRatio);
    const raw = Math.round((chipMv / adc.referenceMv) * maxRaw(adc) + adc.noiseLsb * this.random.normal());
    return Math.min(maxRaw(adc), Math.max(0, raw));
  }

  /**
   * The sensor on logical `channel`, if any. On a board with a mux the host puts that
   * sensor's `mux.input` on the select lines before converting, so the channel alone decides.
   */
  sensorOn(channel: number): Sensor | undefined {
    checkChannel(this.board, channel);
    return this.board.sensors.find((sensor) => sensor.channel === channel);
  }

  /** What `adcRead(channel)` returns while the sensors see `inputs`; an unwired channel reads 0 V. */
  read(channel: number, inputs: SensorInputs): number {
    const sensor = this.sensorOn(channel);
    if (sensor === undefined) return this.convert(0);
    if (sensor.kind === "tmp36") return this.convert(tmp36Millivolts(inputs.airTemperatureC));
    return this.convert(moistureMillivolts(this.board, inputs.soilMoisturePercent));
  }

  /**
   * The voltage the chip effectively converts for `chipMv`: exact inside `adc.linearMv`;
   * below it readings sag toward 0 (x²/low, the ESP32's dead zone); above it they flatten
   * (a quadratic knee that reaches full scale at high + 2·(full scale − high)).
   */
  private bend(chipMv: number): number {
    const { referenceMv, linearMv } = this.board.adc;
    const [low, high] = linearMv;
    if (chipMv > 0 && chipMv < low) return (chipMv * chipMv) / low;
    if (chipMv <= high || high >= referenceMv) return chipMv;
    const knee = referenceMv - high;
    const t = Math.min(2, (chipMv - high) / knee);
    return high + knee * (t - (t * t) / 4);
  }
}

/** The board's sensor of `kind`; the board file allows one of each. */
function sensorOfKind(board: Board, kind: SensorKind): Sensor {
  const sensor = board.sensors.find((candidate) => candidate.kind === kind);
  if (sensor === undefined) throw new RangeError(`${board.name}: no ${kind} sensor`);
  return sensor;
}

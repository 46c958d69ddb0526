/**
 * Physical models the simulated sensors measure: air temperature and soil moisture.
 * Both are pure functions of (seed, options, virtual time), so any time can be asked in
 * any order and a run replays exactly. Virtual time 0 is 00:00 on day 0.
 *
 * @example
 * const random = new Random(7).fork("device-1");
 * const air = new AirTemperature(random.fork("air"), { meanC: 20 });
 * const soil = new SoilMoisture(random.fork("soil"), { thresholdPercent: 25 });
 * air.at(15 * HOUR_MS);        // mid-afternoon, near 20 + 6 °C
 * soil.events(30 * DAY_MS);    // the waterings of the first month
 */
import type { Random } from "./random.ts";

/** Virtual milliseconds in an hour and in a day. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Shape of the day and of the weather; every field has a default. */
export interface AirTemperatureOptions {
  /** Daily mean, °C (default 18). */
  meanC?: number;
  /** Half the day's swing, °C (default 6: 12 °C at 05:00, 24 °C at 15:00). */
  amplitudeC?: number;
  /** Hour of the daily minimum (default 5, around sunrise). */
  coldestHour?: number;
  /** Hour of the daily maximum (default 15). */
  warmestHour?: number;
  /** Standard deviation of the quarter-hour wander, °C (default 0.3). */
  noiseC?: number;
  /** Standard deviation of the day-to-day weather drift of the mean, °C (default 1.5). */
  weatherC?: number;
}

/** Air temperature: a daily cycle (coldest near dawn, warmest mid-afternoon) plus seeded weather and noise. */
export class AirTemperature {
  private readonly options: Required<AirTemperatureOptions>;
  private readonly weather: Random;
  private readonly wander: Random;

  constructor(random: Random, options: AirTemperatureOptions = {}) {
    this.options = { meanC: 18, amplitudeC: 6, coldestHour: 5, warmestHour: 15, noiseC: 0.3, weatherC: 1.5, ...options };
    if (hoursBetween(this.options.coldestHour, this.options.warmestHour) === 0) {
      throw new RangeError("coldestHour and warmestHour must differ");
    }
    this.weather = random.fork("weather");
    this.wander = random.fork("wander");
  }

  /** °C at virtual time `tMs`. */
  at(tMs: number): number {
    const { meanC, amplitudeC, noiseC, weatherC } = this.options;
    return (
      meanC +
      amplitudeC * this.dailyCycle(tMs) +
      weatherC * smoothNoise(this.weather, tMs, DAY_MS) +
      noiseC * smoothNoise(this.wander, tMs, HOUR_MS / 4)
    );
  }

  /** −1 at the coldest hour, +1 at the warmest, half-cosines between. */
  private dailyCycle(tMs: number): number {
    const { coldestHour, warmestHour } = this.options;
    const rising = hoursBetween(coldestHour, warmestHour);
    const sinceColdest = hoursBetween(coldestHour, (tMs / HOUR_MS) % 24);
    if (sinceColdest < rising) return -Math.cos((Math.PI * sinceColdest) / rising);
    return Math.cos((Math.PI * (sinceColdest - rising)) / (24 - rising));
  }
}

/** Soil and gardener; every field has a default. Moisture is in % of saturation. */
export interface SoilMoistureOptions {
  /** Moisture at time 0 (default 70). */
  initialPercent?: number;
  /** Air-dry soil: drying approaches this and never passes it (default 5). */
  floorPercent?: number;
  /** Days for the water above the floor to halve (default 3). */
  halfLifeDays?: number;
  /** The gardener waters once moisture falls below this; null never (default 25). */
  thresholdPercent?: number | null;
  /** Longest delay, hours, between falling below the threshold and watering (default 12; seeded). */
  reactionHours?: number;
  /** Moisture right after a watering (default 80) … */
  wateredToPercent?: number;
  /** … give or take this much, seeded (default 5). */
  wateredSpreadPercent?: number;
  /** Waterings at fixed virtual times, ms, besides the threshold ones (default none). */
  scheduleMs?: number[];
}

/** One watering: when, how wet before and after, and why. */
export interface WateringEvent {
  atMs: number;
  fromPercent: number;
  toPercent: number;
  cause: "schedule" | "threshold";
}

/** A stretch of drying that starts at a watering (or at time 0). */
interface Segment {
  startMs: number;
  startPercent: number;
}

/**
 * Soil moisture in % of saturation (volumetric water content ÷ the soil's saturated
 * content; the 0–100 % scale the firmware reports). The water above an air-dry floor
 * decays exponentially; waterings jump it back up, on a schedule or when it runs low.
 */
export class SoilMoisture {
  private readonly options: Required<SoilMoistureOptions>;
  private readonly schedule: number[];
  private readonly segments: Segment[];
  private readonly log: WateringEvent[] = [];
  private scheduleUsed = 0;

  constructor(
    private readonly random: Random,
    options: SoilMoistureOptions = {},
  ) {
    this.options = {
      initialPercent: 70, floorPercent: 5, halfLifeDays: 3, thresholdPercent: 25, reactionHours: 12,
      wateredToPercent: 80, wateredSpreadPercent: 5, scheduleMs: [], ...options,
    };
    checkSoilOptions(this.options);
    this.schedule = [...this.options.scheduleMs].sort((a, b) => a - b);
    this.segments = [{ startMs: 0, startPercent: this.options.initialPercent }];
  }

  /** Moisture, % of saturation, at virtual time `tMs` (times before 0 read the initial value). */
  at(tMs: number): number {
    this.extendTo(tMs);
    let index = this.segments.length - 1;
    while (index > 0 && this.segments[index].startMs > tMs) index--;
    return this.dried(this.segments[index], tMs);
  }

  /** Every watering at or before `untilMs`, in time order. */
  events(untilMs: number): WateringEvent[] {
    this.extendTo(untilMs);
    return this.log.filter((event) => event.atMs <= untilMs);
  }

  private dried(segment: Segment, tMs: number): number {
    const { floorPercent, halfLifeDays } = this.options;
    const elapsedDays = Math.max(0, tMs - segment.startMs) / DAY_MS;
    return floorPercent + (segment.startPercent - floorPercent) * 2 ** (-elapsedDays / halfLifeDays);
  }

  /** Works out every watering up to `tMs` that is not known yet. */
  private extendTo(tMs: number): void {
    for (;;) {
      const next = this.nextWatering();
      if (next.atMs > tMs) return;
      if (next.cause === "schedule") this.scheduleUsed++;
      const index = this.log.length;
      const { wateredToPercent, wateredSpreadPercent, floorPercent } = this.options;
      const spread = wateredSpreadPercent * (2 * this.random.floatAt(2 * index + 1) - 1);
      const toPercent = Math.min(100, Math.max(floorPercent, wateredToPercent + spread));
      const fromPercent = this.dried(this.segments[this.segments.length - 1], next.atMs);
      this.log.push({ atMs: next.atMs, fromPercent, toPercent, cause: next.cause });
      this.segments.push({ startMs: next.atMs, startPercent: toPercent });
    }
  }

  /** The earlier of the next scheduled watering and the gardener's reaction to a dry pot. */
  private nextWatering(): Pick<WateringEvent, "atMs" | "cause"> {
    const scheduled = this.schedule[this.scheduleUsed] ?? Infinity;
    const reaction = this.thresholdWatering();
    return scheduled <= reaction ? { atMs: scheduled, cause: "schedule" } : { atMs: reaction, cause: "threshold" };
  }

  /** When the current segment falls below the threshold, plus a seeded reaction delay. */
  private thresholdWatering(): number {
    const { thresholdPercent, floorPercent, halfLifeDays, reactionHours } = this.options;
    if (thresholdPercent === null || thresholdPercent <= floorPercent) return Infinity;
    const segment = this.segments[this.segments.length - 1];
    const above = (segment.startPercent - floorPercent) / (thresholdPercent - floorPercent);
    const halvings = above > 1 ? Math.log2(above) : 0; // at or below the threshold already: now
    const crossingMs = segment.startMs + halvings * halfLifeDays * DAY_MS;
    return crossingMs + reactionHours * HOUR_MS * this.random.floatAt(2 * this.log.length);
  }
}

/** Hours from `fromHour` forward to `toHour` on a 24-hour dial, in [0, 24). */
function hoursBetween(fromHour: number, toHour: number): number {
  return (((toHour - fromHour) % 24) + 24) % 24;
}

/**
 * A smooth seeded series of standard-normal-ish values: independent samples every
 * `periodMs`, blended with a smoothstep in between, the same for a time in any query order.
 */
function smoothNoise(random: Random, tMs: number, periodMs: number): number {
  const position = tMs / periodMs;
  const knot = Math.floor(position);
  const f = position - knot;
  const blend = f * f * (3 - 2 * f);
  return random.normalAt(knot) * (1 - blend) + random.normalAt(knot + 1) * blend;
}

/** Refuses options that would make the gardener water forever or the soil leave 0–100 %. */
function checkSoilOptions(options: Required<SoilMoistureOptions>): void {
  const { initialPercent, floorPercent, halfLifeDays, thresholdPercent, wateredToPercent, wateredSpreadPercent } = options;
  const lowestWatered = wateredToPercent - wateredSpreadPercent;
  const problems = [
    [initialPercent >= 0 && initialPercent <= 100, "initialPercent must be 0 … 100"],
    [floorPercent >= 0 && floorPercent < 100, "floorPercent must be 0 … 100"],
    [halfLifeDays > 0, "halfLifeDays must be > 0"],
    [wateredSpreadPercent >= 0 && wateredToPercent + wateredSpreadPercent <= 100, "wateredToPercent + wateredSpreadPercent must be ≤ 100"],
    [thresholdPercent === null || thresholdPercent < lowestWatered, "thresholdPercent must be below wateredToPercent − wateredSpreadPercent"],
    [options.scheduleMs.every((at) => at >= 0), "scheduleMs must not hold negative times"],
  ] as const;
  const problem = problems.find(([ok]) => !ok);
  if (problem !== undefined) throw new RangeError(problem[1]);
}

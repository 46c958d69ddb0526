/**
 * The energy a simulated board's radio would use, estimated from the time it is awake
 * (boards/ABI.md, "Deep sleep"). The model, for an ESP8266 or ESP32 on Wi-Fi: awake, the
 * chip and its radio draw {@link AWAKE_MA} at {@link SUPPLY_V} (transmitting peaks higher,
 * modem sleep lower: one flat figure); in deep sleep {@link DEEP_SLEEP_MA}; every wake
 * adds {@link WAKE_OVERHEAD_MS} of awake time for what the simulator does not run (boot,
 * Wi-Fi association, DHCP). An always-connected board is awake the whole day.
 *
 * @example
 * energyPerDay({ awakeMs: 2_000, asleepMs: 58_000, wakes: 1 }).mAh; // ≈ 96: 60 s cycles, 2 s awake each
 */

/** Current while awake with the radio on, mA. */
export const AWAKE_MA = 80;
/** Current in deep sleep (RTC and its memory powered), mA. */
export const DEEP_SLEEP_MA = 0.01;
/** Supply voltage, V. */
export const SUPPLY_V = 3.3;
/** Awake time each wake costs beyond what the simulator runs: boot, Wi-Fi association and DHCP, ms. */
export const WAKE_OVERHEAD_MS = 1000;

const DAY_MS = 86_400_000;

/** Where the time went: awake and asleep ms as simulated, and the wakes from deep sleep among them. */
export interface PowerTime {
  awakeMs: number;
  asleepMs: number;
  wakes: number;
}

/** A day's energy at the run's mix of awake and asleep time, and what the same board always connected would use. */
export interface EnergyEstimate {
  /** mAh a day. */
  mAh: number;
  /** mWh a day (mAh × {@link SUPPLY_V}). */
  mWh: number;
  /** mAh a day of the board awake and connected all day. */
  alwaysOnMAh: number;
}

/** The model's day at the mix of `time`; before any time has passed, the always-connected figure. */
export function energyPerDay(time: PowerTime): EnergyEstimate {
  const alwaysOnMAh = (AWAKE_MA * DAY_MS) / 3_600_000;
  const total = time.awakeMs + time.asleepMs;
  if (total <= 0) return { mAh: alwaysOnMAh, mWh: alwaysOnMAh * SUPPLY_V, alwaysOnMAh };
  const awake = Math.min(total, time.awakeMs + time.wakes * WAKE_OVERHEAD_MS);
  const averageMa = (awake * AWAKE_MA + (total - awake) * DEEP_SLEEP_MA) / total;
  const mAh = (averageMa * DAY_MS) / 3_600_000;
  return { mAh, mWh: mAh * SUPPLY_V, alwaysOnMAh };
}

/** The model in one line, for the simulator's header. */
export function describeEnergyModel(): string {
  return `energy model: ${AWAKE_MA} mA at ${SUPPLY_V} V awake (+${WAKE_OVERHEAD_MS / 1000} s a wake for boot and Wi-Fi), ${DEEP_SLEEP_MA * 1000} µA asleep; always connected ${Math.round((AWAKE_MA * DAY_MS) / 3_600_000)} mAh/day`;
}

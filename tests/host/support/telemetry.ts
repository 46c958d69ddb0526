/** A telemetry reading as the firmware publishes it (boards/ABI.md, "The telemetry firmware"). */
export interface Reading {
  seq: number;
  temperature_c: number;
  moisture_pct: number;
  relay: boolean;
  led: boolean;
  uptime_s: number;
}

// Sensor drivers in fixed point (the ESP8266 and ESP32-C3 have no FPU): ADC counts to
// microvolts at the board pin, TMP36 millivolts to hundredths of a degree, and a
// capacitive soil-moisture reading to percent by the board's calibration.

/**
 * Microvolts at the board pin for an ADC reading: raw / (2^bits − 1) of the chip's
 * full scale, times the board's divider (in thousandths: 3200 for the NodeMCU's A0),
 * rounded to the nearest microvolt (finer than any 16-bit step).
 */
export function adcMicrovolts(raw: u32, bits: u32, referenceMv: u32, dividerPermille: u32): u32 {
  let fullScale = (<u64>1 << bits) - 1;
  let scaled = <u64>raw * referenceMv * dividerPermille; // mV · ‰ = µV
  return <u32>((scaled + (fullScale >> 1)) / fullScale);
}

/** TMP36 (10 mV/°C, 500 mV at 0 °C): hundredths of a degree Celsius for its output in microvolts, rounded. */
export function tmp36CentiCelsius(microvolts: u32): i32 {
  let offset = <i32>microvolts - 500000; // 100 µV per hundredth of a degree
  return offset >= 0 ? (offset + 50) / 100 : (offset - 50) / 100;
}

/**
 * Soil moisture in percent (0–100, clamped) for a raw reading, linear between the
 * board's dryRaw (0 %, in air) and wetRaw (100 %, in water); capacitive sensors read
 * lower when wet, so dryRaw > wetRaw.
 */
export function moisturePercent(raw: u32, dryRaw: u32, wetRaw: u32): u32 {
  if (raw >= dryRaw) return 0;
  if (raw <= wetRaw) return 100;
  let span = dryRaw - wetRaw;
  return ((dryRaw - raw) * 100 + (span >> 1)) / span;
}

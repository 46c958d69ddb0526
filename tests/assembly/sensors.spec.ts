// Specs for assembly/firmware/sensors.ts: ADC counts to microvolts per board, TMP36 and
// soil-moisture conversions, in fixed point.
import { adcMicrovolts, tmp36CentiCelsius, moisturePercent } from "../../assembly/firmware/sensors";

describe("adcMicrovolts", () => {
  test("full scale and zero on each board's ADC", () => {
    expect(adcMicrovolts(1023, 10, 1000, 3200)).toBe(3200000, "NodeMCU A0: 1 V at the chip, 3.2 V at the pin");
    expect(adcMicrovolts(4095, 12, 3100, 1000)).toBe(3100000, "ESP32 11 dB");
    expect(adcMicrovolts(0, 12, 3100, 1000)).toBe(0);
  });

  test("rounds to the nearest microvolt", () => {
    // NodeMCU: 240 counts = 240/1023 · 1000 mV · 3.2 = 750.733 mV
    expect(adcMicrovolts(240, 10, 1000, 3200)).toBe(750733);
    // ESP32 11 dB: 991 counts = 991/4095 · 3100 mV = 750.208 mV
    expect(adcMicrovolts(991, 12, 3100, 1000)).toBe(750208);
  });

  test("does not overflow at 16 bits and a large divider", () => {
    expect(adcMicrovolts(65535, 16, 3300, 1000)).toBe(3300000);
  });
});

describe("tmp36CentiCelsius", () => {
  test("10 mV per degree from a 500 mV offset", () => {
    expect(tmp36CentiCelsius(750000)).toBe(2500, "750 mV is 25.00 °C");
    expect(tmp36CentiCelsius(500000)).toBe(0);
    expect(tmp36CentiCelsius(100000)).toBe(-4000, "the sensor's low end, -40 °C");
    expect(tmp36CentiCelsius(1750000)).toBe(12500, "the sensor's high end, 125 °C");
  });

  test("rounds to the nearest hundredth, both signs", () => {
    expect(tmp36CentiCelsius(750049)).toBe(2500);
    expect(tmp36CentiCelsius(750050)).toBe(2501);
    expect(tmp36CentiCelsius(499951)).toBe(0);
    expect(tmp36CentiCelsius(499950)).toBe(-1);
  });

  test("750 mV reads 25 °C within one ADC step on each board", () => {
    // the raw values the boards' ADCs give for 750 mV at the pin (boards/*.json)
    expect(tmp36CentiCelsius(adcMicrovolts(240, 10, 1000, 3200))).toBe(2507, "NodeMCU: one step is 3.1 mV");
    expect(tmp36CentiCelsius(adcMicrovolts(991, 12, 3100, 1000))).toBe(2502, "ESP32 DevKitC: one step is 0.76 mV");
  });
});

describe("moisturePercent", () => {
  test("linear between the calibration points", () => {
    expect(moisturePercent(767, 767, 352)).toBe(0, "dry");
    expect(moisturePercent(352, 767, 352)).toBe(100, "wet");
    expect(moisturePercent(560, 767, 352)).toBe(50, "(767 - 560) / 415 = 49.9 %");
  });

  test("clamps readings beyond the calibration", () => {
    expect(moisturePercent(1023, 767, 352)).toBe(0);
    expect(moisturePercent(10, 767, 352)).toBe(100);
  });
});

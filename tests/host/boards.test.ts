/**
 * Board files: every shipped board validates, broken copies fail with the exact message
 * (file and field named), and the ideal mV ↔ raw conversions match the board figures.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type Board,
  BoardError,
  listBoards,
  loadBoard,
  maxRaw,
  millivoltsFromRaw,
  rawFromMillivolts,
  validateBoard,
} from "../../host/boards.ts";

const SHIPPED = ["esp32-c3", "esp32-devkitc", "nodemcu-v3"];
const SOURCE = "boards/broken.json";

/** A deep copy of a shipped board as plain JSON, for breaking. */
function copyOf(name: string): Record<string, any> {
  return JSON.parse(JSON.stringify(loadBoard(name)));
}

function rejects(json: unknown, message: string): void {
  assert.throws(() => validateBoard(json, SOURCE), (error: unknown) => {
    assert.ok(error instanceof BoardError);
    assert.equal(error.message, message);
    assert.equal(error.code, "INVALID_BOARD");
    return true;
  });
}

describe("shipped boards", () => {
  it("lists exactly the shipped board files", () => {
    assert.deepEqual(listBoards(), SHIPPED);
  });

  for (const name of SHIPPED) {
    it(`${name} loads and validates`, () => {
      const board = loadBoard(name);
      assert.equal(board.name, name);
      assert.deepEqual(validateBoard(JSON.parse(JSON.stringify(board)), name), board);
    });

    it(`${name}: its telemetry firmware's static RAM fits the board's budget`, () => {
      const board = loadBoard(name);
      const file = `telemetry-${board.profile}.wasm`;
      const module = new WebAssembly.Module(readFileSync(new URL(`../../build/${file}`, import.meta.url)));
      const host = Object.fromEntries(WebAssembly.Module.imports(module).map(({ name: imported }) => [imported, () => 0]));
      const { exports } = new WebAssembly.Instance(module, { host });
      const staticBytes = (exports.staticDataEnd as () => number)();
      assert.ok(staticBytes <= board.ramBudgetBytes, `${file} needs ${staticBytes} B, budget ${board.ramBudgetBytes} B`);
    });
  }

  it("states the profile, RAM budget and ADC of each real board", () => {
    const figures = (board: Board) => [board.profile, board.ramBudgetBytes, board.adc.bits, board.adc.referenceMv * board.adc.dividerRatio, board.fpu];
    assert.deepEqual(figures(loadBoard("nodemcu-v3")), ["nodemcu", 12288, 10, 3200, false]);
    assert.deepEqual(figures(loadBoard("esp32-devkitc")), ["esp32", 32768, 12, 3100, true]);
    assert.deepEqual(figures(loadBoard("esp32-c3")), ["esp32", 32768, 12, 2900, false]);
  });

  it("puts the NodeMCU sensors behind the CD4051 on A0 and the ESP32 ones on input-only ADC1 pins", () => {
    const nodemcu = loadBoard("nodemcu-v3");
    assert.deepEqual(nodemcu.mux, { chip: "CD4051", select: [14, 12, 13], common: "A0" });
    assert.deepEqual(nodemcu.sensors.map((s) => [s.kind, s.channel, s.pin, s.mux?.input]), [
      ["tmp36", 0, "A0", 0],
      ["soil-moisture", 1, "A0", 1],
    ]);
    assert.deepEqual(nodemcu.gpio, { led: { gpio: 2, activeLow: true }, relay: { gpio: 5, activeLow: false } });
    const devkitc = loadBoard("esp32-devkitc");
    assert.equal(devkitc.mux, undefined);
    assert.deepEqual(devkitc.sensors.map((s) => [s.kind, s.pin, s.adcInput]), [
      ["tmp36", "GPIO34", "ADC1_CH6"],
      ["soil-moisture", "GPIO35", "ADC1_CH7"],
    ]);
  });
});

describe("broken board files", () => {
  it("names the field and the bad value", () => {
    const cases: [string, (b: Record<string, any>) => void, string][] = [
      ["esp32-devkitc", (b) => (b.adc.bits = 11), "adc.bits must be one of 10, 12 (got 11)"],
      ["esp32-devkitc", (b) => (b.profile = "esp8266"), 'profile must be one of desktop, esp32, nodemcu (got "esp8266")'],
      ["esp32-devkitc", (b) => delete b.ramBudgetBytes, "ramBudgetBytes must be an integer from 1024 to 65536 (got nothing)"],
      ["esp32-devkitc", (b) => (b.fpu = "yes"), 'fpu must be true or false (got "yes")'],
      ["esp32-devkitc", (b) => (b.adc.attenuation = "12dB"), 'adc.attenuation must be one of none, 0dB, 2.5dB, 6dB, 11dB (got "12dB")'],
      ["esp32-devkitc", (b) => (b.adc.linearMv = [150, 4000]), "adc.linearMv[1] must be an integer from 151 to 3100 (got 4000)"],
      ["esp32-devkitc", (b) => (b.ramBudget = 1), "ramBudget is not a known field (expected one of name, description, mcu, arch, fpu, profile, ramBudgetBytes, supplyMv, adc, mux, sensors, calibration, gpio) (got 1)"],
      ["esp32-devkitc", (b) => (b.sensors[1].adcInput = "ADC2_CH3"), 'sensors[1].adcInput must be an ADC1 channel (ADC1_CH0 … ADC1_CH9) or TOUT; ADC2 is unusable while Wi-Fi is on (got "ADC2_CH3")'],
      ["esp32-devkitc", (b) => (b.sensors[1].kind = "dht22"), 'sensors[1].kind must be one of tmp36, soil-moisture (got "dht22")'],
      ["esp32-devkitc", (b) => (b.sensors[0].channel = 1), "sensors[].channel must not repeat a value (got 1)"],
      ["esp32-devkitc", (b) => (b.sensors[0].channel = 2), "sensors[0].channel must be an integer from 0 to 1 (got 2)"],
      ["esp32-devkitc", (b) => (b.sensors[0].mux = { input: 0 }), 'sensors[0].mux needs a top-level mux on the board (got {"input":0})'],
      ["esp32-devkitc", (b) => (b.calibration.moisture.dryRaw = 5000), "calibration.moisture.dryRaw must be an integer from 0 to 4095 (got 5000)"],
      ["esp32-devkitc", (b) => (b.calibration.moisture = { dryRaw: 1453, wetRaw: 3170 }), "calibration.moisture.dryRaw must be greater than wetRaw 3170 (capacitive sensors read higher when dry) (got 1453)"],
      ["esp32-devkitc", (b) => (b.gpio.relay.gpio = 2), "gpio and mux.select pins must not repeat a value (got 2)"],
      ["nodemcu-v3", (b) => (b.mux.select = [14, 12, 5]), "gpio and mux.select pins must not repeat a value (got 5)"],
      ["nodemcu-v3", (b) => delete b.sensors[0].mux, "sensors[0].mux must be an object (got nothing)"],
      ["nodemcu-v3", (b) => (b.sensors[1].mux.input = 8), "sensors[1].mux.input must be an integer from 0 to 7 (got 8)"],
      ["nodemcu-v3", (b) => (b.adc = "A0"), 'adc must be an object (got "A0")'],
      ["nodemcu-v3", (b) => (b.sensors = []), "sensors must be an array of 1 … 8 items (got [])"],
    ];
    for (const [name, breakIt, message] of cases) {
      const json = copyOf(name);
      breakIt(json);
      rejects(json, `${SOURCE}: ${message}`);
    }
  });

  it("rejects what is not a board at all", () => {
    rejects([], `${SOURCE}: the board file must be an object (got [])`);
  });

  it("reports a missing board with the known names", () => {
    assert.throws(() => loadBoard("esp8266-wemos"), {
      message: `boards/esp8266-wemos.json: no such board file (known boards: ${SHIPPED.join(", ")})`,
    });
  });

  it("loads a board by path and names that path in errors", () => {
    const directory = mkdtempSync(join(tmpdir(), "wasmqtt-board-"));
    try {
      const file = join(directory, "mine.json");
      const json = copyOf("nodemcu-v3");
      writeFileSync(file, JSON.stringify(json));
      assert.equal(loadBoard(file).name, "nodemcu-v3");
      json.supplyMv = 12000;
      writeFileSync(file, JSON.stringify(json));
      assert.throws(() => loadBoard(file), { message: `${file}: supplyMv must be an integer from 1800 to 5500 (got 12000)` });
      writeFileSync(file, "{ nope");
      assert.throws(() => loadBoard(file), (error: unknown) => error instanceof BoardError && error.message.startsWith(`${file}: not valid JSON (`));
    } finally {
      rmSync(directory, { recursive: true });
    }
  });
});

describe("ideal conversions", () => {
  it("reads a TMP36 at 25 °C (750 mV) as the board's raw value and back within 1 LSB", () => {
    const expected: Record<string, number> = { "nodemcu-v3": 240, "esp32-devkitc": 991, "esp32-c3": 1059 };
    for (const name of SHIPPED) {
      const board = loadBoard(name);
      const raw = rawFromMillivolts(board, 0, 750);
      assert.equal(raw, expected[name], name);
      const lsbMv = (board.adc.referenceMv * board.adc.dividerRatio) / maxRaw(board.adc);
      assert.ok(Math.abs(millivoltsFromRaw(board, 0, raw) - 750) <= lsbMv, name);
    }
  });

  it("applies the NodeMCU divider: 3.2 V at A0 is 1 V at the chip, full scale", () => {
    const board = loadBoard("nodemcu-v3");
    assert.equal(rawFromMillivolts(board, 1, 3200), 1023);
    assert.equal(rawFromMillivolts(board, 1, 1600), 512);
    assert.equal(millivoltsFromRaw(board, 1, 1023), 3200);
  });

  it("clamps to 0 … 2^bits − 1 and refuses channels the board does not have", () => {
    const board = loadBoard("esp32-devkitc");
    assert.equal(rawFromMillivolts(board, 1, 5000), 4095);
    assert.equal(rawFromMillivolts(board, 1, -20), 0);
    assert.throws(() => rawFromMillivolts(board, 2, 750), RangeError);
    assert.throws(() => millivoltsFromRaw(board, -1, 0), RangeError);
  });

  it("puts the moisture calibration where the documented sensor voltages read (dry 2.4 V, wet 1.1 V)", () => {
    for (const name of SHIPPED) {
      const board = loadBoard(name);
      assert.equal(board.calibration.moisture.dryRaw, rawFromMillivolts(board, 1, 2400), name);
      assert.equal(board.calibration.moisture.wetRaw, rawFromMillivolts(board, 1, 1100), name);
    }
  });
});

// Specs for assembly/backoff.ts: the reconnect delay stays in [min, max] and grows.
import { backoffDelay } from "../../assembly/backoff";

describe("backoffDelay", () => {
  test("the first attempt waits between min and 2·min", () => {
    expect(backoffDelay(1, 1000, 60000, 0)).toBe(1000);
    expect(backoffDelay(1, 1000, 60000, 1000)).toBe(2000);
    expect(backoffDelay(1, 1000, 60000, 1001)).toBe(1000, "entropy wraps around the range");
  });

  test("the ceiling doubles per attempt and stops at max", () => {
    expect(backoffDelay(2, 1000, 60000, 0xffffffff)).toBeLessThanOrEqual(4000);
    expect(backoffDelay(2, 1000, 60000, 0)).toBe(2000, "lower bound is half the ceiling");
    expect(backoffDelay(10, 1000, 60000, 0)).toBe(30000);
    expect(backoffDelay(1000, 1000, 60000, 0xffffffff)).toBeLessThanOrEqual(60000);
  });

  test("every delay is inside [min, max] for any entropy", () => {
    for (let attempt: u32 = 1; attempt < 40; attempt++) {
      for (let entropy: u32 = 0; entropy < 0xffffffff - 0x10000000; entropy += 0x10000001) {
        let delay = backoffDelay(attempt, 300, 5000, entropy);
        expect(delay).toBeGreaterThanOrEqual(300);
        expect(delay).toBeLessThanOrEqual(5000);
      }
    }
  });

  test("min equal to max gives exactly that delay", () => {
    expect(backoffDelay(1, 500, 500, 12345)).toBe(500);
    expect(backoffDelay(7, 500, 500, 777)).toBe(500);
  });
});

// The board imports of the telemetry firmware (boards/ABI.md, "The telemetry firmware"):
// its ADC and GPIO. Only the firmware module imports them; the client module has none.

// @ts-ignore: decorator
@external("host", "adcRead") export declare function adcRead(channel: u32): u32;
// @ts-ignore: decorator
@external("host", "gpioWrite") export declare function gpioWrite(pin: u32, level: u32): void;

/**
 * The telemetry firmware's messages as the soak reads them (boards/ABI.md, "The telemetry
 * firmware"): the topic `devices/<id>/telemetry` and the two payload fields the ledger
 * needs, `seq` (first) and `uptime_s` (last), read straight from the bytes — the soak
 * sees every message twice (at the broker and at the observer) and a JSON.parse each
 * time would dominate its cost.
 *
 * @example
 * telemetryDevice("devices/nodemcu-v3-1/telemetry");                   // "nodemcu-v3-1"
 * readSeq(Buffer.from('{"seq":42,"temperature_c":23.47,…,"uptime_s":420}')); // 42
 * readUptimeSec(Buffer.from('{"seq":42,…,"uptime_s":420}'));            // 420
 */

const TELEMETRY_PREFIX = "devices/";
const TELEMETRY_SUFFIX = "/telemetry";
const SEQ_PREFIX = Buffer.from('{"seq":');
const UPTIME_KEY = Buffer.from('"uptime_s":');

/** The telemetry topic of a device. */
export function telemetryTopic(deviceId: string): string {
  return `${TELEMETRY_PREFIX}${deviceId}${TELEMETRY_SUFFIX}`;
}

/** The device id of a `devices/<id>/telemetry` topic, else undefined. */
export function telemetryDevice(topic: string | undefined): string | undefined {
  if (topic === undefined || !topic.startsWith(TELEMETRY_PREFIX) || !topic.endsWith(TELEMETRY_SUFFIX)) return undefined;
  const id = topic.slice(TELEMETRY_PREFIX.length, topic.length - TELEMETRY_SUFFIX.length);
  return id.length > 0 && !id.includes("/") ? id : undefined;
}

/** The `seq` of a payload that starts `{"seq":<digits>`, else undefined. */
export function readSeq(payload: Uint8Array | undefined): number | undefined {
  if (payload === undefined || payload.length <= SEQ_PREFIX.length) return undefined;
  for (let i = 0; i < SEQ_PREFIX.length; i++) if (payload[i] !== SEQ_PREFIX[i]) return undefined;
  return digitsAt(payload, SEQ_PREFIX.length);
}

/** The `uptime_s` of a payload whose last member it is (`…,"uptime_s":<digits>}`), else undefined. */
export function readUptimeSec(payload: Uint8Array | undefined): number | undefined {
  if (payload === undefined || payload.length < UPTIME_KEY.length + 2 || payload[payload.length - 1] !== 0x7d) return undefined;
  let start = payload.length - 1;
  while (start > 0 && isDigit(payload[start - 1])) start--;
  const key = start - UPTIME_KEY.length;
  if (key < 0) return undefined;
  for (let i = 0; i < UPTIME_KEY.length; i++) if (payload[key + i] !== UPTIME_KEY[i]) return undefined;
  return digitsAt(payload, start);
}

function digitsAt(bytes: Uint8Array, start: number): number | undefined {
  let value = 0;
  let i = start;
  for (; i < bytes.length && isDigit(bytes[i]); i++) value = value * 10 + (bytes[i] - 0x30);
  return i > start ? value : undefined;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/**
 * A differential fuzz of the command parser (assembly/firmware/commands.ts, built alone
 * from tests/fixtures/command-parser.ts with asconfig.json's options): over 20 000
 * generated payloads (valid commands, mutations of them, token soups, deep nesting;
 * one fixed seed) its verdict must equal a reference made of JSON.parse and the
 * member rules of boards/ABI.md "The telemetry firmware", written here in TypeScript.
 */
import asc from "assemblyscript/asc";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SEED = 0x5eed_cafe;
const INPUTS = 20_000;
/** The parser's nesting limit (MAX_JSON_DEPTH) inside a member value, plus the command object. */
const MAX_DEPTH = 64 + 1;
const MAX_INTERVAL_SEC = 86_400;
const MEMBERS = new Map([
  ["interval_s", 1],
  ["read", 2],
  ["relay", 4],
  ["led", 8],
]);
const REFUSED = -1;

/** What a payload asked for; `present` is REFUSED for a refused one. */
interface Verdict {
  present: number;
  intervalSec?: number;
  relay?: boolean;
  led?: boolean;
}

interface Parser {
  payload(): number;
  capacity(): number;
  parse(len: number): number;
  intervalSec(): number;
  relay(): number;
  led(): number;
  memory: WebAssembly.Memory;
}

/** The fixture built with asconfig.json's options (its static runtime too), kept in memory. */
async function buildParser(): Promise<Parser> {
  const { options } = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
  const outFile = "command-parser.wasm";
  let binary: Uint8Array | null = null;
  const argv = ["assembly/profiles/desktop.ts", "tests/fixtures/command-parser.ts", "--baseDir", root, "--outFile", outFile, "--noColors"];
  const { error, stderr } = await asc.main(argv, {
    readFile: (name: string, baseDir: string) =>
      name === "asconfig.json" ? JSON.stringify({ options: { ...options, converge: false } }) : readFile(join(baseDir, name), "utf8").catch(() => null),
    writeFile: (name: string, contents: string | Uint8Array) => {
      if (name === outFile && typeof contents !== "string") binary = contents;
    },
  });
  assert.equal(error, null, stderr.toString());
  assert.ok(binary !== null, "asc wrote no module");
  const module = await WebAssembly.compile(binary);
  const host: Record<string, () => number> = {};
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    assert.equal(from, "host", `import ${from}.${name}`);
    host[name] = () => 0;
  }
  const instance = await WebAssembly.instantiate(module, { host });
  return instance.exports as unknown as Parser;
}

/** The module's verdict on the payload. */
function parserVerdict(parser: Parser, bytes: Uint8Array): Verdict {
  new Uint8Array(parser.memory.buffer, parser.payload(), bytes.length).set(bytes);
  const present = parser.parse(bytes.length);
  if (present === REFUSED) return { present };
  const verdict: Verdict = { present };
  if (present & 1) verdict.intervalSec = parser.intervalSec();
  if (present & 4) verdict.relay = parser.relay() === 1;
  if (present & 8) verdict.led = parser.led() === 1;
  return verdict;
}

// ---- the reference -----------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
/** A surrogate code unit outside a pair: with the u flag a pair is one code point. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** JSON.parse plus the member rules: a recognised member once at most, its value's type and range. */
function referenceVerdict(bytes: Uint8Array): Verdict {
  const refused = { present: REFUSED };
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return refused;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return refused;
  if (depth(text) > MAX_DEPTH || !isUnicode(text)) return refused;
  const verdict: Verdict = { present: 0 };
  for (const [name, raw] of topLevelMembers(text)) {
    const bit = MEMBERS.get(name);
    if (bit === undefined) continue;
    if (verdict.present & bit) return refused;
    verdict.present |= bit;
    if (name === "interval_s") {
      if (!/^[1-9][0-9]*$/.test(raw) || Number(raw) > MAX_INTERVAL_SEC) return refused;
      verdict.intervalSec = Number(raw);
    } else if (name === "read") {
      if (raw !== "true") return refused;
    } else {
      if (raw !== "true" && raw !== "false") return refused;
      verdict[name as "relay" | "led"] = raw === "true";
    }
  }
  return verdict.present === 0 ? refused : verdict;
}

// depth and strings are read from the text: a repeated name hides its earlier values from JSON.parse's result

/** Every string of a valid JSON text, names included, as its token. */
const STRING_TOKEN = /"(?:[^"\\]|\\.)*"/g;

/** Levels of arrays and objects in a valid JSON text. */
function depth(text: string): number {
  let open = 0;
  let deepest = 0;
  for (const c of text.replace(STRING_TOKEN, '""')) {
    if (c === "{" || c === "[") deepest = Math.max(deepest, ++open);
    else if (c === "}" || c === "]") open--;
  }
  return deepest;
}

/** True when no string or name in a valid JSON text holds a lone surrogate. */
function isUnicode(text: string): boolean {
  return (text.match(STRING_TOKEN) ?? []).every((token) => !LONE_SURROGATE.test(JSON.parse(token) as string));
}

/** The top-level object's members of a valid JSON text, in order: name and raw value text. */
function topLevelMembers(text: string): Array<[string, string]> {
  const members: Array<[string, string]> = [];
  let i = skipWhitespace(text, text.indexOf("{") + 1);
  if (text[i] === "}") return members;
  for (;;) {
    const nameEnd = endOfString(text, i);
    const name = JSON.parse(text.slice(i, nameEnd)) as string;
    const valueStart = skipWhitespace(text, skipWhitespace(text, nameEnd) + 1);
    const valueEnd = endOfValue(text, valueStart);
    members.push([name, text.slice(valueStart, valueEnd)]);
    i = skipWhitespace(text, valueEnd);
    if (text[i] === "}") return members;
    i = skipWhitespace(text, i + 1);
  }
}

function skipWhitespace(text: string, i: number): number {
  while (" \t\n\r".includes(text[i])) i++;
  return i;
}

/** The index after the string opening at i. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
  return j + 1;
}

/** The index after the value starting at i. */
function endOfValue(text: string, i: number): number {
  let open = 0;
  for (let j = i; ; ) {
    const c = text[j];
    if (c === '"') {
      j = endOfString(text, j);
      if (open === 0) return j;
      continue;
    }
    if (c === "{" || c === "[") open++;
    else if (c === "}" || c === "]") {
      if (open === 0) return j;
      if (--open === 0) return j + 1;
    } else if (open === 0 && ", \t\n\r".includes(c)) return j;
    j++;
  }
}

// ---- the inputs ----------------------------------------------------------------------

/** mulberry32: a small seeded PRNG, so every run sees the same inputs. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { int, chance: (p: number): boolean => next() < p, pick: <T>(items: readonly T[]): T => items[int(items.length)] };
}
type Random = ReturnType<typeof prng>;

const WHITESPACE = [" ", "\t", "\n", "\r", " \r\n "];
const NUMBERS = ["0", "-0", "7", "-12", "30", "0.5", "-10.25", "1e5", "1E+9", "2e-3", "-1.5E-10", "123456789012345678901234567890"];
const STRING_PARTS = [
  "a", "note", ",", "}", "]", "{", "[", ":", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
  "\\u00e9", "\\u00E9", "\\u0000", "é", "€", "𝄞", "\u007f",
  // surrogate escapes: pairs, and halves that may or may not pair up with the next part
  "\\uD834\\uDD1E", "\\udbff\\udfff", "\\uD834", "\\uDBFF", "\\uDC00", "\\uDD1E", "uDC00",
];
const UNKNOWN_NAMES = ["note", "x", "", "relay ", "Relay", "READ", "interval", "led2"];
const KNOWN_SPELLINGS: Record<string, string[]> = {
  interval_s: ["interval_s", "interval\\u005fs"],
  read: ["read", "\\u0072ead"],
  relay: ["relay", "re\\u006cay"],
  led: ["led", "\\u006C\\u0065\\u0064"],
};
const BAD_VALUES = ["false", "0", "86401", "-5", "30.0", "3e1", '"30"', "1", "null", '"true"', "[true]", "{}", "99999999999999999999", "4294967326"];
const TOKENS = [
  "{", "{", "}", "[", "]", ",", ":", '"relay"', '"led"', '"read"', '"interval_s"', '"note"', '"a,b"', '"}"',
  "true", "false", "null", "0", "1", "30", "86400", "86401", "-1", "1.5", "1e3", "01", "-", "1.", ".5", "1e",
  '"\\u12"', '"\\x"', '"\\uD834"', '"\\uD834\\uDD1E"', " ", "\t", "\n", "\r", "\v", "\f", '"', "\\", "tru", "nul",
];
/** Bytes that matter to the grammar, UTF-8 and the whitespace rules. */
const INTERESTING = [
  ..."{}[],:\"\\ \t\n\r0123456789.eE+-tfnulrsu/xbg".split("").map((c) => c.charCodeAt(0)),
  0x00, 0x0b, 0x0c, 0x1f, 0x7f, 0x80, 0xa0, 0xa9, 0xbf, 0xc0, 0xc3, 0xed, 0xef, 0xbb, 0xf0, 0xf4, 0xf5, 0xff,
];

function space(r: Random): string {
  return r.chance(0.7) ? "" : r.pick(WHITESPACE);
}

function jsonString(r: Random): string {
  let text = "";
  for (let n = r.int(5); n > 0; n--) text += r.pick(STRING_PARTS);
  return `"${text}"`;
}

function jsonNumber(r: Random): string {
  if (r.chance(0.5)) return r.pick(NUMBERS);
  let text = r.chance(0.3) ? "-" : "";
  text += r.chance(0.2) ? "0" : String(1 + r.int(99999));
  if (r.chance(0.3)) text += `.${r.int(1000)}`;
  if (r.chance(0.3)) text += `${r.pick(["e", "E"])}${r.pick(["", "+", "-"])}${r.int(40)}`;
  return text;
}

/** Any JSON value, at most `levels` arrays and objects deep. */
function jsonValue(r: Random, levels: number): string {
  const kind = r.int(levels > 0 ? 6 : 4);
  if (kind === 0) return jsonString(r);
  if (kind === 1) return jsonNumber(r);
  if (kind === 2) return r.pick(["true", "false", "null"]);
  if (kind === 3) return r.chance(0.5) ? jsonString(r) : jsonNumber(r);
  const items: string[] = [];
  for (let n = r.int(4); n > 0; n--) {
    const item = jsonValue(r, levels - 1);
    items.push(kind === 4 ? item : `${space(r)}${jsonString(r)}${space(r)}:${space(r)}${item}`);
  }
  const inner = items.map((item) => `${space(r)}${item}${space(r)}`).join(",");
  return kind === 4 ? `[${inner}]` : `{${inner}}`;
}

/** A good value of a recognised member. */
function goodValue(r: Random, name: string): string {
  if (name === "interval_s") return String(r.chance(0.2) ? r.pick([1, MAX_INTERVAL_SEC]) : 1 + r.int(MAX_INTERVAL_SEC));
  if (name === "read") return "true";
  return r.pick(["true", "false"]);
}

/** A command object: recognised members (mostly good values) and ignored ones. */
function command(r: Random): string {
  const members: string[] = [];
  for (let n = 1 + r.int(4); n > 0; n--) {
    let name: string;
    let value: string;
    if (r.chance(0.5)) {
      const known = r.pick([...MEMBERS.keys()]);
      name = `"${r.pick(KNOWN_SPELLINGS[known])}"`;
      value = r.chance(0.85) ? goodValue(r, known) : r.pick(BAD_VALUES);
    } else {
      name = r.chance(0.7) ? `"${r.pick(UNKNOWN_NAMES)}"` : jsonString(r);
      value = jsonValue(r, 3);
    }
    members.push(`${space(r)}${name}${space(r)}:${space(r)}${value}${space(r)}`);
  }
  return `${space(r)}{${members.join(",")}}${space(r)}`;
}

/** A command whose ignored member nests arrays and objects around the parser's limit. */
function deepCommand(r: Random): string {
  const levels = MAX_DEPTH - 6 + r.int(10);
  let open = "";
  let close = "";
  for (let k = 1; k < levels; k++) {
    const object = r.chance(0.3);
    open += object ? '{"a":' : "[";
    close = (object ? "}" : "]") + close;
  }
  return `{"x":${open}${jsonValue(r, 1)}${close},"relay":${r.pick(["true", "false"])}}`;
}

function tokenSoup(r: Random): string {
  let text = r.chance(0.7) ? "{" : "";
  for (let n = 1 + r.int(15); n > 0; n--) text += r.pick(TOKENS);
  return text;
}

/** One to three byte edits: replace, insert, delete, duplicate a run, truncate. */
function mutate(r: Random, input: Uint8Array): Uint8Array {
  const bytes = [...input];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(bytes.length + 1);
    const byte = r.chance(0.9) ? r.pick(INTERESTING) : r.int(256);
    const op = r.int(5);
    if (op === 0 && at < bytes.length) bytes[at] = byte;
    else if (op === 1) bytes.splice(at, 0, byte);
    else if (op === 2) bytes.splice(at, 1);
    else if (op === 3) bytes.splice(at, 0, ...bytes.slice(at, at + 1 + r.int(8)));
    else bytes.length = at;
  }
  return Uint8Array.from(bytes);
}

/** The INPUTS payloads of one seed. */
function* inputs(seed: number): Generator<Uint8Array> {
  const r = prng(seed);
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  for (let n = 0; n < INPUTS; n++) {
    const kind = n % 10;
    if (kind < 3) yield encode(command(r));
    else if (kind < 7) yield mutate(r, encode(command(r)));
    else if (kind < 9) yield encode(tokenSoup(r));
    else yield r.chance(0.5) ? encode(deepCommand(r)) : mutate(r, encode(deepCommand(r)));
  }
}

/** The payload for a failure message: printable ASCII as is, every other byte as \xNN. */
function show(bytes: Uint8Array): string {
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("");
}

describe("the command parser against JSON.parse and the member rules", () => {
  let parser: Parser;
  before(async () => {
    parser = await buildParser();
  });

  it(`agrees on ${INPUTS} generated payloads (seed ${SEED.toString(16)})`, () => {
    let accepted = 0;
    let count = 0;
    for (const bytes of inputs(SEED)) {
      assert.ok(bytes.length <= parser.capacity(), `input ${count} is ${bytes.length} bytes`);
      const expected = referenceVerdict(bytes);
      assert.deepEqual(parserVerdict(parser, bytes), expected, `input ${count}: ${show(bytes)}`);
      if (expected.present !== REFUSED) accepted++;
      count++;
    }
    assert.equal(count, INPUTS);
    // both verdicts are well exercised, or the agreement would mean little
    assert.ok(accepted >= INPUTS / 10, `only ${accepted} accepted`);
    assert.ok(INPUTS - accepted >= INPUTS / 10, `only ${INPUTS - accepted} refused`);
  });
});

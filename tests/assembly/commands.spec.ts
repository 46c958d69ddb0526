// Specs for assembly/firmware/commands.ts: command payloads read in place, bad ones refused.
import { command, parseCommand, COMMAND_INTERVAL, COMMAND_READ, COMMAND_RELAY, COMMAND_LED } from "../../assembly/firmware/commands";
import { MAX_JSON_DEPTH } from "../../assembly/firmware/json";
import { place, repeat, utf8, resetFixtures } from "./support/bytes";

beforeEach(resetFixtures);

function parse(text: string): bool {
  let bytes = utf8(text);
  return parseCommand(place(bytes), <u32>bytes.length);
}

describe("parseCommand", () => {
  test("each member alone", () => {
    expect(parse("{\"interval_s\":30}")).toBe(true);
    expect(command.present).toBe(COMMAND_INTERVAL);
    expect(command.intervalSec).toBe(30);
    expect(parse("{\"read\":true}")).toBe(true);
    expect(command.present).toBe(COMMAND_READ);
    expect(parse("{\"relay\":true}")).toBe(true);
    expect(command.present).toBe(COMMAND_RELAY);
    expect(command.relay).toBe(true);
    expect(parse("{\"led\":false}")).toBe(true);
    expect(command.present).toBe(COMMAND_LED);
    expect(command.led).toBe(false);
  });

  test("several members, whitespace, unknown members ignored", () => {
    expect(parse(" {\n \"relay\" : false , \"note\":\"x\", \"interval_s\": 5 }")).toBe(true);
    expect(command.present).toBe(COMMAND_RELAY | COMMAND_INTERVAL);
    expect(command.relay).toBe(false);
    expect(command.intervalSec).toBe(5);
  });

  test("refuses payloads that are not a command", () => {
    expect(parse("")).toBe(false, "empty");
    expect(parse("read")).toBe(false, "not an object");
    expect(parse("{}")).toBe(false, "no member");
    expect(parse("{\"note\":1}")).toBe(false, "no recognised member");
    expect(parse("{\"relay\"")).toBe(false, "truncated");
    expect(parse("{\"relay\" true}")).toBe(false, "no colon");
  });

  test("refuses bad values of recognised members", () => {
    expect(parse("{\"interval_s\":0}")).toBe(false, "zero interval");
    expect(parse("{\"interval_s\":86401}")).toBe(false, "more than a day");
    expect(parse("{\"interval_s\":-5}")).toBe(false, "negative");
    expect(parse("{\"interval_s\":9999999999}")).toBe(false, "too many digits");
    expect(parse("{\"relay\":1}")).toBe(false, "not a boolean");
    expect(parse("{\"read\":false}")).toBe(false, "read must be true");
  });
});

// ---- the outside fuzz run's finding 4 ---------------------------------------------

/** A table row: the payload bytes and the COMMAND_* bits it sets, or REFUSED. */
class CommandCase {
  constructor(public name: string, public bytes: u8[], public present: i32) {}
}

const REFUSED: i32 = -1;

/** Parses the case's bytes; the COMMAND_* bits set, or REFUSED. */
function verdict(c: CommandCase): i32 {
  return parseCommand(place(c.bytes), <u32>c.bytes.length) ? <i32>command.present : REFUSED;
}

function expectVerdicts(cases: CommandCase[]): void {
  for (let i = 0; i < cases.length; i++) {
    let c = cases[i];
    expect(verdict(c)).toBe(c.present, c.name);
  }
}

const FINDINGS: CommandCase[] = [
  new CommandCase("unclosed object", utf8("{\"relay\":true"), REFUSED),
  new CommandCase("extra closing braces and a trailing byte", utf8("{\"relay\":true}}}x"), REFUSED),
  new CommandCase("members without a comma", utf8("{\"relay\":true \"led\":true}"), REFUSED),
  new CommandCase("a comma inside an ignored string", utf8("{\"note\":\"a,b\",\"relay\":true}"), COMMAND_RELAY),
];

describe("finding 4: the parser is neither lenient nor too strict", () => {
  test("three malformed payloads are refused, the valid one is accepted", () => {
    expectVerdicts(FINDINGS);
  });

  test("the valid one switches the relay on", () => {
    let bytes = utf8("{\"note\":\"a,b\",\"relay\":true}");
    expect(parseCommand(place(bytes), <u32>bytes.length)).toBe(true);
    expect(command.relay).toBe(true);
  });
});

// ---- RFC 8259 and the member rules ----------------------------------------------------

/** '{"x":' value ',"relay":true}': an ignored member before a recognised one. */
function ignored(value: u8[]): u8[] {
  return utf8('{"x":').concat(value).concat(utf8(',"relay":true}'));
}

/** prefix, the raw bytes, then suffix. */
function spliced(prefix: string, raw: u8[], suffix: string): u8[] {
  return utf8(prefix).concat(raw).concat(utf8(suffix));
}

const IGNORED: CommandCase[] = [
  new CommandCase("nested objects and arrays", ignored(utf8('{"a":[1,{"b":[]},[[null]]],"c":{}}')), COMMAND_RELAY),
  new CommandCase("every escape", ignored(utf8('"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9"')), COMMAND_RELAY),
  new CommandCase("surrogate pair", ignored(utf8('"\\uD834\\uDD1E"')), COMMAND_RELAY),
  new CommandCase("raw UTF-8", ignored(utf8('"caf\u00e9 \u20ac \ud834\udd1e"')), COMMAND_RELAY),
  new CommandCase("braces, brackets, commas, colons in a string", ignored(utf8('"}]{[,:\\"}"')), COMMAND_RELAY),
  new CommandCase("numbers with fraction and exponent", ignored(utf8("[-0.5e-3,1E+9,0,-0,12.75]")), COMMAND_RELAY),
  new CommandCase("literals", ignored(utf8("[true,false,null]")), COMMAND_RELAY),
  new CommandCase("a recognised name one level down", ignored(utf8('{"relay":"not a boolean","led":7}')), COMMAND_RELAY),
  new CommandCase("MAX_JSON_DEPTH levels of arrays", ignored(repeat(0x5b, <i32>MAX_JSON_DEPTH).concat(repeat(0x5d, <i32>MAX_JSON_DEPTH))), COMMAND_RELAY),
  new CommandCase("one level more", ignored(repeat(0x5b, <i32>MAX_JSON_DEPTH + 1).concat(repeat(0x5d, <i32>MAX_JSON_DEPTH + 1))), REFUSED),
  new CommandCase("ten thousand open brackets", ignored(repeat(0x5b, 10000)), REFUSED),
  new CommandCase("leading zero", ignored(utf8("01")), REFUSED),
  new CommandCase("minus alone", ignored(utf8("-")), REFUSED),
  new CommandCase("point without digits after", ignored(utf8("1.")), REFUSED),
  new CommandCase("point without digits before", ignored(utf8(".5")), REFUSED),
  new CommandCase("exponent without digits", ignored(utf8("1e")), REFUSED),
  new CommandCase("\\u with three hex digits", ignored(utf8('"\\u12"')), REFUSED),
  new CommandCase("unknown escape", ignored(utf8('"\\x"')), REFUSED),
  new CommandCase("lone surrogate", ignored(utf8('"\\uDD1E"')), REFUSED),
  new CommandCase("raw tab in a string", ignored(utf8('"a\tb"')), REFUSED),
  new CommandCase("raw U+001F in a string", ignored([0x22, 0x1f, 0x22]), REFUSED),
  new CommandCase("bad UTF-8 in a string", ignored(spliced('"', [0xc0, 0x80], '"')), REFUSED),
  new CommandCase("bare word", ignored(utf8("on")), REFUSED),
  new CommandCase("trailing comma in an array", ignored(utf8("[1,]")), REFUSED),
  new CommandCase("unclosed array", ignored(utf8("[1")), REFUSED),
  new CommandCase("no value", ignored([]), REFUSED),
  new CommandCase("a repeated name does not hide a bad earlier value", ignored(utf8('{"a":"\\uDD1E","a":1}')), REFUSED),
  new CommandCase("a repeated name does not hide an earlier depth", ignored(utf8('{"a":').concat(repeat(0x5b, <i32>MAX_JSON_DEPTH)).concat(repeat(0x5d, <i32>MAX_JSON_DEPTH)).concat(utf8(',"a":1}'))), REFUSED),
];

const COMMANDS: CommandCase[] = [
  // the top level
  new CommandCase("empty object: valid JSON, but asks for nothing", utf8("{}"), REFUSED),
  new CommandCase("only unknown members", utf8('{"rely":true,"note":[1]}'), REFUSED),
  new CommandCase("array", utf8('[{"relay":true}]'), REFUSED),
  new CommandCase("string", utf8('"relay"'), REFUSED),
  new CommandCase("literal", utf8("true"), REFUSED),
  new CommandCase("whitespace of all four kinds around and inside", utf8(' \t\r\n{ \t\r\n"relay"\n:\ttrue\r}\r\n\t '), COMMAND_RELAY),
  new CommandCase("vertical tab after", utf8('{"relay":true}\v'), REFUSED),
  new CommandCase("U+0000 after (C string)", spliced('{"relay":true}', [0x00], ""), REFUSED),
  new CommandCase("byte order mark before", spliced("", [0xef, 0xbb, 0xbf], '{"relay":true}'), REFUSED),
  new CommandCase("a second object after", utf8('{"relay":true}{"led":true}'), REFUSED),
  new CommandCase("trailing comma", utf8('{"relay":true,}'), REFUSED),
  new CommandCase("comma before the first member", utf8('{,"relay":true}'), REFUSED),
  new CommandCase("object closed by a bracket", utf8('{"relay":true]'), REFUSED),
  new CommandCase("unquoted name", utf8("{relay:true}"), REFUSED),
  new CommandCase("bad UTF-8 in a name", spliced('{"', [0xff], '":1,"relay":true}'), REFUSED),
  // names
  new CommandCase("all four members", utf8('{"interval_s":60,"read":true,"relay":false,"led":true}'), COMMAND_INTERVAL | COMMAND_READ | COMMAND_RELAY | COMMAND_LED),
  new CommandCase("escaped name", utf8('{"re\\u006cay":true}'), COMMAND_RELAY),
  new CommandCase("names are case-sensitive", utf8('{"Relay":true}'), REFUSED),
  new CommandCase("a space inside the name", utf8('{"relay ":true}'), REFUSED),
  new CommandCase("repeated member", utf8('{"relay":true,"relay":false}'), REFUSED),
  new CommandCase("repeated member, same value", utf8('{"led":true,"led":true}'), REFUSED),
  new CommandCase("repeated member, one spelled with an escape", utf8('{"led":true,"\\u006ced":true}'), REFUSED),
  new CommandCase("repeated unknown member", utf8('{"note":1,"note":2,"read":true}'), COMMAND_READ),
  // interval_s
  new CommandCase("interval 1", utf8('{"interval_s":1}'), COMMAND_INTERVAL),
  new CommandCase("interval 86400", utf8('{"interval_s":86400}'), COMMAND_INTERVAL),
  new CommandCase("interval 0", utf8('{"interval_s":0}'), REFUSED),
  new CommandCase("interval 86401", utf8('{"interval_s":86401}'), REFUSED),
  new CommandCase("interval of twenty digits", utf8('{"interval_s":99999999999999999999}'), REFUSED),
  new CommandCase("interval 2^32 + 30 (no wrap-around)", utf8('{"interval_s":4294967326}'), REFUSED),
  new CommandCase("negative interval", utf8('{"interval_s":-5}'), REFUSED),
  new CommandCase("interval with a fraction", utf8('{"interval_s":30.0}'), REFUSED),
  new CommandCase("interval with an exponent", utf8('{"interval_s":3e1}'), REFUSED),
  new CommandCase("interval with a leading zero", utf8('{"interval_s":030}'), REFUSED),
  new CommandCase("interval as a string", utf8('{"interval_s":"30"}'), REFUSED),
  new CommandCase("interval null", utf8('{"interval_s":null}'), REFUSED),
  // read, relay, led
  new CommandCase("read false", utf8('{"read":false}'), REFUSED),
  new CommandCase("read 1", utf8('{"read":1}'), REFUSED),
  new CommandCase("read as a string", utf8('{"read":"true"}'), REFUSED),
  new CommandCase("relay false", utf8('{"relay":false}'), COMMAND_RELAY),
  new CommandCase("relay 1", utf8('{"relay":1}'), REFUSED),
  new CommandCase("relay null", utf8('{"relay":null}'), REFUSED),
  new CommandCase("relay as a string", utf8('{"relay":"on"}'), REFUSED),
  new CommandCase("relay as an array", utf8('{"relay":[true]}'), REFUSED),
  new CommandCase("relay literal run on", utf8('{"relay":truex}'), REFUSED),
  new CommandCase("led cut literal", utf8('{"led":fals}'), REFUSED),
  // all or nothing
  new CommandCase("a good member, then a bad one", utf8('{"relay":true,"led":2}'), REFUSED),
  new CommandCase("a good member, then bad JSON", utf8('{"relay":true,"note":01}'), REFUSED),
];

describe("parseCommand against RFC 8259", () => {
  test("ignored members may hold any valid value, and only a valid one", () => {
    expectVerdicts(IGNORED);
  });

  test("top level, names, types and ranges", () => {
    expectVerdicts(COMMANDS);
  });

  test("a refused command leaves nothing present", () => {
    let bytes = utf8('{"relay":true,"interval_s":30,"led":2}');
    expect(parseCommand(place(bytes), <u32>bytes.length)).toBe(false);
    expect(command.present).toBe(0);
  });

  test("reads only the len bytes it is given", () => {
    let ptr = place(utf8('{"relay":true}x'));
    expect(parseCommand(ptr, 13)).toBe(false, "cut before the brace");
    expect(parseCommand(ptr, 14)).toBe(true, "the object");
    expect(parseCommand(ptr, 15)).toBe(false, "and a byte after");
  });

  test("values read: interval, relay and LED", () => {
    let bytes = utf8('{"interval_s":86400,"relay":false,"led":true}');
    expect(parseCommand(place(bytes), <u32>bytes.length)).toBe(true);
    expect(command.intervalSec).toBe(86400);
    expect(command.relay).toBe(false);
    expect(command.led).toBe(true);
  });
});

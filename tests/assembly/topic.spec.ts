// Specs for assembly/topic.ts: UTF-8 checks (§1.5.3), topic name and filter validation
// (§4.7.1, §4.7.3) and matching, including the spec's own examples (§4.7.1.2–4.7.2).
import { isValidUtf8, isWellFormedTopicName, validateTopicName, validateTopicFilter, topicMatches } from "../../assembly/topic";
import { MAX_TOPIC_LENGTH } from "../../assembly/config";
import { OK, INVALID_TOPIC, INVALID_FILTER } from "../../assembly/status";
import { place, utf8, repeat, resetFixtures } from "./support/bytes";

beforeEach(resetFixtures);

// ---- UTF-8 ------------------------------------------------------------------

class Utf8Case {
  constructor(public name: string, public bytes: u8[], public valid: bool) {}
}

const UTF8: Utf8Case[] = [
  new Utf8Case("empty", [], true),
  new Utf8Case("ASCII", [0x61, 0x2f, 0x62], true), // "a/b"
  new Utf8Case("U+007F, last one-byte", [0x7f], true),
  new Utf8Case("U+0080, first two-byte", [0xc2, 0x80], true),
  new Utf8Case("U+00E9 é", [0xc3, 0xa9], true),
  new Utf8Case("U+07FF, last two-byte", [0xdf, 0xbf], true),
  new Utf8Case("U+0800, first three-byte", [0xe0, 0xa0, 0x80], true),
  new Utf8Case("U+20AC €", [0xe2, 0x82, 0xac], true),
  new Utf8Case("U+D7FF, just below the surrogates", [0xed, 0x9f, 0xbf], true),
  new Utf8Case("U+E000, just above the surrogates", [0xee, 0x80, 0x80], true),
  new Utf8Case("U+FFFF, last three-byte", [0xef, 0xbf, 0xbf], true),
  new Utf8Case("U+10000, first four-byte", [0xf0, 0x90, 0x80, 0x80], true),
  new Utf8Case("U+1D11E 𝄞", [0xf0, 0x9d, 0x84, 0x9e], true),
  new Utf8Case("U+10FFFF, last code point", [0xf4, 0x8f, 0xbf, 0xbf], true),
  new Utf8Case("mixed widths", [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9d, 0x84, 0x9e], true), // "aé€𝄞"
  // U+0000 (§1.5.3 MQTT-1.5.3-2)
  new Utf8Case("U+0000 alone", [0x00], false),
  new Utf8Case("U+0000 inside", [0x61, 0x00, 0x62], false), // "a\0b"
  // overlong forms
  new Utf8Case("overlong U+0000 (C0 80)", [0xc0, 0x80], false),
  new Utf8Case("overlong U+007F (C1 BF)", [0xc1, 0xbf], false),
  new Utf8Case("overlong U+07FF in three bytes", [0xe0, 0x9f, 0xbf], false),
  new Utf8Case("overlong U+0000 in three bytes", [0xe0, 0x80, 0x80], false),
  new Utf8Case("overlong U+FFFF in four bytes", [0xf0, 0x8f, 0xbf, 0xbf], false),
  // surrogates
  new Utf8Case("U+D800, first surrogate", [0xed, 0xa0, 0x80], false),
  new Utf8Case("U+DFFF, last surrogate", [0xed, 0xbf, 0xbf], false),
  // above U+10FFFF
  new Utf8Case("U+110000", [0xf4, 0x90, 0x80, 0x80], false),
  new Utf8Case("lead byte F5", [0xf5, 0x80, 0x80, 0x80], false),
  new Utf8Case("lead byte FF", [0xff], false),
  // truncated sequences
  new Utf8Case("two-byte cut after the lead", [0xc3], false),
  new Utf8Case("three-byte cut after two", [0xe2, 0x82], false),
  new Utf8Case("four-byte cut after three", [0xf0, 0x9d, 0x84], false),
  new Utf8Case("three-byte cut at the end of text", [0x61, 0x62, 0xe2, 0x82], false),
  // bad continuation bytes
  new Utf8Case("lone continuation byte", [0x80], false),
  new Utf8Case("two-byte with ASCII second", [0xc3, 0x28], false),
  new Utf8Case("three-byte with ASCII third", [0xe2, 0x82, 0x28], false),
  new Utf8Case("four-byte with a lead byte fourth", [0xf0, 0x9d, 0x84, 0xc3], false),
];

describe("isValidUtf8", () => {
  test("accepts well-formed UTF-8 and refuses overlong, surrogate, out-of-range, truncated and U+0000", () => {
    for (let i = 0; i < UTF8.length; i++) {
      let c = UTF8[i];
      expect(isValidUtf8(place(c.bytes), c.bytes.length)).toBe(c.valid, c.name);
    }
  });

  test("reads only the len bytes it is given", () => {
    let ptr = place([0x61, 0xe2, 0x82, 0xac]); // "a€"
    expect(isValidUtf8(ptr, 1)).toBe(true, "just the 'a'");
    expect(isValidUtf8(ptr, 3)).toBe(false, "'a' and a cut '€'");
    expect(isValidUtf8(ptr, 4)).toBe(true, "all of it");
  });
});

// ---- topic names -----------------------------------------------------------------

class NameCase {
  constructor(public name: string, public bytes: u8[], public wellFormed: bool) {}
}

const NAMES: NameCase[] = [
  new NameCase("single level", utf8("a"), true),
  new NameCase("several levels", utf8("sport/tennis/player1"), true),
  new NameCase("only a separator", utf8("/"), true),
  new NameCase("empty levels", utf8("a//b"), true),
  new NameCase("$SYS topic", utf8("$SYS/broker/load"), true),
  new NameCase("spaces and non-ASCII", utf8("caf\u00e9 m\u00fcnchen"), true),
  new NameCase("empty", [], false),
  new NameCase("single-level wildcard", utf8("a/+"), false),
  new NameCase("multi-level wildcard", utf8("a/#"), false),
  new NameCase("wildcard inside a level", utf8("a+b"), false),
  new NameCase("U+0000", [0x61, 0x00], false), // "a\0"
  new NameCase("bad UTF-8", [0x61, 0xc0, 0x80], false), // "a" + overlong U+0000
];

describe("topic names", () => {
  test("isWellFormedTopicName: not empty, no wildcard, valid UTF-8", () => {
    for (let i = 0; i < NAMES.length; i++) {
      let c = NAMES[i];
      expect(isWellFormedTopicName(place(c.bytes), c.bytes.length)).toBe(c.wellFormed, c.name);
    }
  });

  test("validateTopicName agrees for names within MAX_TOPIC_LENGTH", () => {
    for (let i = 0; i < NAMES.length; i++) {
      let c = NAMES[i];
      expect(validateTopicName(place(c.bytes), c.bytes.length)).toBe(c.wellFormed ? OK : INVALID_TOPIC, c.name);
    }
  });

  test("MAX_TOPIC_LENGTH is 256 in the desktop profile", () => {
    expect(MAX_TOPIC_LENGTH).toBe(256);
  });

  test("validateTopicName: exactly MAX_TOPIC_LENGTH bytes is OK, one more is INVALID_TOPIC", () => {
    let longest = repeat(0x61, MAX_TOPIC_LENGTH);
    expect(validateTopicName(place(longest), longest.length)).toBe(OK, "max");
    let tooLong = repeat(0x61, MAX_TOPIC_LENGTH + 1);
    expect(validateTopicName(place(tooLong), tooLong.length)).toBe(INVALID_TOPIC, "max + 1");
  });

  test("isWellFormedTopicName has no length limit (received names may be longer)", () => {
    let tooLong = repeat(0x61, MAX_TOPIC_LENGTH + 1);
    expect(isWellFormedTopicName(place(tooLong), tooLong.length)).toBe(true);
  });
});

// ---- topic filters ---------------------------------------------------------------

class FilterCase {
  constructor(public filter: string, public status: i32) {}
}

const FILTERS: FilterCase[] = [
  new FilterCase("a", OK),
  new FilterCase("a/b/c", OK),
  new FilterCase("a/+", OK),
  new FilterCase("+", OK),
  new FilterCase("#", OK),
  new FilterCase("a/#", OK),
  new FilterCase("+/+", OK),
  new FilterCase("+/tennis/#", OK),
  new FilterCase("sport/+/player1", OK),
  new FilterCase("/", OK), // two empty levels
  new FilterCase("a//b", OK), // an empty level in the middle
  new FilterCase("//#", OK),
  new FilterCase("/+", OK),
  new FilterCase("$SYS/#", OK),
  new FilterCase("a+", INVALID_FILTER), // '+' shares its level
  new FilterCase("+a", INVALID_FILTER),
  new FilterCase("a/+b/c", INVALID_FILTER),
  new FilterCase("++", INVALID_FILTER),
  new FilterCase("a/#/b", INVALID_FILTER), // '#' not last
  new FilterCase("#/", INVALID_FILTER),
  new FilterCase("#a", INVALID_FILTER), // '#' shares its level
  new FilterCase("a/b#", INVALID_FILTER),
  new FilterCase("sport/tennis#", INVALID_FILTER), // §4.7.1.2 example
  new FilterCase("##", INVALID_FILTER),
  new FilterCase("+#", INVALID_FILTER),
  new FilterCase("", INVALID_FILTER),
];

describe("validateTopicFilter", () => {
  test("wildcards must fill whole levels, '#' only the last", () => {
    for (let i = 0; i < FILTERS.length; i++) {
      let c = FILTERS[i];
      let bytes = utf8(c.filter);
      expect(validateTopicFilter(place(bytes), bytes.length)).toBe(c.status, "\"" + c.filter + "\"");
    }
  });

  test("U+0000 and bad UTF-8 are INVALID_FILTER", () => {
    let nul = place([0x61, 0x2f, 0x00]); // "a/\0"
    expect(validateTopicFilter(nul, 3)).toBe(INVALID_FILTER, "U+0000");
    let surrogate = place([0x61, 0x2f, 0xed, 0xa0, 0x80]); // "a/" + U+D800
    expect(validateTopicFilter(surrogate, 5)).toBe(INVALID_FILTER, "surrogate");
    let accented = place([0xc3, 0xa9, 0x2f, 0x2b]); // "é/+"
    expect(validateTopicFilter(accented, 4)).toBe(OK, "non-ASCII level before a wildcard");
  });

  test("exactly MAX_TOPIC_LENGTH bytes is OK, one more is INVALID_FILTER", () => {
    let longest = repeat(0x61, MAX_TOPIC_LENGTH - 2).concat(utf8("/#"));
    expect(validateTopicFilter(place(longest), longest.length)).toBe(OK, "max");
    let tooLong = repeat(0x61, MAX_TOPIC_LENGTH - 1).concat(utf8("/#"));
    expect(validateTopicFilter(place(tooLong), tooLong.length)).toBe(INVALID_FILTER, "max + 1");
  });
});

// ---- matching --------------------------------------------------------------------

class MatchCase {
  constructor(public filter: string, public topic: string, public matches: bool) {}
}

const MATCHES: MatchCase[] = [
  // exact
  new MatchCase("a/b", "a/b", true),
  new MatchCase("a/b", "a/B", false), // case sensitive
  new MatchCase("A/b", "a/b", false),
  new MatchCase("a/b", "a/b/c", false), // topic longer
  new MatchCase("a/b/c", "a/b", false), // topic shorter
  new MatchCase("a/b", "a/bc", false),
  new MatchCase("a/bc", "a/b", false),
  new MatchCase("a/b", "a/b/", false), // an extra empty level
  new MatchCase("/finance", "finance", false), // §4.7.1.3
  // '#'
  new MatchCase("#", "a", true),
  new MatchCase("#", "a/b/c", true),
  new MatchCase("#", "/", true),
  new MatchCase("sport/#", "sport", true), // '#' includes the parent level
  new MatchCase("sport/#", "sport/", true),
  new MatchCase("sport/#", "sport/tennis/player1", true),
  new MatchCase("sport/tennis/player1/#", "sport/tennis/player1/ranking", true), // §4.7.1.2
  new MatchCase("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true),
  new MatchCase("sport/#", "sports", false),
  new MatchCase("sport/#", "spor", false),
  new MatchCase("sport/tennis/#", "sport", false), // only one parent level
  new MatchCase("+/#", "a", true),
  // '+'
  new MatchCase("+", "a", true),
  new MatchCase("+", "a/b", false),
  new MatchCase("+", "/finance", false), // §4.7.1.3
  new MatchCase("+", "/", false), // two empty levels
  new MatchCase("+/+", "/", true), // '+' matches an empty level
  new MatchCase("+/+", "/finance", true), // §4.7.1.3
  new MatchCase("/+", "/finance", true), // §4.7.1.3
  new MatchCase("+/+", "a", false),
  new MatchCase("a/+", "a/", true),
  new MatchCase("a/+", "a", false), // '+' needs a level, unlike '#'
  new MatchCase("a/+", "a/b/c", false),
  new MatchCase("a/+/c", "a/b/c", true),
  new MatchCase("a/+/c", "a//c", true),
  new MatchCase("a/+/c", "a/b/d", false),
  new MatchCase("sport/tennis/+", "sport/tennis/player1", true), // §4.7.1.3
  new MatchCase("sport/tennis/+", "sport/tennis/player1/ranking", false),
  new MatchCase("sport/+", "sport", false),
  new MatchCase("sport/+", "sport/", true),
  new MatchCase("a/+/#", "a/b", true),
  new MatchCase("a/+/#", "a", false),
  // '$' topics (§4.7.2)
  new MatchCase("#", "$SYS/x", false),
  new MatchCase("+/x", "$SYS/x", false),
  new MatchCase("+", "$SYS", false),
  new MatchCase("+/monitor/Clients", "$SYS/monitor/Clients", false),
  new MatchCase("$SYS/#", "$SYS/x", true),
  new MatchCase("$SYS/#", "$SYS", true),
  new MatchCase("$SYS/+", "$SYS/x", true),
  new MatchCase("$SYS/monitor/+", "$SYS/monitor/Clients", true),
  new MatchCase("a/+", "a/$x", true), // '$' only matters at the start of the topic
  new MatchCase("#", "a/$SYS", true),
];

describe("topicMatches", () => {
  test("matches names against filters as §4.7 describes", () => {
    for (let i = 0; i < MATCHES.length; i++) {
      let c = MATCHES[i];
      let filter = utf8(c.filter);
      let topic = utf8(c.topic);
      let name = "\"" + c.filter + "\" vs \"" + c.topic + "\"";
      expect(validateTopicFilter(place(filter), filter.length)).toBe(OK, name + ": fixture filter is valid");
      expect(isWellFormedTopicName(place(topic), topic.length)).toBe(true, name + ": fixture topic is valid");
      expect(topicMatches(place(filter), filter.length, place(topic), topic.length)).toBe(c.matches, name);
    }
  });

  test("reads only the lengths it is given", () => {
    let filter = place(utf8("a/b/#")); // read as "a/b"
    let topic = place(utf8("a/b/c")); // read as "a/b"
    expect(topicMatches(filter, 3, topic, 3)).toBe(true, "\"a/b\" vs \"a/b\"");
    expect(topicMatches(filter, 3, topic, 5)).toBe(false, "\"a/b\" vs \"a/b/c\"");
    expect(topicMatches(filter, 5, topic, 3)).toBe(true, "\"a/b/#\" vs \"a/b\"");
  });
});

// Specs for assembly/firmware/json.ts: numbers and literals written in place.
import { writeAscii, writeBool, writeCenti, writeUint } from "../../assembly/firmware/json";
import { bytesAt, utf8 } from "./support/bytes";

const OUT = memory.data(64);

function written(end: usize): u8[] {
  return bytesAt(OUT, <u32>(end - OUT));
}

describe("writeUint", () => {
  test("every digit count, and zero", () => {
    expect(written(writeUint(OUT, 0))).toStrictEqual(utf8("0"));
    expect(written(writeUint(OUT, 7))).toStrictEqual(utf8("7"));
    expect(written(writeUint(OUT, 10))).toStrictEqual(utf8("10"));
    expect(written(writeUint(OUT, 86400))).toStrictEqual(utf8("86400"));
    expect(written(writeUint(OUT, 4294967295))).toStrictEqual(utf8("4294967295"));
  });
});

describe("writeCenti", () => {
  test("two decimal places, sign and leading zero", () => {
    expect(written(writeCenti(OUT, 2500))).toStrictEqual(utf8("25.00"));
    expect(written(writeCenti(OUT, 2347))).toStrictEqual(utf8("23.47"));
    expect(written(writeCenti(OUT, 5))).toStrictEqual(utf8("0.05"));
    expect(written(writeCenti(OUT, 0))).toStrictEqual(utf8("0.00"));
    expect(written(writeCenti(OUT, -5))).toStrictEqual(utf8("-0.05"));
    expect(written(writeCenti(OUT, -4000))).toStrictEqual(utf8("-40.00"));
  });
});

describe("literals", () => {
  test("writeBool and writeAscii", () => {
    expect(written(writeBool(OUT, true))).toStrictEqual(utf8("true"));
    expect(written(writeBool(OUT, false))).toStrictEqual(utf8("false"));
    expect(written(writeAscii(OUT, "{\"seq\":"))).toStrictEqual(utf8("{\"seq\":"));
  });
});

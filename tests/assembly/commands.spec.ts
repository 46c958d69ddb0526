// Specs for assembly/firmware/commands.ts: command payloads read in place, bad ones refused.
import { command, parseCommand, COMMAND_INTERVAL, COMMAND_READ, COMMAND_RELAY, COMMAND_LED } from "../../assembly/firmware/commands";
import { place, utf8, resetFixtures } from "./support/bytes";

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

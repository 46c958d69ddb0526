/**
 * The fuzzer (tests/fuzz/, README.md "Robustness"): a bounded deterministic slice of
 * every input class against the nodemcu client module must find nothing; a stored
 * reproducer replays clean; and the fuzzer's own parts are checked to fail when they
 * should: a replay against a wrong reference reports it, the minimizer shrinks to the bytes
 * that matter, the memory and outbound checks catch what they are for.
 * Reads build/ (`npm test` builds first).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { Status, statusName } from "../../host/status.ts";
import { runCampaign, shapeOf } from "../fuzz/campaign.ts";
import { Device } from "../fuzz/device.ts";
import { Finding } from "../fuzz/finding.ts";
import { CLASSES, MALFORMED, generate } from "../fuzz/generator.ts";
import { stepsToJson, type Input } from "../fuzz/input.ts";
import { checkMemory } from "../fuzz/invariants.ts";
import { minimize } from "../fuzz/minimize.ts";
import { runInput } from "../fuzz/oracle.ts";
import { OutboundCheck } from "../fuzz/outbound.ts";
import { Reference } from "../fuzz/reference.ts";
import { replay } from "../fuzz/reproducer.ts";
import { PacketSplitter, concat, connack, publish, puback } from "./support/mqtt-packets.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURE = `${root}tests/fixtures/fuzz/five-byte-remaining-length.json`;
const SUBACK_FIXTURE = `${root}tests/fixtures/fuzz/suback-count-mismatch.json`;
/** The slice: 5 classes × 8000 inputs, 7–23 s on the shared 2-core machine depending on its load (measured, README.md "Robustness"). */
const SLICE_INPUTS = 40_000;

/** A reference wrong on purpose: it expects MALFORMED_PACKET, not PROTOCOL_ERROR, for a SUBACK whose code count differs from its SUBSCRIBE's filters. */
class WrongSubackReference extends Reference {
  override commit(chunk: Uint8Array): ReturnType<Reference["commit"]> {
    const id = (chunk[2] << 8) | chunk[3];
    const mismatch = chunk[0] === 0x90 && chunk.length >= 4 && this.subscribes.has(id) && this.subscribes.get(id) !== chunk[1] - 2;
    const v = super.commit(chunk);
    if (mismatch && v.status === Status.PROTOCOL_ERROR) v.status = Status.MALFORMED_PACKET;
    return v;
  }
}
const wrongReference = (capacities: ConstructorParameters<typeof Reference>[0]) => new WrongSubackReference(capacities);

describe("fuzzer", () => {
  it(`finds nothing in ${SLICE_INPUTS} deterministic inputs across every class (nodemcu client)`, () => {
    const result = runCampaign({ seed: 1, profile: "nodemcu", kind: "client", inputs: SLICE_INPUTS, minimize: false });
    assert.equal(result.inputs, SLICE_INPUTS);
    for (const cls of CLASSES) assert.equal(result.perClass[cls].inputs, SLICE_INPUTS / CLASSES.length);
    const summary = result.failures.map((f) => `${f.count}× ${f.reproducer.check}: ${f.reproducer.message}`);
    assert.deepEqual(summary, [], `findings:\n${summary.join("\n")}`);
  });

  it("replays the stored reproducer clean, from the command line too", () => {
    assert.equal(replay(FIXTURE), undefined);
    const cli = spawnSync(process.execPath, ["--import", "tsx", "tests/fuzz/cli.ts", "--replay", FIXTURE], { cwd: root, encoding: "utf8" });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^PASS /);
  });

  it("reports the failure when a reproducer fails (a reference expecting MALFORMED_PACKET for a SUBACK count mismatch)", () => {
    assert.equal(replay(SUBACK_FIXTURE), undefined);
    const finding = replay(SUBACK_FIXTURE, wrongReference);
    assert.ok(finding instanceof Finding, "the replay passed");
    assert.equal(finding.check, "status");
    assert.match(finding.message, /^rxCommit of 9003000101 returned -2, expected -1$/);
  });

  it("minimizes a failing input to the bytes that matter", () => {
    const input: Input = {
      seed: 0, cls: "test", index: 0, profile: "nodemcu", kind: "client",
      steps: [
        { op: "publish", topic: "a", payload: "x", qos: 0, retain: false },
        { op: "subscribe", filters: [["f/1", 1], ["f/2", 0]] },
        { op: "tick", ms: 5 },
        { op: "rx", bytes: concat([connack(false, 0), publish({ topic: "t", payload: "junk", qos: 0 }), puback(77)]) },
        { op: "rx", bytes: Uint8Array.from([0x90, 0x03, 0x00, 0x01, 0x01, 0xd0, 0x00]) },
      ],
    };
    const finding = runInput(input, undefined, wrongReference);
    assert.equal(finding?.check, "status");
    const small = minimize(input, finding!, (i) => runInput(i, undefined, wrongReference));
    const steps = stepsToJson(small.steps);
    assert.deepEqual(steps.map((s) => s.op), ["subscribe", "rx", "rx"]);
    assert.deepEqual(steps.slice(1).map((s) => s.op === "rx" && s.hex), ["20020000", steps[2].op === "rx" && /^9003000[01]0[01]$/.test(steps[2].hex) && steps[2].hex]);
  });

  it("derives input i of class k from (seed, k, i) alone", () => {
    const shape = shapeOf("client", "nodemcu");
    for (const cls of CLASSES) {
      const a = JSON.stringify(stepsToJson(generate(3, cls, 77, "nodemcu", "client", shape).steps));
      generate(3, cls, 76, "nodemcu", "client", shape);
      assert.equal(JSON.stringify(stepsToJson(generate(3, cls, 77, "nodemcu", "client", shape).steps)), a, cls);
      assert.notEqual(JSON.stringify(stepsToJson(generate(4, cls, 77, "nodemcu", "client", shape).steps)), a, `${cls}: the seed changes nothing`);
    }
  });

  it("gives every malformed class the status of its table row (README.md)", () => {
    const shape = shapeOf("client", "nodemcu");
    MALFORMED.forEach((bad, i) => {
      for (let k = 0; k < 12; k++) {
        const input = generate(5, "malformed", i + k * MALFORMED.length, "nodemcu", "client", shape);
        const reference = new Reference({ rx: shape.rxCapacity, inboundQos2: shape.inboundQos2Slots });
        reference.opened();
        let close: string | undefined;
        let dropped = 0;
        let delivered = 0;
        const done: number[] = [];
        const request = input.steps.find((s) => s.op === "subscribe" || s.op === "publish");
        for (const step of input.steps) {
          if (step.op !== "rx") continue;
          const v = reference.commit(step.bytes);
          // the case's request (packet id 1) goes out when the CONNACK's rxCommit returns
          if (v.connected && request?.op === "subscribe") reference.subscribes.set(1, request.filters.length);
          if (v.connected && request?.op === "publish") reference.flows.set(1, request.qos === 1 ? "puback" : "pubrec");
          dropped += v.dropped;
          delivered += v.deliveries.length;
          done.push(...v.done);
          if (v.close && close === undefined) close = statusName(v.close.code);
        }
        if (bad.status === "OK") assert.equal(close, undefined, bad.name);
        else if (bad.status === "CONNACK_*") assert.match(close ?? "", /^CONNACK_/, bad.name);
        else assert.equal(close, bad.status, `${bad.name} (input ${k})`);
        if (bad.name.startsWith("PUBLISH larger")) assert.equal(dropped, 1, bad.name);
        if (bad.name.startsWith("PUBACK for a QoS 2")) assert.deepEqual(done, [1], bad.name);
        if (bad.name.startsWith("more unreleased QoS 2")) assert.ok(delivered > shape.inboundQos2Slots, `${bad.name}: ${delivered} delivered`);
      }
    });
  });

  it("catches a write above staticDataEnd() and a changed string literal (the telemetry module's: the client module has none)", () => {
    const device = new Device("client", "nodemcu");
    const memory = new Uint8Array(device.exports.memory.buffer);
    const size = memory.byteLength;
    checkMemory(device, size);
    const above = device.exports.staticDataEnd() + 100;
    memory[above] = 1;
    assert.throws(() => checkMemory(device, size), (e: Finding) => e.check === "stray-write" && e.message.includes(String(above)));
    memory[above] = 0;
    const firmware = new Device("telemetry", "nodemcu");
    const firmwareMemory = new Uint8Array(firmware.exports.memory.buffer);
    checkMemory(firmware, firmwareMemory.byteLength);
    const literal = firmware.compiled.segments[0];
    assert.ok(literal, "the telemetry module has no data segment");
    firmwareMemory[literal.offset] ^= 0xff;
    assert.throws(() => checkMemory(firmware, firmwareMemory.byteLength), (e: Finding) => e.check === "read-only-data");
  });

  it("refuses outbound packets that break MQTT 3.1.1: a SUBSCRIBE without filters, DUP at QoS 0, PUBREL without PUBREC", () => {
    const fresh = (): OutboundCheck => {
      const check = new OutboundCheck(new Reference({ rx: 1536, inboundQos2: 8 }), 8, false);
      check.opening();
      const id = [...new TextEncoder().encode("fuzz")];
      check.sent(new PacketSplitter().push(Uint8Array.from([0x10, 16, 0, 4, 77, 81, 84, 84, 4, 0, 0, 0, 0, 4, ...id]))[0]);
      check.connackAccepted();
      return check;
    };
    const packetOf = (bytes: number[]) => new PacketSplitter().push(Uint8Array.from(bytes))[0];
    fresh().sent(packetOf([0x82, 6, 0, 2, 0, 1, 0x61, 0])); // a valid SUBSCRIBE passes
    for (const [bytes, why] of [
      [[0x82, 2, 0, 2], /no topic filter/],
      [[0x38, 3, 0, 1, 0x61], /DUP at QoS 0/],
      [[0x62, 2, 0, 9], /PUBREL 9 without a PUBREC/],
      [[0x82, 7, 0, 2, 0, 2, 0x61, 0x23, 0], /invalid topic filter/],
    ] as const) {
      assert.throws(() => fresh().sent(packetOf([...bytes])), (e: Finding) => e.check === "outbound" && why.test(e.message), String(why));
    }
  });
});

// The soak's delivery latency figures (host/soak/latency.ts, through the ledger): percentiles
// never exceed the max, come from the observed values while they are kept, and from the
// histogram (bucket bounds capped by the max) beyond; merged recorders give the figures of
// one recorder of every value.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Invariants } from "../../host/soak/invariants.ts";
import { LatencyRecorder, latencyFigures, mergeLatency } from "../../host/soak/latency.ts";
import { DeliveryLedger } from "../../host/soak/ledger.ts";

/** A ledger of one QoS 1 device that started at 0 and whose uptime is virtual time. */
function ledgerAt(now: { ms: number }, latency?: LatencyRecorder): DeliveryLedger {
  const ledger = new DeliveryLedger({
    devices: [{ id: "d-1", qos: 1 }], expectedReadings: 100, invariants: new Invariants(),
    now: () => now.ms, readingTime: (startMs, uptimeMs) => startMs + uptimeMs, latency,
  });
  ledger.started("d-1", 0);
  return ledger;
}

test("p50 and p99 of latencies all 48 s are 48 s, not the bucket bound above it", () => {
  const now = { ms: 0 };
  const ledger = ledgerAt(now);
  for (let seq = 1; seq <= 100; seq++) {
    now.ms = seq * 1000 + 48_000;
    ledger.observed("d-1", seq, seq);
  }
  const figures = ledger.latencyFigures();
  assert.equal(figures.count, 100);
  assert.equal(figures.maxMs, 48_000);
  assert.equal(figures.p99Ms, 48_000);
  assert.equal(figures.p50Ms, 48_000);
  assert.equal(figures.exact, true);
});

test("percentiles are the observed values' nearest ranks while kept", () => {
  const recorder = new LatencyRecorder();
  for (let ms = 1; ms <= 1000; ms++) recorder.add(ms);
  const figures = latencyFigures(recorder.data());
  assert.deepEqual([figures.p50Ms, figures.p99Ms, figures.maxMs, figures.meanMs], [500, 990, 1000, 500.5]);
});

test("beyond the kept values, percentiles are histogram bounds capped by the max", () => {
  const recorder = new LatencyRecorder(10);
  for (let i = 0; i < 20; i++) recorder.add(i < 10 ? 100 : 48_000);
  const figures = latencyFigures(recorder.data());
  assert.equal(figures.exact, false);
  assert.equal(figures.p50Ms, 128, "the bound of the bucket [64, 128)");
  assert.equal(figures.p99Ms, 48_000, "the bound 65536 capped by the max");
});

test("merged recorders give the figures of one recorder of every value, kept only within the limit", () => {
  const [a, b, all] = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
  for (let i = 0; i < 300; i++) {
    const ms = (i * 7919) % 5000;
    (i % 3 === 0 ? a : b).add(ms);
    all.add(ms);
  }
  assert.deepEqual(latencyFigures(mergeLatency([a.data(), b.data()])), latencyFigures(all.data()));
  const [small1, small2] = [new LatencyRecorder(4), new LatencyRecorder(4)];
  for (let i = 0; i < 3; i++) {
    small1.add(10);
    small2.add(20);
  }
  const merged = mergeLatency([small1.data(), small2.data()]);
  assert.equal(merged.values, undefined, "6 values exceed the limit of 4");
  assert.equal(latencyFigures(merged).exact, false);
});

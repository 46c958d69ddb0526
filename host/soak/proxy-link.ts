/**
 * A device's per-device faults with `wasmqtt soak --real`. What breaks connections acts
 * on the device's own fault proxy (host/net/fault-proxy.ts) in front of Mosquitto; a
 * small send buffer acts on the device's simulated link, as without `--real`:
 *
 * | change | on the proxy |
 * |---|---|
 * | `drop` | every connection dropped |
 * | `outage` (reset) | new connections refused and the open ones dropped, for the duration |
 * | `outage` (blackhole) | bytes discarded both ways, closes hidden and new connections refused, for the duration; at its end the connections that lived through it are dropped (their streams lost bytes, so they must not carry more) |
 * | `latency` | every chunk delayed by `ms`, both ways |
 * | `sendBuffer` (and anything else) | applied to the simulated link |
 *
 * @example
 * const link = new ProxiedLink(proxy, device.network, clock);
 * link.apply({ do: "outage", durationMs: 15_000, mode: "blackhole" });
 */
import type { FaultProxy } from "../net/fault-proxy.ts";
import type { VirtualClock } from "../sim/clock.ts";
import type { LinkChange, NetworkLink } from "../sim/network.ts";
import type { FaultLink } from "./injector.ts";

/** One device's faults, on its proxy and its simulated link. */
export class ProxiedLink implements FaultLink {
  private refusingUntil = -Infinity;
  private blackholeUntil = -Infinity;
  private blackholed = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly network: NetworkLink,
    private readonly clock: VirtualClock,
  ) {}

  /** Applies a change now (see the file comment). */
  apply(change: LinkChange): void {
    switch (change.do) {
      case "drop":
        this.proxy.dropAll();
        return;
      case "latency":
        this.proxy.delay(change.ms);
        return;
      case "outage":
        this.outage(change.durationMs, change.mode ?? "reset");
        return;
      default:
        this.network.apply(change);
    }
  }

  private outage(durationMs: number, mode: "reset" | "blackhole"): void {
    const until = this.clock.now() + durationMs;
    this.refusingUntil = Math.max(this.refusingUntil, until);
    this.proxy.refuse(true);
    if (mode === "blackhole") {
      this.blackholeUntil = Math.max(this.blackholeUntil, until);
      this.blackholed = true;
      this.proxy.blackhole(true);
    } else {
      this.proxy.dropAll();
    }
    this.clock.setTimer(until, () => this.outageEnded());
  }

  /** Ends what no longer lasts: the black-hole (dropping what lived through it), the refusal. */
  private outageEnded(): void {
    const now = this.clock.now();
    if (this.blackholed && now >= this.blackholeUntil) {
      this.blackholed = false;
      this.proxy.dropAll();
      this.proxy.blackhole(false);
    }
    if (now >= this.refusingUntil) this.proxy.refuse(false);
  }
}

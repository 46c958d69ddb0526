// Reconnect backoff: exponential with jitter, always inside the configured bounds.

/**
 * The delay before reconnect attempt `attempt` (1, 2, …): the ceiling doubles from
 * 2·minMs each attempt up to maxMs, and the delay is a random point between
 * max(minMs, ceiling / 2) and the ceiling ("equal jitter"), so devices that lost the
 * same broker do not all come back at once. Needs 0 < minMs <= maxMs; the result is
 * always in [minMs, maxMs].
 */
export function backoffDelay(attempt: u32, minMs: u32, maxMs: u32, entropy: u32): u32 {
  let ceiling = minMs;
  for (let i: u32 = 0; i < attempt && ceiling < maxMs; i++) {
    ceiling = ceiling <= maxMs >> 1 ? ceiling << 1 : maxMs;
  }
  let lower = max<u32>(minMs, ceiling >> 1);
  return lower + entropy % (ceiling - lower + 1);
}

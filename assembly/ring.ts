// A byte ring over a fixed region: the transmit queue between the client and netSend.
import { TX_FULL, OK } from "./status";

/** A FIFO of bytes in [base, base + capacity); lives in a memory.data() block. */
@unmanaged
export class ByteRing {
  base: usize;
  capacity: u32;
  head: u32;
  length: u32;
  highWater: u32;

  /** Points the ring at its region and empties it. */
  reset(base: usize, capacity: u32): void {
    this.base = base;
    this.capacity = capacity;
    this.head = 0;
    this.length = 0;
    this.highWater = 0;
  }

  /** Empties the ring, keeping its region and high-water mark. */
  clear(): void {
    this.head = 0;
    this.length = 0;
  }

  /** Bytes that can be written now. */
  free(): u32 {
    return this.capacity - this.length;
  }

  /** Appends len bytes from src. Returns OK, or TX_FULL when they do not all fit (nothing written). */
  write(src: usize, len: u32): i32 {
    if (len > this.free()) return TX_FULL;
    let tail = (this.head + this.length) % this.capacity;
    let first = min<u32>(len, this.capacity - tail);
    memory.copy(this.base + tail, src, first);
    memory.copy(this.base, src + first, len - first);
    this.length += len;
    if (this.length > this.highWater) this.highWater = this.length;
    return OK;
  }

  /** Appends one byte; the caller checked free(). */
  writeByte(value: u8): void {
    store<u8>(this.base + (this.head + this.length) % this.capacity, value);
    this.length++;
    if (this.length > this.highWater) this.highWater = this.length;
  }

  /** Length of the run of queued bytes that starts at the head without wrapping. */
  contiguous(): u32 {
    return min<u32>(this.length, this.capacity - this.head);
  }

  /** Address of the oldest queued byte. */
  headPtr(): usize {
    return this.base + this.head;
  }

  /** Drops n bytes from the head (n <= length). */
  consume(n: u32): void {
    this.head = (this.head + n) % this.capacity;
    this.length -= n;
    if (this.length == 0) this.head = 0;
  }
}

/**
 * Write batching for a byte-stream transport: every `netSend` of one turn of the event loop
 * is copied into one growing buffer and leaves in a single `write()` when the turn ends
 * (`process.nextTick`), so a burst of small packets costs one system call, not one per
 * packet, and Nagle / delayed ACKs on the far side see one segment instead of a trickle.
 * One copy per packet and one view per turn; a new buffer only when the current one is used
 * up (the views already written keep the old one alive until the stream is done with it).
 *
 * @example
 * const batch = new WriteBatch(socket, () => handlers.onWritable?.());
 * const taken = batch.take(bytes); // 0 when the socket wants a drain first
 */
import type { Writable } from "node:stream";

/** Size of one batch buffer; a larger turn gets a buffer of its own size. */
const BATCH_BYTES = 64 * 1024;

/** The bytes taken for one stream during the current turn. */
export class WriteBatch {
  private buffer: Buffer = Buffer.allocUnsafeSlow(BATCH_BYTES);
  /** Where this turn's bytes begin in `buffer` (earlier bytes were handed to the stream). */
  private start = 0;
  private end = 0;
  private scheduled = false;
  /** A `take` returned 0 because of this turn's bytes, not the stream's: tell `onWritable` after the flush. */
  private refused = false;
  private readonly flushNow = () => this.flush();

  /** `onWritable` runs after a flush that made room for a send refused in the same turn. */
  constructor(
    private readonly stream: Writable,
    private readonly onWritable: () => void,
  ) {}

  /**
   * Copies `bytes` into this turn's batch. Returns how many were taken: all of them, or 0
   * when the stream needs a drain (its "drain" follows) or the batch already holds a high
   * water mark's worth (`onWritable` follows the flush).
   */
  take(bytes: Uint8Array): number {
    const { stream } = this;
    if (stream.writableNeedDrain) return 0;
    const pending = this.end - this.start;
    if (pending > 0 && pending + stream.writableLength >= stream.writableHighWaterMark) {
      this.refused = true;
      return 0;
    }
    if (bytes.length > this.buffer.length - this.end) {
      const next = Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, pending + bytes.length));
      this.buffer.copy(next, 0, this.start, this.end);
      this.buffer = next;
      this.start = 0;
      this.end = pending;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
    return bytes.length;
  }

  /** Writes this turn's bytes now (the transport calls it before ending the stream). */
  flush(): void {
    this.scheduled = false;
    if (this.end === this.start) return;
    const chunk = this.buffer.subarray(this.start, this.end);
    this.start = this.end;
    const refused = this.refused;
    this.refused = false;
    if (this.stream.destroyed || !this.stream.writable) return; // the connection is gone; its close reports it
    if (this.stream.write(chunk) && refused) this.onWritable();
  }
}

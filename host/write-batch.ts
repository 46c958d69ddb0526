/**
 * Write batching for a byte-stream transport: every `netSend` of one turn of the event loop
 * is copied into one growing buffer and leaves in a single `write()` when the turn ends
 * (`process.nextTick`), or as soon as the batch holds the stream's high water mark, so a
 * burst of small packets costs one system call, not one per packet. One copy per packet
 * and one view per write. The buffer is small until a turn needs more and is reused from
 * its start once the stream has written everything handed to it; while a write is still
 * pending, a turn that does not fit gets a new buffer (the pending view keeps the old one).
 *
 * @example
 * const batch = new WriteBatch(socket);
 * const taken = batch.take(bytes); // 0 when the socket wants a drain first
 */
import type { Writable } from "node:stream";

/** The first buffer's size: an idle connection keeps no more (its CONNECT and PINGREQs fit). */
const INITIAL_BYTES = 1024;
/** Growth stops doubling here; a single larger turn still gets a buffer of its own size. */
const MAX_GROWN_BYTES = 64 * 1024;

/** The bytes taken for one stream and not yet written to it. */
export class WriteBatch {
  private buffer: Buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  /** Where the unwritten bytes begin in `buffer` (earlier bytes were handed to the stream). */
  private start = 0;
  private end = 0;
  private scheduled = false;
  /** Writes handed to the stream whose callback has not run yet: while any is, `buffer` before `start` is in use. */
  private writing = 0;
  private readonly flushNow = () => this.flush();
  private readonly written = () => {
    this.writing--;
    if (this.writing === 0 && this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
  };

  constructor(private readonly stream: Writable) {}

  /**
   * Copies `bytes` into the batch. Returns how many were taken: all of them, or 0 while
   * the stream needs a drain (its "drain" event says when to offer them again).
   */
  take(bytes: Uint8Array): number {
    const { stream } = this;
    if (stream.writableNeedDrain) return 0;
    if (this.end > this.start && this.end - this.start + bytes.length > stream.writableHighWaterMark) this.flush();
    const pending = this.end - this.start;
    if (bytes.length > this.buffer.length - this.end) {
      const next = Buffer.allocUnsafeSlow(Math.max(Math.min(this.buffer.length * 2, MAX_GROWN_BYTES), pending + bytes.length));
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

  /** Writes the batch now (the transport calls it before ending the stream). */
  flush(): void {
    this.scheduled = false;
    if (this.end === this.start) return;
    const chunk = this.buffer.subarray(this.start, this.end);
    this.start = this.end;
    if (this.stream.destroyed || !this.stream.writable) return; // the connection is gone; its close reports it
    this.writing++;
    this.stream.write(chunk, this.written);
  }
}

/**
 * A tiny reader of a WebAssembly binary's data section: the active segments and the
 * addresses they initialise. The module's segments hold its string literals, which it
 * must never write; the fuzzer snapshots them from the .wasm file itself (not from
 * memory) and compares memory against them after every input.
 */

/** One active data segment: `bytes` are copied to memory at `offset` on instantiation. */
export interface DataSegment {
  offset: number;
  bytes: Uint8Array;
}

const GLOBAL_SECTION = 6;
const DATA_SECTION = 11;
const I32_CONST = 0x41;
const END = 0x0b;

/** The active segments of the module in `wasm`, in file order. Throws on a shape this reader does not know (passive segments, non-constant offsets). */
export function activeDataSegments(wasm: Uint8Array): DataSegment[] {
  const reader = new Reader(wasm);
  reader.at = 8; // magic and version
  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.at + size;
    if (id === DATA_SECTION) return readSegments(reader, end);
    reader.at = end;
  }
  return [];
}

/** How many of the module's own globals are mutable (a module whose only one is the stack pointer keeps all other state in memory). */
export function mutableGlobals(wasm: Uint8Array): number {
  const reader = new Reader(wasm);
  reader.at = 8;
  while (!reader.done) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.at + size;
    if (id === GLOBAL_SECTION) {
      let mutable = 0;
      const count = reader.u32();
      for (let i = 0; i < count; i++) {
        reader.byte(); // value type
        if (reader.byte() === 1) mutable++;
        skipConstant(reader);
      }
      return mutable;
    }
    reader.at = end;
  }
  return 0;
}

/** Skips a constant expression: one i32/i64/f32/f64.const or global.get, then end. */
function skipConstant(reader: Reader): void {
  const op = reader.byte();
  if (op === I32_CONST || op === 0x23) reader.u32();
  else if (op === 0x42) while (reader.byte() & 0x80);
  else if (op === 0x43) reader.take(4);
  else if (op === 0x44) reader.take(8);
  else throw new Error(`global initializer opcode 0x${op.toString(16)} is not a constant`);
  if (reader.byte() !== END) throw new Error("global initializer longer than one instruction");
}

function readSegments(reader: Reader, end: number): DataSegment[] {
  const segments: DataSegment[] = [];
  const count = reader.u32();
  for (let i = 0; i < count; i++) {
    const flags = reader.u32();
    if (flags !== 0 && flags !== 2) throw new Error(`data segment ${i}: flags ${flags} (passive segments are not expected)`);
    if (flags === 2) reader.u32(); // memory index
    if (reader.byte() !== I32_CONST) throw new Error(`data segment ${i}: offset is not an i32.const`);
    const offset = reader.s32();
    if (reader.byte() !== END) throw new Error(`data segment ${i}: offset expression longer than one instruction`);
    const length = reader.u32();
    segments.push({ offset, bytes: reader.take(length) });
  }
  if (reader.at !== end) throw new Error("data section: bytes after the last segment");
  return segments;
}

/** LEB128 cursor over the binary. */
class Reader {
  at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error("wasm: unexpected end of file");
    return this.bytes[this.at++];
  }

  u32(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new Error("wasm: LEB128 longer than 5 bytes");
  }

  s32(): number {
    let value = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      value |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 35);
    if (shift < 32 && b & 0x40) value |= -1 << shift;
    return value | 0;
  }

  take(n: number): Uint8Array {
    if (this.at + n > this.bytes.length) throw new Error("wasm: segment runs past the end of file");
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

// The static runtime: wasmqtt owns every byte at build time, so there is no heap.
// Each allocator entry point the compiler may reach is a compile-time ERROR():
// code that would allocate (new, string building, arrays, closures) fails the build.

// @ts-ignore: decorator
@unsafe @global
function __alloc(size: usize): usize {
  ERROR("wasmqtt: dynamic allocation (__alloc) is not allowed; use a memory.data() region");
  return 0;
}

// @ts-ignore: decorator
@unsafe @global
function __realloc(ptr: usize, size: usize): usize {
  ERROR("wasmqtt: dynamic allocation (__realloc) is not allowed");
  return 0;
}

// @ts-ignore: decorator
@unsafe @global
function __free(ptr: usize): void {
  ERROR("wasmqtt: dynamic allocation (__free) is not allowed");
}

// @ts-ignore: decorator
@unsafe @global
function __new(size: usize, id: u32): usize {
  ERROR("wasmqtt: dynamic allocation (__new) is not allowed; no `new`, arrays or string building");
  return 0;
}

// @ts-ignore: decorator
@unsafe @global
function __renew(oldPtr: usize, size: usize): usize {
  ERROR("wasmqtt: dynamic allocation (__renew) is not allowed");
  return 0;
}

// @ts-ignore: decorator
@global @unsafe
function __link(parentPtr: usize, childPtr: usize, expectMultiple: bool): void {}

// @ts-ignore: decorator
@global @unsafe
function __pin(ptr: usize): usize { return ptr; }

// @ts-ignore: decorator
@global @unsafe
function __unpin(ptr: usize): void {}

// @ts-ignore: decorator
@global @unsafe
function __visit(ptr: usize, cookie: u32): void {}

// @ts-ignore: decorator
@global @unsafe
function __collect(): void {}

/**
 * What a board's RAM holds at power on: the module's memory as instantiation leaves it,
 * its data segments over zeros, before `init()`. A reboot writes it over the whole memory
 * of the device's instance (host/sim/device.ts `reboot`), so nothing of the RAM before it
 * survives. The module's only mutable global is the shadow stack pointer, which every
 * export returns to its base, so the memory is the whole of its state.
 *
 * @example
 * new Uint8Array(exports.memory.buffer).set(powerOnImage("nodemcu"));
 * exports.init();
 */
import { readFileSync } from "node:fs";
import { type ModuleKind, type Profile, wasmPath } from "../module.ts";

const images = new Map<string, Uint8Array>();

/**
 * The memory of a fresh instance of `kind` of `profile` (built by `npm run build`),
 * instantiated once per process with inert imports (the module has no start function,
 * so none runs). Throws when the build is missing.
 */
export function powerOnImage(profile: Profile, kind: ModuleKind = "telemetry"): Uint8Array {
  const key = `${kind}-${profile}`;
  let image = images.get(key);
  if (image === undefined) {
    const module = new WebAssembly.Module(readFileSync(wasmPath(profile, kind)));
    const host: Record<string, () => number> = {};
    for (const entry of WebAssembly.Module.imports(module)) host[entry.name] = () => 0;
    const instance = new WebAssembly.Instance(module, { host });
    image = Uint8Array.from(new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer));
    images.set(key, image);
  }
  return image;
}

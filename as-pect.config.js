/**
 * as-pect settings for scripts/aspect.mjs, which runs the specs with @as-pect/core.
 * The `asp` CLI is not used: it compiles `include` files after the spec, but a board
 * profile must be compiled first so its @global PROFILE_* constants exist.
 */
export default {
  /** Folder whose *.spec.ts files are run, each compiled on its own. */
  specs: "tests/assembly",
  /** Compiled before every spec, in this order. */
  include: ["assembly/profiles/desktop.ts"],
  /** Imports a spec module gets besides as-pect's own: every `host` import a no-op returning 0. */
  imports(binary) {
    const host = {};
    for (const { module, name } of WebAssembly.Module.imports(new WebAssembly.Module(binary))) {
      if (module === "host") host[name] = () => 0;
    }
    return { host };
  },
};

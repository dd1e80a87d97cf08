/**
 * Builds the npm package into `dist/npm/` (git-ignored): ESM JavaScript with
 * `.d.ts` types for the streaming core (`.`) and the runtime-neutral part of
 * the test harness (`./testing`, from `src/testing/portable.ts`), a
 * `package.json` with `exports` and `engines`, the README and the license.
 *
 * Run with `deno task build:npm`; `cd dist/npm && npm pack` makes the tarball.
 *
 * The compiler is TypeScript's own `tsc` (pinned below, from the npm
 * registry), with `rewriteRelativeImportExtensions`: it compiles the very
 * files Deno runs, turns their `./x.ts` imports into `./x.js`, and writes the
 * declarations from the same program, so the types users see are the ones
 * the sources were checked against. No bundler: each module stays a file,
 * so Node, Bun and any bundler tree-shake and source-map as usual. The CLI,
 * the checkpoint stores and the emulator need Deno and are left out.
 *
 * @module
 */

/** The TypeScript release that compiles the package. */
export const TYPESCRIPT = "npm:typescript@5.9.3";
/** Subpath of the package -> source module, relative to the repository root. */
export const ENTRY_POINTS: Readonly<Record<string, string>> = {
  ".": "mod.ts",
  "./testing": "src/testing/portable.ts",
};

const root = new URL("../", import.meta.url);

/**
 * Writes the package to `outDir` (emptied first).
 *
 * @param outDir Where the package goes.
 * @returns The package's `package.json` as written.
 */
export async function buildNpm(
  outDir: URL = new URL("dist/npm/", root),
): Promise<Record<string, unknown>> {
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  );
  await Deno.remove(outDir, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(outDir, { recursive: true });
  const tsconfig = new URL("tsconfig.build.json", outDir);
  await Deno.writeTextFile(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "es2022",
        moduleResolution: "bundler",
        // What Node 20 has (String#isWellFormed is its one ES2024 method in
        // use), and the web APIs the sources use. The test of the packed
        // package checks the declarations in a project without the DOM lib.
        lib: ["es2023", "es2024.string", "dom", "dom.iterable"],
        types: [],
        strict: true,
        noImplicitOverride: true,
        declaration: true,
        rewriteRelativeImportExtensions: true,
        verbatimModuleSyntax: true,
        noEmitOnError: true,
        removeComments: false,
        rootDir: root.pathname,
        outDir: new URL("esm/", outDir).pathname,
      },
      files: Object.values(ENTRY_POINTS).map((path) =>
        new URL(path, root).pathname
      ),
    }),
  );
  const tsc = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${TYPESCRIPT}/tsc`, "-p", tsconfig.pathname],
    cwd: root,
  }).output();
  await Deno.remove(tsconfig);
  if (!tsc.success) {
    const output = new TextDecoder().decode(tsc.stdout) +
      new TextDecoder().decode(tsc.stderr);
    throw new Error(`Cannot build the npm package: tsc failed:\n${output}`);
  }
  const exports: Record<string, { types: string; default: string }> = {};
  for (const [subpath, source] of Object.entries(ENTRY_POINTS)) {
    const base = `./esm/${source.replace(/\.ts$/, "")}`;
    exports[subpath] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  const packageJson = {
    name: denoJson.name,
    version: denoJson.version,
    description:
      "A loss-free client for Wikimedia EventStreams: every event exactly once across disconnects, on Node, Bun, Deno and browsers",
    license: denoJson.license,
    type: "module",
    exports,
    engines: { node: ">=20" },
    sideEffects: false,
    files: ["esm/", "README.md", "LICENSE"],
    keywords: ["wikimedia", "eventstreams", "server-sent-events", "kafka"],
  };
  await Deno.writeTextFile(
    new URL("package.json", outDir),
    JSON.stringify(packageJson, null, 2) + "\n",
  );
  for (const file of ["README.md", "LICENSE"]) {
    await Deno.copyFile(new URL(file, root), new URL(file, outDir));
  }
  return packageJson;
}

if (import.meta.main) {
  const written = await buildNpm();
  console.log(
    `Built ${written.name}@${written.version} in dist/npm/ (exports ${
      Object.keys(written.exports as object).join(", ")
    }); pack it with: cd dist/npm && npm pack`,
  );
}

/**
 * Runs every `@example` of the package (the `ts` code blocks in the JSDoc
 * of `mod.ts` and `src/`) and the `ts` code blocks of README.md, the ones
 * `deno test --doc` would run, in this one test process: each block becomes a
 * module in a temporary directory, its relative and `@eventstreams/client`
 * imports pointed at the source files, and one test imports it. `deno test
 * --doc` runs each block in a fresh worker, which cost about 40 s of the
 * suite for some 250 blocks; here they share one. Blocks marked `ignore` are
 * skipped, as `deno test --doc` skips them. The blocks are type-checked by
 * `deno task check` (`deno check --doc`, `--doc-only README.md`).
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };

const ROOT = new URL("../", import.meta.url);

/** One code block: where it is, and its code. */
export interface DocExample {
  /** `src/cursor.ts#10-24`: the file, and the lines of the code (1-based). */
  name: string;
  /** The file it is in. */
  file: URL;
  /** The code, without the comment's leading `*`. */
  code: string;
  /** Marked `no-assert`: it shows a value or a call, and asserts nothing on purpose. */
  noAssert: boolean;
}

/**
 * The `ts` code blocks (not `ignore`) of a source file's JSDoc comments, or
 * of a Markdown file.
 */
export function extractExamples(
  text: string,
  file: URL,
  name: string,
): DocExample[] {
  const markdown = file.pathname.endsWith(".md");
  const examples: DocExample[] = [];
  const lines = text.split("\n");
  let inComment = markdown;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!markdown) {
      if (/^\s*\/\*\*/.test(line)) inComment = true;
      if (!inComment) continue;
      if (/\*\/\s*$/.test(line)) {
        inComment = false;
        continue;
      }
    }
    const content = markdown ? line : line.replace(/^\s*\* ?/, "");
    const fence = /^```(ts|typescript)(\s.*)?$/.exec(content.trimEnd());
    if (!fence) continue;
    const attributes = (fence[2] ?? "").trim().split(/\s+/);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const inner = markdown ? lines[j] : lines[j].replace(/^\s*\* ?/, "");
      if (inner.trimEnd() === "```") break;
      body.push(inner);
    }
    if (!attributes.includes("ignore")) {
      examples.push({
        name: `${name}#${i + 2}-${j}`,
        file,
        code: body.join("\n"),
        noAssert: attributes.includes("no-assert"),
      });
    }
    i = j;
  }
  return examples;
}

/** `@eventstreams/client[/sub]` -> the file deno.json exports it from. */
const EXPORTS = new Map(
  Object.entries(denoJson.exports).map((
    [subpath, path],
  ) => [
    subpath === "." ? denoJson.name : `${denoJson.name}${subpath.slice(1)}`,
    new URL(path, ROOT).href,
  ]),
);

/** The example's code with its imports pointing at absolute URLs, to run from anywhere. */
export function resolveImports(example: DocExample): string {
  return example.code.replace(
    /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"']+)\2/g,
    (whole, before: string, quote: string, specifier: string) => {
      const target = specifier.startsWith("./") || specifier.startsWith("../")
        ? new URL(specifier, example.file).href
        : EXPORTS.get(specifier);
      return target === undefined
        ? whole
        : `${before}${quote}${target}${quote}`;
    },
  );
}

/** The files whose examples run: mod.ts, every module under src/, and README.md. */
async function sourceFiles(): Promise<string[]> {
  const files = ["mod.ts", "README.md"];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  };
  await walk("src");
  return files.sort();
}

const examples: DocExample[] = [];
for (const path of await sourceFiles()) {
  const file = new URL(path, ROOT);
  examples.push(
    ...extractExamples(await Deno.readTextFile(file), file, path),
  );
}
const dir = await Deno.makeTempDir({ prefix: "doc_examples_" });
// Removed after the last example ran (the test below is registered last).
const modules = new Map<string, string>();
for (const [index, example] of examples.entries()) {
  const path = `${dir}/example_${index}.ts`;
  await Deno.writeTextFile(path, resolveImports(example));
  modules.set(example.name, new URL(`file://${path}`).href);
}

for (const example of examples) {
  Deno.test(`doc example ${example.name}`, async () => {
    await import(modules.get(example.name)!);
  });
}

Deno.test("doc examples: every ```ts block of mod.ts, src/ and README.md ran (the ignored ones excepted)", async () => {
  try {
    // The package documents every export with one or more examples; far fewer means the
    // extraction broke.
    assert.ok(examples.length > 200, `only ${examples.length} examples found`);
    const cursor = examples.filter((e) => e.name.startsWith("src/cursor.ts#"));
    assert.ok(cursor.length >= 10, "src/cursor.ts's examples");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doc examples: each asserts something it could get wrong (assert, or a throw on a wrong result), or is marked no-assert", () => {
  const silent = examples.filter((e) =>
    !e.noAssert && !/\bassert\b|\bthrow\b/.test(e.code)
  );
  assert.deepEqual(silent.map((e) => e.name), []);
  // no-assert means it: an assertion there would be one the marker hides.
  const marked = examples.filter((e) =>
    e.noAssert && /\bassert\b/.test(e.code)
  );
  assert.deepEqual(marked.map((e) => e.name), []);
});

Deno.test("doc examples: blocks are taken from JSDoc (not code), ignore is honoured, imports are resolved", () => {
  const file = new URL("src/cli/x.ts", ROOT);
  const text = [
    "/**",
    " * Doc.",
    " *",
    " * ```ts",
    ' * import { a } from "./a.ts";',
    ' * import { b } from "@eventstreams/client/testing";',
    ' * import assert from "node:assert/strict";',
    " * assert.ok(a && b);",
    " * ```",
    " *",
    " * ```ts ignore",
    " * notRun();",
    " * ```",
    " */",
    "const s = `",
    "```ts",
    "notAnExample();",
    "```",
    "`;",
  ].join("\n");
  const found = extractExamples(text, file, "src/cli/x.ts");
  assert.deepEqual(found.map((e) => e.name), ["src/cli/x.ts#5-8"]);
  assert.equal(
    resolveImports(found[0]),
    [
      `import { a } from "${new URL("src/cli/a.ts", ROOT).href}";`,
      `import { b } from "${new URL("src/testing/mod.ts", ROOT).href}";`,
      'import assert from "node:assert/strict";',
      "assert.ok(a && b);",
    ].join("\n"),
  );
  const readme = extractExamples(
    "Text\n\n```ts\nconst x = 1;\n```\n\n```ts ignore\ny();\n```\n",
    new URL("README.md", ROOT),
    "README.md",
  );
  assert.deepEqual(readme.map((e) => [e.name, e.code]), [[
    "README.md#4-4",
    "const x = 1;",
  ]]);
});

import assert from "node:assert/strict";

/** The package's entry points (deno.json "exports"). */
const ENTRY_POINTS = [
  "mod.ts",
  "src/testing/mod.ts",
  "src/checkpoint/mod.ts",
  "src/cli/main.ts",
  "src/sink/postgres.ts",
];

/** The parts of `deno doc --json` (format version 2) this test reads. */
interface DocJson {
  version: number;
  nodes: Record<string, {
    module_doc?: JsDoc;
    symbols: {
      name: string;
      declarations: { jsDoc?: JsDoc; location: { filename: string } }[];
    }[];
  }>;
}

interface JsDoc {
  doc?: string;
  tags?: { kind: string }[];
}

const hasExample = (doc: JsDoc | undefined): boolean =>
  doc?.tags?.some((tag) => tag.kind === "example") ?? false;

/**
 * Lists every exported symbol (and every entry point's module doc) without an
 * `@example`, as `entry point: name (file)`. A symbol counts as documented
 * when any of its declarations (a re-export, an overload) has one.
 */
function missingExamples(doc: DocJson, root: string): string[] {
  const relative = (url: string) => url.replace(root, "");
  const missing: string[] = [];
  for (const [entry, node] of Object.entries(doc.nodes)) {
    if (!hasExample(node.module_doc)) {
      missing.push(`${relative(entry)}: module doc (@module)`);
    }
    for (const symbol of node.symbols) {
      if (symbol.declarations.some((d) => hasExample(d.jsDoc))) continue;
      const files = [
        ...new Set(
          symbol.declarations.map((d) => relative(d.location.filename)),
        ),
      ];
      missing.push(`${relative(entry)}: ${symbol.name} (${files.join(", ")})`);
    }
  }
  return missing;
}

async function denoDocJson(): Promise<DocJson> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...ENTRY_POINTS],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(code, 0, `deno doc --json failed: ${text.decode(stderr)}`);
  return JSON.parse(text.decode(stdout));
}

Deno.test("every export of every entry point, and each entry point's module doc, has an @example (run by tests/doc_examples_test.ts)", async () => {
  const doc = await denoDocJson();
  assert.equal(
    doc.version,
    2,
    "deno doc --json changed format: update this test",
  );
  assert.equal(Object.keys(doc.nodes).length, ENTRY_POINTS.length);
  const symbols = Object.values(doc.nodes).reduce(
    (sum, node) => sum + node.symbols.length,
    0,
  );
  assert.ok(
    symbols > 100,
    `expected the full public API, got ${symbols} symbols`,
  );
  const missing = missingExamples(
    doc,
    new URL("../", import.meta.url).href,
  );
  assert.deepEqual(
    missing,
    [],
    `Add an @example (a runnable \`\`\`ts block that asserts something) to:\n${
      missing.join("\n")
    }`,
  );
});

Deno.test("the @example check reports a symbol or module doc without one, and accepts one example among a symbol's declarations", () => {
  const example = { doc: "", tags: [{ kind: "example" }] };
  const noExample = { doc: "Undocumented.", tags: [{ kind: "param" }] };
  const at = (file: string) => ({ filename: `file:///repo/${file}` });
  const doc: DocJson = {
    version: 2,
    nodes: {
      "file:///repo/mod.ts": {
        module_doc: { doc: "A module.", tags: [{ kind: "module" }] },
        symbols: [
          {
            name: "Documented",
            declarations: [{ jsDoc: example, location: at("a.ts") }],
          },
          {
            name: "ReExported",
            declarations: [
              { location: at("b.ts") },
              { jsDoc: example, location: at("c.ts") },
            ],
          },
          {
            name: "Bare",
            declarations: [{ jsDoc: noExample, location: at("d.ts") }],
          },
          { name: "Undocumented", declarations: [{ location: at("e.ts") }] },
        ],
      },
    },
  };
  assert.deepEqual(missingExamples(doc, "file:///repo/"), [
    "mod.ts: module doc (@module)",
    "mod.ts: Bare (d.ts)",
    "mod.ts: Undocumented (e.ts)",
  ]);
});

/** The shell commands of README.md's `sh` blocks, as argument lists (quotes and `\` continuations resolved). */
async function readmeCommands(): Promise<string[][]> {
  const readme = await Deno.readTextFile(
    new URL("../README.md", import.meta.url),
  );
  const commands: string[][] = [];
  for (const [, block] of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block.replaceAll("\\\n", " ").split("\n")) {
      const words: string[] = [];
      for (const [word] of line.matchAll(/(?:'[^']*'|[^\s'])+/g)) {
        if (["#", ">>", ">", "|"].includes(word)) break; // A comment or a redirection.
        words.push(word.replace(/'([^']*)'/g, "$1"));
      }
      if (words.length > 0) commands.push(words);
    }
  }
  return commands;
}

Deno.test("every CLI command in README.md is one the CLI accepts, with a user agent the client accepts", async () => {
  const {
    parseRecordArgs,
    parseRelayArgs,
    parseServeArgs,
    parseTailArgs,
    resolveStreamArg,
  } = await import("../src/cli/args.ts");
  const { eventStream } = await import("../src/client.ts");
  const variables = new Map<string, string>(); // From `export NAME=value` lines.
  const env = { get: (name: string) => variables.get(name) };
  const checked: string[] = [];
  for (const words of await readmeCommands()) {
    if (words[0] === "export") {
      const [name, ...value] = words[1].split("=");
      variables.set(name, value.join("="));
      continue;
    }
    if (words[0] !== "deno" || words[1] !== "task") continue;
    const [task, ...rest] = words.slice(2);
    const [command, args] = task === "cli"
      ? [rest[0], rest.slice(1)]
      : [task, rest];
    const line = words.join(" ");
    try {
      if (command === "serve") {
        assert.equal(parseServeArgs(args).help, false, line);
      } else if (command === "relay") {
        assert.equal(parseRelayArgs(args, env, Date.now()).help, false, line);
      } else if (command === "tail" || command === "record") {
        const parsed = command === "tail"
          ? parseTailArgs(args, env, Date.now())
          : parseRecordArgs(args, env, Date.now());
        assert.ok(!parsed.help, line);
        // The client checks the user agent when the stream is created, before any request.
        const stream = eventStream(
          parsed.options.streams.map((name) => resolveStreamArg(name, false)),
          { userAgent: parsed.options.userAgent, allowUnknownStreams: true },
        );
        await stream.close();
      } else {
        assert.ok(
          ["demo", "test", "build:npm"].includes(command),
          `unchecked: ${line}`,
        );
      }
    } catch (error) {
      throw new Error(`README.md: ${line}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    checked.push(command);
  }
  for (const command of ["demo", "test", "serve", "tail", "record", "relay"]) {
    assert.ok(checked.includes(command), `README.md shows no '${command}'`);
  }
});

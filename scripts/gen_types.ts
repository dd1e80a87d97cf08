/**
 * Generates `src/events.generated.ts` (typed events per stream) from the
 * server's OpenAPI document, `fixtures/eventstreams-spec.json` (`/?spec`).
 *
 * Run with `deno task gen-types`. The output is formatted with `deno fmt`
 * and deterministic: re-running it on the same spec gives no diff.
 *
 * Where things are in the spec:
 * - the stream list: `paths['/v2/stream/{streams}'].get.parameters[0].schema.items.enum`;
 * - each stream's event schema: `paths['/v2/stream/<name>'].get.responses['200']
 *   .content['text/event-stream'].schema` (a JSON schema, draft-07 subset);
 * - aliases: the path description says `(NOTE: This stream is an alias of X)`.
 *
 * @module
 */

/** The parts of a JSON schema the generator reads. */
export interface JsonSchema {
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
}

/** The parts of the OpenAPI document the generator reads. */
export interface OpenApiSpec {
  paths: Record<string, {
    get: {
      description?: string;
      parameters?: { name: string; schema?: { items?: { enum?: string[] } } }[];
      responses: Record<string, {
        content?: Record<string, { schema?: JsonSchema }>;
      }>;
    };
  }>;
  [key: string]: unknown;
}

/** One stream as the spec describes it. */
export interface SpecStream {
  /** Stream name as requested in the URL. */
  name: string;
  /** The canonical name when `name` is an alias. */
  aliasOf?: string;
  /** The path's description, without the alias note and schema title. */
  description: string;
  /** The JSON schema of the stream's events. */
  schema: JsonSchema;
}

/** Interface names of the public streams (the library's contract). */
const INTERFACE_NAMES: Record<string, string> = {
  "eventgate-main.test.event": "TestEvent",
  "mediawiki.page-create": "PageCreateEvent",
  "mediawiki.page-delete": "PageDeleteEvent",
  "mediawiki.page-links-change": "PageLinksChangeEvent",
  "mediawiki.page-move": "PageMoveEvent",
  "mediawiki.page-properties-change": "PagePropertiesChangeEvent",
  "mediawiki.page-undelete": "PageUndeleteEvent",
  "mediawiki.page_change.v1": "PageChangeEvent",
  "mediawiki.recentchange": "RecentChangeEvent",
  "mediawiki.revision-create": "RevisionCreateEvent",
  "mediawiki.revision-tags-change": "RevisionTagsChangeEvent",
  "mediawiki.revision-visibility-change": "RevisionVisibilityChangeEvent",
};

/** Fields of `meta` that `EventMeta` (src/types.ts) already declares. */
const EVENT_META_FIELDS = new Set([
  "topic",
  "partition",
  "offset",
  "dt",
  "id",
  "stream",
  "domain",
  "uri",
  "request_id",
  "key",
]);

const ALIAS_NOTE = /\(NOTE: This stream is an alias of ([^\s)]+)\)/;

/**
 * Reads the stream catalogue out of the spec.
 *
 * @param spec The parsed OpenAPI document.
 * @returns Every stream of the enum, in enum order.
 * @throws {Error} When the document lacks a stream's path or schema.
 */
export function readStreams(spec: OpenApiSpec): SpecStream[] {
  const route = spec.paths["/v2/stream/{streams}"];
  const names = route?.get.parameters?.[0]?.schema?.items?.enum;
  if (!Array.isArray(names) || names.length === 0) {
    throw new Error(
      "Cannot read the stream list: expected paths['/v2/stream/{streams}'].get.parameters[0].schema.items.enum",
    );
  }
  return names.map((name) => {
    const path = spec.paths[`/v2/stream/${name}`];
    const schema = path?.get.responses["200"]?.content?.["text/event-stream"]
      ?.schema;
    if (!path || !schema) {
      throw new Error(
        `Cannot read stream '${name}': expected a text/event-stream schema under paths['/v2/stream/${name}']`,
      );
    }
    const text = path.get.description ?? "";
    const aliasOf = ALIAS_NOTE.exec(text)?.[1];
    const description = text
      .split(/\n\s*\n/)
      .map((p) => p.replace(/\s+/g, " ").trim())
      .filter((p) =>
        p !== "" && !ALIAS_NOTE.test(p) && !p.startsWith("Schema title:")
      )
      .join("\n\n");
    return { name, aliasOf, description, schema };
  });
}

/** Emits TypeScript for the schemas of one stream. */
class Emitter {
  /** Declarations in emission order. */
  readonly blocks: string[] = [];
  /** Names in use (across all streams) -> body, to share identical titled fragments. */
  readonly #bodies = new Map<string, string>();
  /** Path-derived names of every node of the current stream's schema. */
  #natural = new Set<string>();

  /** Emits `name` for an event schema; returns nothing (the name is given). */
  emitEvent(name: string, stream: SpecStream, aliases: string[]): void {
    const base = name.replace(/Event$/, "");
    const schema = stream.schema;
    this.#natural = new Set();
    collectPathNames(schema, base, this.#natural);
    const body = this.#objectBody(schema, base, true);
    const doc: string[] = [];
    if (schema.description) doc.push(schema.description.trim());
    if (stream.description && !/^\S+ events\.$/.test(stream.description)) {
      doc.push(stream.description);
    }
    const also = aliases.length > 0
      ? ` (also requested as ${aliases.map((a) => `\`${a}\``).join(", ")})`
      : "";
    doc.push(
      `An event of the stream \`${stream.name}\`${also}, schema \`${
        schema.title ?? "?"
      }\`. ` +
        "Fields newer than this schema are allowed and typed `unknown`.",
    );
    doc.push(
      [
        "@example",
        "```ts",
        `import type { ${name} } from "@eventstreams/client";`,
        "",
        `function position(event: ${name}): string {`,
        "  return `${event.meta.topic}/${event.meta.partition}@${event.meta.offset}`;",
        "}",
        "```",
      ].join("\n"),
    );
    this.blocks.push(
      `${
        jsdoc(doc.join("\n\n"), "")
      }export interface ${name} extends EventStreamsEvent {\n${body}}\n`,
    );
  }

  /** Properties + index signature of an object schema. */
  #objectBody(schema: JsonSchema, base: string, topLevel: boolean): string {
    const required = new Set(schema.required ?? []);
    let out = "";
    for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
      let type: string;
      let optional = !required.has(prop);
      if (topLevel && prop === "meta") {
        type = this.#metaType(sub, base);
        optional = false;
      } else {
        type = this.#type(sub, base + pascal(prop));
      }
      const doc = topLevel && prop === "meta"
        ? "Stream, time, id and Kafka position of the event (`topic`, `partition` and " +
          "`offset` are added by the server)."
        : propertyDoc(sub, prop);
      out += `${jsdoc(doc, "  ")}  ${propertyName(prop)}${
        optional ? "?" : ""
      }: ${type};\n`;
    }
    const extra = schema.additionalProperties;
    const hasProps = Object.keys(schema.properties ?? {}).length > 0;
    if (typeof extra === "object" && extra !== null && hasProps) {
      const valueType = this.#type(extra, base + "Value");
      out += `  /** Further entries of this map. */\n  [key: string]: ${
        paren(valueType)
      } | undefined;\n`;
    } else {
      out +=
        "  /** Fields newer than the 2024-11 schema. */\n  [key: string]: unknown;\n";
    }
    return out;
  }

  /** `meta` is always EventMeta, plus any field the schema adds beyond it. */
  #metaType(schema: JsonSchema, base: string): string {
    const extra = Object.entries(schema.properties ?? {}).filter(([k]) =>
      !EVENT_META_FIELDS.has(k)
    );
    if (extra.length === 0) return "EventMeta";
    const reduced: JsonSchema = {
      ...schema,
      properties: Object.fromEntries(extra),
      required: (schema.required ?? []).filter((k) =>
        !EVENT_META_FIELDS.has(k)
      ),
    };
    return `EventMeta & ${this.#named(reduced, base + "Meta")}`;
  }

  /** The TypeScript type of a schema; object schemas become named interfaces. */
  #type(schema: JsonSchema, name: string): string {
    if (Array.isArray(schema.enum) && schema.enum.length > 0) {
      const values = schema.enum.map((v) => JSON.stringify(v));
      const types = typeList(schema.type);
      if (types.includes("null") && !schema.enum.includes(null)) {
        values.push("null");
      }
      return values.join(" | ");
    }
    const types = typeList(schema.type);
    if (types.length === 0) {
      return schema.properties ? this.#named(schema, name) : "unknown";
    }
    const parts = types.map((t) => {
      switch (t) {
        case "string":
          return "string";
        case "integer":
        case "number":
          return "number";
        case "boolean":
          return "boolean";
        case "null":
          return "null";
        case "array": {
          const items = schema.items;
          if (!items || Array.isArray(items)) return "unknown[]";
          return `${paren(this.#type(items, name + "Item"))}[]`;
        }
        case "object":
          return this.#objectType(schema, name);
        default:
          return "unknown";
      }
    });
    return [...new Set(parts)].join(" | ");
  }

  #objectType(schema: JsonSchema, name: string): string {
    const hasProps = Object.keys(schema.properties ?? {}).length > 0;
    const extra = schema.additionalProperties;
    if (!hasProps) {
      // A map: every key maps to the additionalProperties schema.
      if (typeof extra === "object" && extra !== null) {
        return `Record<string, ${this.#type(extra, name + "Value")}>`;
      }
      return "Record<string, unknown>";
    }
    return this.#named(schema, name);
  }

  /**
   * Declares an interface for an object schema and returns its name.
   * Titled fragments (e.g. `fragment/mediawiki/state/entity/user`) are named
   * after their title and shared when their generated body is identical;
   * others are named after their path.
   */
  #named(schema: JsonSchema, pathName: string): string {
    const base = streamBase(pathName);
    const candidates: string[] = [];
    if (schema.title && base !== undefined) {
      // A title-derived name is left to the node whose path gives that very
      // name (`page` keeps `PageChangePage`; `created_redirect_page`, also
      // titled "page", becomes `PageChangeCreatedRedirectPage`).
      const titled = base + pascal(schema.title.split("/").pop()!);
      if (titled === pathName || !this.#natural.has(titled)) {
        candidates.push(titled);
      }
    }
    candidates.push(pathName);
    // Hold this declaration's place so it precedes the types it uses; nested
    // names derive from `pathName`, so the body does not depend on the name
    // chosen below.
    const place = this.blocks.length;
    this.blocks.push("");
    const body = this.#objectBody(schema, pathName, false);
    const doc = schema.description?.trim() ||
      `The \`${lastWord(pathName)}\` object of ${base ?? "an"} event.`;
    const declaration = (n: string) =>
      `${jsdoc(doc, "")}export interface ${n} {\n${body}}\n`;
    for (const candidate of candidates) {
      const existing = this.#bodies.get(candidate);
      if (existing === undefined) {
        this.#bodies.set(candidate, body);
        this.blocks[place] = declaration(candidate);
        return candidate;
      }
      if (existing === body) {
        this.blocks.splice(place, 1);
        return candidate;
      }
    }
    for (let i = 2;; i++) {
      const candidate = `${pathName}${i}`;
      if (!this.#bodies.has(candidate)) {
        this.#bodies.set(candidate, body);
        this.blocks[place] = declaration(candidate);
        return candidate;
      }
    }
  }

  /** Registers a top-level name so nested names never collide with it. */
  reserve(name: string): void {
    this.#bodies.set(name, "\u0000reserved");
  }
}

/** Collects the path-derived names the emitter would give each node. */
function collectPathNames(
  schema: JsonSchema,
  name: string,
  out: Set<string>,
): void {
  out.add(name);
  for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
    collectPathNames(sub, name + pascal(prop), out);
  }
  if (schema.items && !Array.isArray(schema.items)) {
    collectPathNames(schema.items, name + "Item", out);
  }
  if (
    typeof schema.additionalProperties === "object" &&
    schema.additionalProperties !== null
  ) {
    collectPathNames(schema.additionalProperties, name + "Value", out);
  }
}

/** Bases of the event names currently being emitted, longest first. */
let currentBases: string[] = [];

function streamBase(pathName: string): string | undefined {
  return currentBases.find((b) => pathName.startsWith(b));
}

function lastWord(pathName: string): string {
  const base = streamBase(pathName) ?? "";
  return snake(pathName.slice(base.length)) || "root";
}

function snake(pascalName: string): string {
  return pascalName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

function typeList(type: JsonSchema["type"]): string[] {
  if (type === undefined) return [];
  return Array.isArray(type) ? type : [type];
}

function paren(type: string): string {
  return type.includes("|") || type.includes("&") ? `(${type})` : type;
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}

function propertyName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

function propertyDoc(schema: JsonSchema, prop: string): string {
  const parts: string[] = [];
  if (
    typeof schema.description === "string" && schema.description.trim() !== ""
  ) {
    parts.push(schema.description.trim());
  } else {
    parts.push(`The \`${prop}\` field (the schema does not describe it).`);
  }
  if (schema.default !== undefined) {
    parts.push(`@default {${JSON.stringify(schema.default)}}`);
  }
  return parts.join("\n\n");
}

const LINE_WIDTH = 80;

/** A JSDoc block for `text` at `indent`, or "" when there is no text. */
function jsdoc(text: string, indent: string): string {
  if (text === "") return "";
  const width = LINE_WIDTH - indent.length - 3;
  const lines: string[] = [];
  let inCode = false;
  for (let line of text.replaceAll("*/", "*\\/").split("\n")) {
    line = line.replace(/\s+$/, "");
    if (line.startsWith("```")) {
      inCode = !inCode;
      lines.push(line);
      continue;
    }
    if (inCode) {
      lines.push(line);
      continue;
    }
    // A description line starting with "@" would read as a tag.
    if (/^\s*@/.test(line) && !/^@(example|default)\b/.test(line)) {
      line = line.replace("@", "\\@");
    }
    lines.push(...wrap(line, width));
  }
  if (lines.length === 1 && lines[0].length <= width - 3) {
    return `${indent}/** ${lines[0]} */\n`;
  }
  const body = lines.map((l) => `${indent} *${l === "" ? "" : " " + l}`).join(
    "\n",
  );
  return `${indent}/**\n${body}\n${indent} */\n`;
}

/** Word-wraps one line of prose to `width` columns (long words stay whole). */
function wrap(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const lead = /^\s*/.exec(line)![0];
  const out: string[] = [];
  let current = "";
  // `{@linkcode X}` must stay on one line.
  for (const word of line.trim().match(/\{@\w+ [^}]*\}\S*|\S+/g) ?? []) {
    if (
      current !== "" && lead.length + current.length + 1 + word.length > width
    ) {
      out.push(lead + current);
      current = word;
    } else {
      current = current === "" ? word : `${current} ${word}`;
    }
  }
  out.push(lead + current);
  return out;
}

/** A canonical stream's interface name (the contract's, else derived). */
export function interfaceName(stream: string): string {
  return INTERFACE_NAMES[stream] ??
    pascal(stream.replace(/^mediawiki\./, "").replace(/\.v\d+$/, "")) + "Event";
}

/**
 * Generates the source of `src/events.generated.ts` (unformatted; the
 * script runs `deno fmt` on it).
 *
 * @param spec The parsed OpenAPI document.
 * @returns TypeScript source.
 */
export function generateTypes(spec: OpenApiSpec): string {
  const streams = readStreams(spec);
  const canonical = streams.filter((s) => s.aliasOf === undefined);
  const aliases = streams.filter((s) => s.aliasOf !== undefined);
  for (const alias of aliases) {
    if (!canonical.some((s) => s.name === alias.aliasOf)) {
      throw new Error(
        `Cannot resolve alias '${alias.name}': its canonical stream '${alias.aliasOf}' is not in the stream list`,
      );
    }
  }
  const aliasesOf = (name: string) =>
    aliases.filter((a) => a.aliasOf === name).map((a) => a.name);
  const names = new Map(canonical.map((s) => [s.name, interfaceName(s.name)]));
  currentBases = [...names.values()].map((n) => n.replace(/Event$/, ""))
    .sort((a, b) => b.length - a.length || (a < b ? -1 : 1));

  // Streams sharing one schema (page-create reuses revision/create) share a
  // type: the stream named after the schema title owns it.
  const owner = new Map<string, string>();
  const byFingerprint = new Map<string, SpecStream[]>();
  for (const s of canonical) {
    const key = JSON.stringify(s.schema);
    byFingerprint.set(key, [...(byFingerprint.get(key) ?? []), s]);
  }
  for (const group of byFingerprint.values()) {
    const titleTail = (group[0].schema.title ?? "").split("/").slice(1).join(
      "-",
    );
    const chosen = group.find((s) =>
      s.name.replace(/^mediawiki\./, "") === titleTail
    ) ??
      group[0];
    for (const s of group) owner.set(s.name, chosen.name);
  }

  const emitter = new Emitter();
  for (const name of names.values()) emitter.reserve(name);
  const declarations: string[] = [];
  for (const s of canonical) {
    const name = names.get(s.name)!;
    const ownerName = owner.get(s.name)!;
    if (ownerName !== s.name) {
      const target = names.get(ownerName)!;
      const also = aliasesOf(s.name);
      const alsoText = also.length > 0
        ? ` (also requested as ${also.map((a) => `\`${a}\``).join(", ")})`
        : "";
      const doc = [
        s.description,
        `An event of the stream \`${s.name}\`${alsoText}. It has the schema of \`${ownerName}\` ` +
        `(\`${s.schema.title}\`), so it is the same type: {@linkcode ${target}}.`,
        [
          "@example",
          "```ts",
          `import type { ${name} } from "@eventstreams/client";`,
          "",
          `function position(event: ${name}): string {`,
          "  return `${event.meta.topic}/${event.meta.partition}@${event.meta.offset}`;",
          "}",
          "```",
        ].join("\n"),
      ].filter((p) => p !== "").join("\n\n");
      declarations.push(`${jsdoc(doc, "")}export type ${name} = ${target};\n`);
      continue;
    }
    const start = emitter.blocks.length;
    emitter.emitEvent(name, s, aliasesOf(s.name));
    // Put the event interface first, then the types it uses.
    const emitted = emitter.blocks.splice(start);
    const event = emitted.pop()!;
    declarations.push(event, ...emitted);
  }

  const mapLines = streams.map((s) => {
    const target = names.get(s.aliasOf ?? s.name)!;
    const doc = s.aliasOf
      ? `Alias of \`${s.aliasOf}\`: {@linkcode ${target}}.`
      : `Events of \`${s.name}\`: {@linkcode ${target}}.`;
    return `${jsdoc(doc, "  ")}  ${propertyName(s.name)}: ${target};\n`;
  }).join("");

  const mapDoc = [
    "Event type of each stream name the server accepts, canonical names and aliases alike.",
    [
      "@example",
      "```ts",
      'import type { StreamEventMap } from "@eventstreams/client";',
      "",
      'type Edit = StreamEventMap["recentchange"];',
      "const title = (event: Edit): string | undefined => event.title;",
      "```",
    ].join("\n"),
  ].join("\n\n");

  const streamsDoc = [
    "Canonical names of the public streams, as listed by the server's 2024-11 spec.",
    [
      "@example",
      "```ts",
      'import { STREAMS } from "@eventstreams/client";',
      'console.assert(STREAMS.includes("mediawiki.recentchange"));',
      "```",
    ].join("\n"),
  ].join("\n\n");

  const aliasDoc = [
    "Short names the server also accepts, each mapped to its canonical stream.",
    [
      "@example",
      "```ts",
      'import { STREAM_ALIASES } from "@eventstreams/client";',
      'console.assert(STREAM_ALIASES.recentchange === "mediawiki.recentchange");',
      "```",
    ].join("\n"),
  ].join("\n\n");

  const header = [
    "// Generated by `deno task gen-types` from fixtures/eventstreams-spec.json (the server's /?spec of 2024-11). Do not edit.",
    "",
    "/**",
    " * Typed events of every public stream, generated from the JSON schemas in",
    " * the server's OpenAPI document. Every object type allows additional",
    " * properties: live events carry fields newer than these schemas.",
    " *",
    " * @module",
    " */",
    "",
    'import type { EventMeta, EventStreamsEvent } from "./types.ts";',
    "",
  ].join("\n");

  return [
    header,
    ...declarations,
    `${jsdoc(mapDoc, "")}export interface StreamEventMap {\n${mapLines}}\n`,
    `${jsdoc(streamsDoc, "")}export const STREAMS = [\n${
      canonical.map((s) => `  ${JSON.stringify(s.name)},\n`).join("")
    }] as const;\n`,
    `${jsdoc(aliasDoc, "")}export const STREAM_ALIASES = {\n${
      aliases.map((a) =>
        `  ${propertyName(a.name)}: ${JSON.stringify(a.aliasOf)},\n`
      ).join("")
    }} as const;\n`,
  ].join("\n");
}

/**
 * Formats TypeScript source with `deno fmt` (the project's settings).
 *
 * @param source The source text.
 * @returns The formatted text.
 * @throws {Error} When `deno fmt` fails.
 */
export async function formatTypeScript(source: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=ts", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(
      `Cannot format generated types: deno fmt failed: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return new TextDecoder().decode(stdout);
}

/** Reads the spec, generates and formats the types. */
export async function buildTypesFile(specPath: string | URL): Promise<string> {
  const spec = JSON.parse(await Deno.readTextFile(specPath)) as OpenApiSpec;
  return await formatTypeScript(generateTypes(spec));
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  const out = new URL("src/events.generated.ts", root);
  const text = await buildTypesFile(
    new URL("fixtures/eventstreams-spec.json", root),
  );
  await Deno.writeTextFile(out, text);
  console.log(`Wrote ${out.pathname} (${text.length} characters)`);
}

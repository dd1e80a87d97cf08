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
 * - aliases: the path description says `(NOTE: This stream is an alias of X)`;
 * - each stream's example event: `...content['text/event-stream'].example`. The
 *   `@example` of a nested type builds a value from it where it has one (else
 *   from placeholders) and reads one field, so `deno test --doc` type-checks it.
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
        content?: Record<string, { schema?: JsonSchema; example?: unknown }>;
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
  /** The spec's example event of the stream, if it has one. */
  example?: unknown;
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
    const content = path?.get.responses["200"]?.content?.["text/event-stream"];
    const schema = content?.schema;
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
    return { name, aliasOf, description, schema, example: content?.example };
  });
}

/**
 * A declaration's source, or a function that renders it once every stream
 * is emitted (a nested type's example picks the best of all its uses).
 */
type Block = string | (() => string);

/** Emits TypeScript for the schemas of one stream. */
/**
 * The `@example` of a stream's event type: where an event of that stream
 * sits in Kafka, read from the `meta` every event carries (the server adds
 * topic, partition and offset).
 */
function eventExample(typeName: string, streamName: string): string {
  const topic = `eqiad.${streamName}`;
  return [
    "@example Where an event sits in Kafka",
    "```ts",
    'import assert from "node:assert/strict";',
    `import type { ${typeName} } from "@eventstreams/client";`,
    "",
    `const position = (event: ${typeName}): string =>`,
    "  `${event.meta.topic}/${event.meta.partition}@${event.meta.offset}`;",
    `const event = { meta: { topic: "${topic}", partition: 0, offset: 7 } } as ${typeName};`,
    `assert.equal(position(event), "${topic}/0@7");`,
    "```",
  ].join("\n");
}

class Emitter {
  /** Declarations in emission order. */
  readonly blocks: Block[] = [];
  /** Names in use (across all streams) -> body, to share identical titled fragments. */
  readonly #bodies = new Map<string, string>();
  /**
   * Nested type name -> the use its example shows: the first one where the
   * spec's example event has a value, else the first one.
   */
  readonly #uses = new Map<
    string,
    { schema: JsonSchema; sample: Sample; stream: string }
  >();
  /** Path-derived names of every node of the current stream's schema. */
  #natural = new Set<string>();
  /** The canonical name of the stream being emitted. */
  #stream = "";

  /** Emits `name` for an event schema; returns nothing (the name is given). */
  emitEvent(name: string, stream: SpecStream, aliases: string[]): void {
    const base = name.replace(/Event$/, "");
    const schema = stream.schema;
    this.#natural = new Set();
    this.#stream = stream.name;
    collectPathNames(schema, base, this.#natural);
    const body = this.#objectBody(schema, base, true, {
      value: stream.example,
      at: "event",
    });
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
    doc.push(eventExample(name, stream.name));
    this.blocks.push(
      `${
        jsdoc(doc.join("\n\n"), "")
      }export interface ${name} extends EventStreamsEvent {\n${body}}\n`,
    );
  }

  /** Properties + index signature of an object schema. */
  #objectBody(
    schema: JsonSchema,
    base: string,
    topLevel: boolean,
    sample: Sample,
  ): string {
    const required = new Set(schema.required ?? []);
    let out = "";
    for (const [prop, sub] of Object.entries(schema.properties ?? {})) {
      let type: string;
      let optional = !required.has(prop);
      if (topLevel && prop === "meta") {
        type = this.#metaType(sub, base, {
          value: field(sample.value, prop),
          at: sample.at + accessor(prop),
        });
        optional = false;
      } else {
        type = this.#type(sub, base + pascal(prop), {
          value: field(sample.value, prop),
          at: sample.at + accessor(prop),
        });
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
      const declared = new Set(Object.keys(schema.properties ?? {}));
      const valueType = this.#type(
        extra,
        base + "Value",
        mapEntry(sample, (key) => !declared.has(key)),
      );
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
  #metaType(schema: JsonSchema, base: string, sample: Sample): string {
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
    return `EventMeta & ${this.#named(reduced, base + "Meta", sample)}`;
  }

  /** The TypeScript type of a schema; object schemas become named interfaces. */
  #type(schema: JsonSchema, name: string, sample: Sample): string {
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
      return schema.properties ? this.#named(schema, name, sample) : "unknown";
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
          const first = Array.isArray(sample.value)
            ? sample.value[0]
            : undefined;
          return `${
            paren(
              this.#type(items, name + "Item", {
                value: first,
                at: `${sample.at}[0]`,
              }),
            )
          }[]`;
        }
        case "object":
          return this.#objectType(schema, name, sample);
        default:
          return "unknown";
      }
    });
    return [...new Set(parts)].join(" | ");
  }

  #objectType(schema: JsonSchema, name: string, sample: Sample): string {
    const hasProps = Object.keys(schema.properties ?? {}).length > 0;
    const extra = schema.additionalProperties;
    if (!hasProps) {
      // A map: every key maps to the additionalProperties schema.
      if (typeof extra === "object" && extra !== null) {
        return `Record<string, ${
          this.#type(extra, name + "Value", mapEntry(sample, () => true))
        }>`;
      }
      return "Record<string, unknown>";
    }
    return this.#named(schema, name, sample);
  }

  /**
   * Declares an interface for an object schema and returns its name.
   * Titled fragments (e.g. `fragment/mediawiki/state/entity/user`) are named
   * after their title and shared when their generated body is identical;
   * others are named after their path.
   */
  #named(schema: JsonSchema, pathName: string, sample: Sample): string {
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
    const body = this.#objectBody(schema, pathName, false, sample);
    const doc = schema.description?.trim() ||
      `The \`${lastWord(pathName)}\` object of ${base ?? "an"} event.`;
    const use = { schema, sample, stream: this.#stream };
    const declare = (n: string): string => {
      this.#bodies.set(n, body);
      this.#uses.set(n, use);
      this.blocks[place] = () => {
        const shown = this.#uses.get(n)!;
        const example = nestedExample(
          n,
          shown.schema,
          shown.sample,
          shown.stream,
        );
        return `${
          jsdoc(`${doc}\n\n${example}`, "")
        }export interface ${n} {\n${body}}\n`;
      };
      return n;
    };
    for (const candidate of candidates) {
      const existing = this.#bodies.get(candidate);
      if (existing === undefined) return declare(candidate);
      if (existing === body) {
        this.blocks.splice(place, 1);
        if (
          this.#uses.get(candidate)?.sample.value === undefined &&
          sample.value !== undefined
        ) {
          this.#uses.set(candidate, use);
        }
        return candidate;
      }
    }
    for (let i = 2;; i++) {
      const candidate = `${pathName}${i}`;
      if (!this.#bodies.has(candidate)) return declare(candidate);
    }
  }

  /** Registers a top-level name so nested names never collide with it. */
  reserve(name: string): void {
    this.#bodies.set(name, "\u0000reserved");
  }
}

/**
 * Where a schema node sits in an event (`event.revision.editor`) and the
 * value the stream's example event has there, if any.
 */
interface Sample {
  value: unknown;
  at: string;
}

/** Which values of a generated example came from the spec's example event. */
interface SampleState {
  fromExample: boolean;
  placeholders: boolean;
}

type Scalar = string | number | boolean | null;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null ||
    ["string", "number", "boolean"].includes(typeof value);
}

/** A scalar or an array of scalars: small enough to copy into an example. */
function isFlat(value: unknown): boolean {
  return isScalar(value) || (Array.isArray(value) && value.every(isScalar));
}

function field(value: unknown, key: string): unknown {
  return isPlainObject(value) ? value[key] : undefined;
}

/** `.name`, or `["odd-name"]` when `name` is not an identifier. */
function accessor(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
    ? `.${key}`
    : `[${JSON.stringify(key)}]`;
}

/** The first entry of a map-valued sample whose key passes `keep`. */
function mapEntry(sample: Sample, keep: (key: string) => boolean): Sample {
  if (isPlainObject(sample.value)) {
    const key = Object.keys(sample.value).find(keep);
    if (key !== undefined) {
      return { value: sample.value[key], at: sample.at + accessor(key) };
    }
  }
  return { value: undefined, at: `${sample.at}[key]` };
}

/** Whether `value` is valid for `schema` (types, enums, required fields). */
function conforms(schema: JsonSchema, value: unknown): boolean {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum.includes(value);
  }
  const types = typeList(schema.type);
  if (types.length === 0) {
    return schema.properties ? objectConforms(schema, value) : true;
  }
  return types.some((type) => {
    switch (type) {
      case "string":
        return typeof value === "string";
      case "integer":
        return Number.isInteger(value);
      case "number":
        return typeof value === "number";
      case "boolean":
        return typeof value === "boolean";
      case "null":
        return value === null;
      case "array": {
        const items = schema.items;
        return Array.isArray(value) &&
          (!items || Array.isArray(items) ||
            value.every((item) => conforms(items, item)));
      }
      case "object":
        return objectConforms(schema, value);
      default:
        return false;
    }
  });
}

function objectConforms(schema: JsonSchema, value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  if (!(schema.required ?? []).every((key) => key in value)) return false;
  const extra = schema.additionalProperties;
  return Object.entries(value).every(([key, item]) => {
    const sub = schema.properties?.[key] ??
      (typeof extra === "object" ? extra : undefined);
    return sub === undefined || conforms(sub, item);
  });
}

/**
 * A compact value of an object schema: its required fields and the flat
 * optional fields of the example, or one optional field when that leaves
 * nothing to read.
 */
function sampleObject(
  schema: JsonSchema,
  example: unknown,
  state: SampleState,
): Record<string, unknown> {
  const properties = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  const given = isPlainObject(example) ? example : {};
  const chosen = new Map<string, unknown>();
  for (const [key, sub] of properties) {
    if (required.has(key)) {
      chosen.set(key, sampleValue(sub, given[key], state));
    } else if (
      given[key] !== undefined && isFlat(given[key]) &&
      conforms(sub, given[key])
    ) {
      chosen.set(key, given[key]);
      state.fromExample = true;
    }
  }
  if (![...chosen.values()].some(hasLeaf)) {
    const optional = properties.filter(([key]) => !required.has(key));
    const pick = optional.find(([key, sub]) =>
      given[key] !== undefined && conforms(sub, given[key])
    ) ?? optional.find(([, sub]) =>
      typeList(sub.type).includes("string")
    ) ??
      optional[0];
    if (pick) chosen.set(pick[0], sampleValue(pick[1], given[pick[0]], state));
  }
  return Object.fromEntries(
    properties.filter(([key]) => chosen.has(key)).map((
      [key],
    ) => [key, chosen.get(key)]),
  );
}

/** The example's value when it fits the schema, else a placeholder. */
function sampleValue(
  schema: JsonSchema,
  example: unknown,
  state: SampleState,
): unknown {
  if (example !== undefined && isFlat(example) && conforms(schema, example)) {
    state.fromExample = true;
    return example;
  }
  const types = typeList(schema.type);
  const extra = schema.additionalProperties;
  if (
    schema.properties && (types.length === 0 || types.includes("object"))
  ) {
    return sampleObject(schema, example, state);
  }
  if (types.includes("object") && typeof extra === "object") {
    const [key, value] = isPlainObject(example)
      ? Object.entries(example)[0] ?? []
      : [];
    if (key !== undefined) return { [key]: sampleValue(extra, value, state) };
  }
  const items = schema.items;
  if (
    types.includes("array") && Array.isArray(example) &&
    example.length > 0 && items && !Array.isArray(items)
  ) {
    return [sampleValue(items, example[0], state)];
  }
  state.placeholders = true;
  return placeholder(schema);
}

/** A made-up valid value of a schema (objects and arrays empty). */
function placeholder(schema: JsonSchema): unknown {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[0];
  }
  if (schema.default !== undefined && conforms(schema, schema.default)) {
    return schema.default;
  }
  const type = typeList(schema.type).find((t) => t !== "null") ??
    (typeList(schema.type).length > 0 ? "null" : undefined);
  switch (type) {
    case "string":
      return schema.format === "date-time" ? "2026-01-01T00:00:00Z" : "example";
    case "integer":
    case "number":
      return 1;
    case "boolean":
      return false;
    case "array": {
      const items = schema.items;
      const item = items && !Array.isArray(items) && typeList(items.type)
          .some((t) => ["string", "integer", "number", "boolean"].includes(t))
        ? placeholder(items)
        : undefined;
      return item === undefined ? [] : [item];
    }
    case "object":
      return {};
    default:
      return null;
  }
}

function hasLeaf(value: unknown): boolean {
  if (isScalar(value)) return value !== null;
  if (Array.isArray(value)) return value.some(hasLeaf);
  return isPlainObject(value) && Object.values(value).some(hasLeaf);
}

/** An object literal as TypeScript source, one field per line when long. */
function literal(value: unknown, indent: string, used: number): string {
  if (!isPlainObject(value)) {
    return Array.isArray(value)
      ? `[${value.map((v) => literal(v, indent, 0)).join(", ")}]`
      : JSON.stringify(value);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return "{}";
  const inline = `{ ${
    entries.map(([k, v]) => `${propertyName(k)}: ${literal(v, "", 0)}`).join(
      ", ",
    )
  } }`;
  if (used + inline.length <= EXAMPLE_WIDTH) return inline;
  const inner = indent + "  ";
  const lines = entries.map(([k, v]) => {
    const head = `${inner}${propertyName(k)}: `;
    return `${head}${literal(v, inner, head.length + 1)},`;
  });
  return `{\n${lines.join("\n")}\n${indent}}`;
}

/** Code width in an example: a JSDoc line is ` * ` plus the code. */
const EXAMPLE_WIDTH = 77;

const RESERVED = new Set([
  "break",
  "case",
  "catch",
  "class",
  "const",
  "continue",
  "default",
  "delete",
  "do",
  "else",
  "enum",
  "export",
  "extends",
  "false",
  "finally",
  "for",
  "function",
  "if",
  "import",
  "in",
  "instanceof",
  "new",
  "null",
  "return",
  "super",
  "switch",
  "this",
  "throw",
  "true",
  "try",
  "typeof",
  "var",
  "void",
  "while",
  "with",
]);

/** `PageChangePageLink` -> `pageLink`, `PageLinksChangeAddedLinksItem` -> `addedLink`. */
function variableName(typeName: string): string {
  let suffix = typeName.slice(streamBase(typeName)?.length ?? 0);
  if (suffix.endsWith("sItem")) suffix = suffix.slice(0, -5);
  else if (suffix.endsWith("Item")) suffix = suffix.slice(0, -4);
  if (suffix === "") return "value";
  const name = suffix[0].toLowerCase() + suffix.slice(1);
  return RESERVED.has(name) ? `${name}Value` : name;
}

/**
 * The `@example` of a nested type: a value of it (from the spec's example
 * event where that has one, else placeholders), marked `no-assert`.
 */
function nestedExample(
  typeName: string,
  schema: JsonSchema,
  sample: Sample,
  stream: string,
): string {
  const state: SampleState = { fromExample: false, placeholders: false };
  const value = sampleObject(schema, sample.value, state);
  const variable = variableName(typeName);
  const where = `\`${sample.at}\``;
  const comment = !state.fromExample
    ? `// Shaped like ${where} of a \`${stream}\` event (placeholder values).`
    : state.placeholders
    ? `// From ${where} of the spec's example \`${stream}\` event, placeholders filling the gaps.`
    : `// From ${where} of the spec's example \`${stream}\` event.`;
  const head = `const ${variable}: ${typeName} = `;
  // It shows a value of the type (type-checked); reading back a field just set proves nothing.
  return [
    "@example",
    "```ts no-assert",
    `import type { ${typeName} } from "@eventstreams/client";`,
    "",
    comment,
    `${head}${literal(value, "", head.length + 1)};`,
    "```",
  ].join("\n");
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
  const declarations: Block[] = [];
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
        eventExample(name, s.name),
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
      "```ts no-assert",
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
      'import assert from "node:assert/strict";',
      'import { STREAMS } from "@eventstreams/client";',
      'assert.ok(STREAMS.includes("mediawiki.recentchange"));',
      "```",
    ].join("\n"),
  ].join("\n\n");

  const aliasDoc = [
    "Short names the server also accepts, each mapped to its canonical stream.",
    [
      "@example",
      "```ts",
      'import assert from "node:assert/strict";',
      'import { STREAM_ALIASES } from "@eventstreams/client";',
      'assert.equal(STREAM_ALIASES.recentchange, "mediawiki.recentchange");',
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
    ...declarations.map((block) => typeof block === "string" ? block : block()),
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

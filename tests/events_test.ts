// Checks the generated event types against real events: every real event is
// walked against its stream's JSON schema from the spec (the source of the
// types), checking that required fields are present with the right JSON type
// and enum values are known. Additional fields are allowed, as in the types.
import assert from "node:assert/strict";
import { type EventMeta, resolveStreamName, STREAMS } from "../mod.ts";
import type { JsonSchema, OpenApiSpec } from "../scripts/gen_types.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const SPEC: OpenApiSpec = JSON.parse(
  Deno.readTextFileSync(new URL("eventstreams-spec.json", FIXTURES)),
);

function schemaOf(stream: string): JsonSchema {
  const schema = SPEC.paths[`/v2/stream/${stream}`]?.get.responses["200"]
    ?.content?.["text/event-stream"]
    ?.schema;
  assert.ok(schema, `schema of ${stream}`);
  return schema;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") {
    return Number.isInteger(value) ? "integer" : "number";
  }
  return typeof value; // string, boolean, object
}

/** Problems of `value` against `schema` (a draft-07 subset: type, enum, required, properties, items, additionalProperties). */
function check(schema: JsonSchema, value: unknown, path = "$"): string[] {
  const problems: string[] = [];
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const actual = jsonType(value);
  if (
    types.length > 0 &&
    !types.some((t) => t === actual || (t === "number" && actual === "integer"))
  ) {
    return [`${path}: expected ${types.join("|")}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(
      `${path}: ${JSON.stringify(value)} is not one of ${
        JSON.stringify(schema.enum)
      }`,
    );
  }
  if (actual === "object") {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!(name in object)) problems.push(`${path}: missing required ${name}`);
    }
    for (const [name, field] of Object.entries(object)) {
      const sub = schema.properties?.[name] ??
        (typeof schema.additionalProperties === "object"
          ? schema.additionalProperties
          : undefined);
      if (sub) problems.push(...check(sub, field, `${path}.${name}`));
    }
  }
  if (actual === "array" && schema.items && !Array.isArray(schema.items)) {
    (value as unknown[]).forEach((item, i) =>
      problems.push(...check(schema.items as JsonSchema, item, `${path}[${i}]`))
    );
  }
  return problems;
}

/** Paths of fields present in `value` that `schema` does not declare. */
function collectExtraFields(
  schema: JsonSchema,
  value: unknown,
  path: string,
  out: Set<string>,
): void {
  if (
    jsonType(value) !== "object" ||
    typeof schema.additionalProperties === "object"
  ) return;
  for (
    const [name, field] of Object.entries(value as Record<string, unknown>)
  ) {
    const sub = schema.properties?.[name];
    if (sub === undefined) out.add(`${path}.${name}`);
    else collectExtraFields(sub, field, `${path}.${name}`, out);
  }
}

/** Meta fields the server adds and our EventMeta promises. */
function checkMeta(meta: EventMeta, stream: string): void {
  assert.equal(typeof meta.topic, "string");
  assert.ok(
    Number.isInteger(meta.partition) && meta.partition >= 0,
    "partition",
  );
  assert.ok(Number.isInteger(meta.offset) && meta.offset >= 0, "offset");
  assert.equal(meta.stream, stream);
  assert.match(
    meta.topic,
    new RegExp(`^(eqiad|codfw)\\.${stream.replaceAll(".", "\\.")}$`),
  );
  assert.equal(typeof meta.id, "string");
  assert.ok(!Number.isNaN(Date.parse(meta.dt)), "meta.dt parses");
}

function captureEvents(): Record<string, unknown>[] {
  return Deno.readTextFileSync(
    new URL("page_change_v1.2026-09-27.sse", FIXTURES),
  )
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
}

function wmeEvents(file: string): Record<string, unknown>[] {
  const items = JSON.parse(
    Deno.readTextFileSync(new URL(`wme-testdata/${file}`, FIXTURES)),
  );
  return items.map((item: { data?: unknown }) => item.data ?? item);
}

Deno.test("the check rejects what it should (it can fail)", () => {
  const schema = schemaOf("mediawiki.page_change.v1");
  const [event] = captureEvents();
  assert.deepEqual(check(schema, event), []);
  const broken = structuredClone(event) as Record<
    string,
    Record<string, unknown>
  >;
  delete broken.page.page_id;
  broken.revision.rev_id = "1";
  (broken as Record<string, unknown>).page_change_kind = "teleport";
  assert.deepEqual(
    check(schema, broken).sort(),
    [
      '$.page_change_kind: "teleport" is not one of ["create","undelete","edit","move","delete","visibility_change"]',
      "$.page: missing required page_id",
      "$.revision.rev_id: expected integer, got string",
    ].sort(),
  );
});

Deno.test("all 169 captured page_change events (2026, schema 1.12.0) satisfy the 2024 schema's requirements", () => {
  const schema = schemaOf("mediawiki.page_change.v1");
  const events = captureEvents();
  assert.equal(events.length, 169);
  for (const event of events) {
    assert.deepEqual(
      check(schema, event),
      [],
      `offset ${(event.meta as EventMeta).offset}`,
    );
    checkMeta(event.meta as EventMeta, "mediawiki.page_change.v1");
  }
  // Live events carry fields the 2024 schema lacks: the types must allow them.
  const extra = new Set<string>();
  for (const event of events) collectExtraFields(schema, event, "$", extra);
  assert.ok(extra.has("$.performer.user_central_id"), [...extra].join(", "));
  assert.ok(
    extra.has("$.meta.topic") && extra.has("$.meta.offset"),
    "added by the server",
  );
});

Deno.test("the WME events satisfy their streams' schemas (2020 revision-create lacks dt, required since schema 2.0.0)", () => {
  const cases: [file: string, stream: string, expected: string[]][] = [
    ["page-change.json", "mediawiki.page_change.v1", []],
    ["page-delete.json", "mediawiki.page-delete", []],
    ["page-move.json", "mediawiki.page-move", []],
    // Known deviation: these events are /mediawiki/revision/create/1.1.0; the
    // spec's schema is 2.0.0, which added a required top-level `dt`. The server
    // retains about 7 days, so a live consumer never sees such old events.
    ["revision-create.json", "mediawiki.revision-create", [
      "$: missing required dt",
    ]],
  ];
  for (const [file, stream, expected] of cases) {
    const events = wmeEvents(file);
    assert.ok(events.length > 0, file);
    for (const event of events) {
      assert.deepEqual(check(schemaOf(stream), event), expected, file);
      checkMeta(event.meta as EventMeta, stream);
    }
  }
});

Deno.test("revision-score (in the WME data) is not a public stream of the 2024 catalogue", () => {
  const [event] = wmeEvents("revision-score.json");
  const stream = (event.meta as EventMeta).stream;
  assert.equal(stream, "mediawiki.revision-score");
  assert.ok(!(STREAMS as readonly string[]).includes(stream));
  assert.throws(() => resolveStreamName(stream), TypeError);
  assert.equal(resolveStreamName(stream, { allowUnknown: true }), stream);
});

/**
 * Inputs for the SSE parser benchmarks (scripts/bench.ts,
 * scripts/bench_memory.ts): the real capture repeated, and a seeded synthetic
 * recentchange-like stream. Deterministic: the same bytes on every run.
 *
 * @module
 */

import { seededRandom } from "../src/testing/random.ts";

/** The real capture (3 header comments, `:ok`, 169 page_change frames). */
export const CAPTURE_PATH: URL = new URL(
  "../fixtures/page_change_v1.2026-09-27.sse",
  import.meta.url,
);
/** Frames in the capture. */
export const CAPTURE_FRAMES = 169;

/** A corpus: its bytes and how many frames they hold. */
export interface Corpus {
  /** Short label for tables. */
  name: string;
  /** The whole byte stream. */
  bytes: Uint8Array;
  /** How many frames a correct parser yields. */
  frames: number;
}

/**
 * The capture repeated until the corpus holds at least `minBytes`.
 *
 * @param minBytes Minimum size of the result.
 * @returns The corpus.
 */
export async function captureCorpus(minBytes: number): Promise<Corpus> {
  const capture = await Deno.readFile(CAPTURE_PATH);
  const copies = Math.ceil(minBytes / capture.length);
  const bytes = new Uint8Array(copies * capture.length);
  for (let i = 0; i < copies; i++) bytes.set(capture, i * capture.length);
  return { name: "capture", bytes, frames: copies * CAPTURE_FRAMES };
}

/**
 * The capture's events repeated as one stream of distinct events, for a
 * client (which drops repeats): each copy's Kafka offsets (in ids and
 * `meta`) are shifted past the copy before, the header comments and `:ok`
 * kept once.
 *
 * @param minBytes Minimum size of the result.
 * @returns The corpus.
 */
export async function captureStreamCorpus(minBytes: number): Promise<Corpus> {
  const text = await Deno.readTextFile(CAPTURE_PATH);
  const body = text.indexOf("\nevent: ") + 1; // After the comments and `:ok`.
  const frames = text.slice(body);
  const parts = [text.slice(0, body)];
  let size = parts[0].length;
  let copies = 0;
  for (; size < minBytes; copies++) {
    const shift = copies * 1_000_000;
    const copy = frames.replace(
      /("partition":\d+,"offset":)(\d+)/g,
      (_, head: string, offset: string) => `${head}${Number(offset) + shift}`,
    );
    parts.push(copy);
    size += copy.length;
  }
  return {
    name: "capture",
    bytes: new TextEncoder().encode(parts.join("")),
    frames: copies * CAPTURE_FRAMES,
  };
}

/** Wikis with a weight (roughly their share of edits) and the words their titles and comments use. */
const WIKIS: readonly {
  wiki: string;
  domain: string;
  weight: number;
  words: readonly string[];
}[] = (() => {
  const english = [
    "River",
    "Station",
    "History",
    "of",
    "the",
    "List",
    "Album",
    "Football",
    "Club",
    "Church",
    "Battle",
    "Category",
    "Railway",
    "Island",
    "File:IMG_2041.jpg",
    "Q60988248",
    "added",
    "claim",
    "reverted",
    "edits",
    "by",
    "cleanup",
    "[[Property:P31]]",
    "#quickstatements",
  ];
  const german = [
    "Geschichte",
    "Bahnhof",
    "Fluss",
    "Kirche",
    "Schlacht",
    "Insel",
    "München",
    "Zürich",
    "Köln",
    "Überarbeitung",
    "der",
    "die",
    "und",
  ];
  const french = [
    "Histoire",
    "gare",
    "rivière",
    "Église",
    "bataille",
    "île",
    "Québec",
    "Liste",
    "des",
    "de",
    "la",
    "révoqué",
  ];
  const japanese = [
    "東京都",
    "岩手県花巻市",
    "駅",
    "川",
    "歴史",
    "一覧",
    "の",
    "編集",
    "カテゴリ",
  ];
  const russian = [
    "Москва",
    "история",
    "станция",
    "река",
    "Список",
    "правка",
    "категория",
    "и",
  ];
  const persian = ["تاریخ", "ایستگاه", "رود", "فهرست", "ویرایش", "رده", "و"];
  return [
    {
      wiki: "commonswiki",
      domain: "commons.wikimedia.org",
      weight: 18,
      words: english,
    },
    {
      wiki: "wikidatawiki",
      domain: "www.wikidata.org",
      weight: 15,
      words: english,
    },
    { wiki: "enwiki", domain: "en.wikipedia.org", weight: 12, words: english },
    { wiki: "dewiki", domain: "de.wikipedia.org", weight: 9, words: german },
    { wiki: "frwiki", domain: "fr.wikipedia.org", weight: 9, words: french },
    { wiki: "jawiki", domain: "ja.wikipedia.org", weight: 10, words: japanese },
    { wiki: "ruwiki", domain: "ru.wikipedia.org", weight: 12, words: russian },
    { wiki: "fawiki", domain: "fa.wikipedia.org", weight: 14, words: persian },
  ];
})();
const USERS = [
  "Immanuelle",
  "InternetArchiveBot",
  "Ser Amantio di Nicolao",
  "Пользователь",
  "Ταχυδρόμος",
  "127.0.0.1",
  "Jürgen",
  "QuickStatementsBot",
];

/**
 * A seeded stream shaped like `mediawiki.recentchange`: `:ok`, then frames of
 * `event: message`, a KafkaSSE `id:` (second-precision timestamps, so
 * 60% of consecutive ids repeat) and a ~1.2 KB JSON `data:` line. The mix of
 * wikis puts non-ASCII text in about 57% of the frames; the real capture has
 * it in 61% (103 of 169).
 *
 * @param minBytes Minimum size of the result.
 * @param seed PRNG seed.
 * @returns The corpus.
 */
export function syntheticCorpus(minBytes: number, seed = 20260927): Corpus {
  const random = seededRandom(seed); // Deterministic, never `Math.random`.
  const pick = <T>(items: readonly T[]): T =>
    items[Math.floor(random() * items.length)];
  const totalWeight = WIKIS.reduce((sum, w) => sum + w.weight, 0);
  const pickWiki = () => {
    let roll = random() * totalWeight;
    for (const wiki of WIKIS) if ((roll -= wiki.weight) < 0) return wiki;
    return WIKIS[0];
  };
  const hex = (n: number) =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16))
      .join("");
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [encoder.encode(":ok\n\n")];
  let size = parts[0].length;
  let frames = 0;
  let offset = 4369496612;
  let timestamp = 1790525832;
  let rcid = 1843290011;
  let revision = 2550088644;
  while (size < minBytes) {
    if (random() < 0.4) timestamp++;
    offset++;
    const { wiki, domain, words: vocabulary } = pickWiki();
    const words = (n: number) =>
      Array.from({ length: n }, () => pick(vocabulary)).join(" ");
    const title = words(1 + Math.floor(random() * 4));
    const comment = words(4 + Math.floor(random() * 12));
    const user = random() < 0.85 ? pick(USERS.slice(0, 3)) : pick(USERS);
    const oldLength = Math.floor(random() * 90000);
    const dt = new Date(timestamp * 1000).toISOString().replace(".000Z", "Z");
    const event = {
      $schema: "/mediawiki/recentchange/1.0.0",
      meta: {
        uri: `https://${domain}/wiki/${
          encodeURIComponent(title.replaceAll(" ", "_"))
        }`,
        request_id: uuid(),
        id: uuid(),
        dt,
        domain,
        stream: "mediawiki.recentchange",
        topic: "eqiad.mediawiki.recentchange",
        partition: 0,
        offset,
      },
      id: rcid++,
      type: "edit",
      namespace: 0,
      title,
      title_url: `https://${domain}/wiki/${
        encodeURIComponent(title.replaceAll(" ", "_"))
      }`,
      comment,
      timestamp,
      user,
      bot: random() < 0.2,
      notify_url: `https://${domain}/w/index.php?diff=${
        revision + 1
      }&oldid=${revision}`,
      minor: random() < 0.3,
      patrolled: random() < 0.5,
      length: {
        old: oldLength,
        new: oldLength + Math.floor(random() * 400) - 200,
      },
      revision: { old: revision, new: revision + 1 },
      server_url: `https://${domain}`,
      server_name: domain,
      server_script_path: "/w",
      wiki,
      parsedcomment:
        `<span dir="auto"><span class="autocomment">${comment}</span></span>`,
    };
    revision += 2;
    const id =
      `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":${timestamp}000},` +
      `{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]`;
    const frame = encoder.encode(
      `event: message\nid: ${id}\ndata: ${JSON.stringify(event)}\n\n`,
    );
    parts.push(frame);
    size += frame.length;
    frames++;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return { name: "synthetic", bytes, frames };
}

/**
 * Cuts `bytes` into views of `size` bytes (the last may be shorter).
 *
 * @param bytes The corpus.
 * @param size Chunk size in bytes.
 * @returns The chunks (views, no copies).
 */
export function chunk(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    chunks.push(bytes.subarray(at, at + size));
  }
  return chunks;
}

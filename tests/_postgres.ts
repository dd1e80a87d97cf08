/**
 * A throwaway PostgreSQL cluster for the sink's tests: `initdb` in a
 * temporary directory, the server on a free loopback port (and its Unix
 * socket in that directory), stopped and removed at the end. PostgreSQL
 * refuses to run as root, so as root the binaries run as the `postgres`
 * user (created by Debian's package) via `runuser`.
 */

/** The directory holding initdb (Debian: /usr/lib/postgresql/<major>/bin, newest first), or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  let majors: string[];
  try {
    majors = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name);
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = `/usr/lib/postgresql/${major}/bin`;
    try {
      Deno.statSync(`${dir}/initdb`);
      return dir;
    } catch {
      // Next.
    }
  }
  return undefined;
}

/** Why the PostgreSQL tests are skipped, printed once; undefined when they run. */
export const POSTGRES_SKIP: string | undefined = findPostgresBin() === undefined
  ? "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin): run scripts/install_test_deps.sh"
  : undefined;
if (POSTGRES_SKIP !== undefined) console.log(`Skipping: ${POSTGRES_SKIP}`);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether this process is root (from `id -u`: the suite has no --allow-sys). */
let root: boolean | undefined;

async function run(argv: string[], asUser: boolean): Promise<string> {
  if (asUser) root ??= (await run(["id", "-u"], false)).trim() === "0";
  const full = asUser && root
    ? ["runuser", "-u", "postgres", "--", ...argv]
    : argv;
  const output = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout) +
    new TextDecoder().decode(output.stderr);
  if (!output.success) {
    throw new Error(`${argv.join(" ")} failed (${output.code}):\n${text}`);
  }
  return text;
}

/** A running test cluster. */
export class TestPostgres {
  readonly dir: string;
  readonly port: number;
  readonly bin: string;
  #running = false;

  private constructor(dir: string, port: number, bin: string) {
    this.dir = dir;
    this.port = port;
    this.bin = bin;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, no password). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Creates and starts a cluster. */
  static async start(): Promise<TestPostgres> {
    const bin = findPostgresBin();
    if (bin === undefined) throw new Error(POSTGRES_SKIP);
    const dir = await Deno.makeTempDir({ prefix: "eventstreams_pg_" });
    try {
      root ??= (await run(["id", "-u"], false)).trim() === "0";
      if (root) {
        const user = await run(["id", "-u", "postgres"], false);
        const group = await run(["id", "-g", "postgres"], false);
        await Deno.chown(dir, Number(user.trim()), Number(group.trim()));
      }
      const cluster = new TestPostgres(dir, freePort(), bin);
      await run([
        `${bin}/initdb`,
        "-D",
        `${dir}/data`,
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "--no-instructions",
      ], true);
      await cluster.startServer();
      return cluster;
    } catch (error) {
      // Nothing half-made left behind (a server that did start is stopped by pg_ctl's failure path).
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Starts the server (again) on the same port; waits until it accepts connections. */
  async startServer(): Promise<void> {
    await run([
      `${this.bin}/pg_ctl`,
      "start",
      "-w",
      "-D",
      `${this.dir}/data`,
      "-l",
      `${this.dir}/server.log`,
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
    ], true);
    this.#running = true;
  }

  /** Stops the server (fast shutdown: sessions are disconnected); waits until it is down. */
  async stopServer(): Promise<void> {
    await run([
      `${this.bin}/pg_ctl`,
      "stop",
      "-w",
      "-m",
      "fast",
      "-D",
      `${this.dir}/data`,
    ], true);
    this.#running = false;
  }

  /** Runs SQL through psql and returns its unaligned, tuples-only output. */
  psql(sql: string): Promise<string> {
    return run([
      `${this.bin}/psql`,
      "-X",
      "-q",
      "-A",
      "-t",
      "-h",
      "127.0.0.1",
      "-p",
      String(this.port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      sql,
    ], false).then((text) => text.trim());
  }

  /** Stops the server and removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#running) await this.stopServer();
    await Deno.remove(this.dir, { recursive: true });
  }
}

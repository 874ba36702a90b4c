import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The fault suite's own infrastructure: a throw-away PostgreSQL cluster (initdb + pg_ctl, trust
 * auth on 127.0.0.1, a spare port), a throw-away redis-server (no persistence, a spare port), and
 * the service's real processes (`node --import tsx server/main.ts`, `ROLE=web` and `ROLE=worker`
 * separately). The default services (PostgreSQL 5432, Redis 6379) are never touched. Everything
 * started here is registered and torn down at the end, on failure too, and on Ctrl-C.
 */

export const REPO = path.resolve(import.meta.dirname, '../..');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

// ------------------------------------------------------------------ cleanup registry

type Cleanup = { name: string; sync: () => void };
const cleanups: Cleanup[] = [];
let exitHooked = false;

/** Registers a synchronous last-resort cleanup (run at process exit, Ctrl-C, or by `cleanupAll`). */
export function onCleanup(name: string, sync: () => void): () => void {
  const entry = { name, sync };
  cleanups.push(entry);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => cleanupAll());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        if (process.env.FAULT_DEBUG_CLEANUP) process.stderr.write(`fault suite: ${sig}\n`);
        cleanupAll();
        process.exit(130);
      });
    }
  }
  return () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered cleanup, newest first; never throws. */
export function cleanupAll(): void {
  while (cleanups.length) {
    const c = cleanups.pop()!;
    try {
      if (process.env.FAULT_DEBUG_CLEANUP) process.stderr.write(`fault suite: cleaning up ${c.name}\n`);
      c.sync();
    } catch (err) {
      if (process.env.FAULT_DEBUG_CLEANUP) process.stderr.write(`fault suite: ${c.name}: ${(err as Error).message}\n`);
    }
  }
}

// ------------------------------------------------------------------ helpers

/** The suite's scratch directory (logs, clusters, data); removed at the end unless FAULT_KEEP=1. */
let scratch: string | undefined;
export function scratchDir(): string {
  if (!scratch) {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'shanhui-faults-'));
    chmodSync(scratch, 0o755);
    const dir = scratch;
    onCleanup(`scratch ${dir}`, () => {
      if (process.env.FAULT_KEEP === '1') {
        process.stderr.write(`fault suite: logs kept in ${dir}\n`);
        return;
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return scratch;
}

/** Resolves with a TCP port nothing listens on, at or above `from` (never 5432 or 6379). */
export async function sparePort(from: number): Promise<number> {
  for (let port = from; port < from + 500; port++) {
    if (port === 5432 || port === 6379 || taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error(`no spare port from ${from}`);
}
const taken = new Set<number>();

/** Polls `fn` until it returns something truthy, or throws after `timeoutMs`. */
export async function waitUntil<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

function run(cmd: string, args: string[], opts: { asPostgres?: boolean; allowFail?: boolean; timeoutMs?: number } = {}): { status: number; out: string } {
  const [c, a] = opts.asPostgres && isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${out.slice(-2000)}`);
  return { status: r.status ?? -1, out };
}

function pgBinDir(): string {
  if (process.env.FAULT_PG_BIN) return process.env.FAULT_PG_BIN;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(base, versions[0], 'bin');
  }
  const which = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (which.status === 0) return which.stdout.trim();
  throw new Error('PostgreSQL binaries not found (set FAULT_PG_BIN)');
}

// ------------------------------------------------------------------ PostgreSQL

/** A PostgreSQL cluster of its own: initdb into the scratch directory, pg_ctl start/stop, trust auth on 127.0.0.1. */
export class PgCluster {
  readonly bin = pgBinDir();
  readonly dir: string;
  readonly data: string;
  readonly logFile: string;
  port = 0;
  private unregister?: () => void;

  constructor(name = 'pg') {
    this.dir = path.join(scratchDir(), name);
    this.data = path.join(this.dir, 'data');
    this.logFile = path.join(this.dir, 'postgresql.log');
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private pgctl(args: string[], allowFail = false) {
    return run(path.join(this.bin, 'pg_ctl'), ['-D', this.data, ...args], { asPostgres: true, allowFail, timeoutMs: 90_000 });
  }

  /** initdb (once) and start, waiting until it accepts connections. */
  async start(): Promise<void> {
    if (!existsSync(this.data)) {
      this.port = await sparePort(Number(process.env.FAULT_PG_PORT ?? 55432));
      mkdirSync(this.dir, { recursive: true });
      if (isRoot) chownSync(this.dir, postgresUid(), postgresGid());
      run(path.join(this.bin, 'initdb'), ['-D', this.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], { asPostgres: true, timeoutMs: 120_000 });
      appendFileSync(path.join(this.data, 'postgresql.conf'), [
        '', '# the fault suite', "listen_addresses = '127.0.0.1'", 'fsync = off', 'full_page_writes = off', 'max_connections = 200',
        'shared_buffers = 128MB', 'log_min_messages = warning', 'log_lock_waits = on', 'deadlock_timeout = 1s', "log_line_prefix = '%m [%p] %d '",
        ...(process.env.FAULT_PG_STATEMENTS === '1' ? ["shared_preload_libraries = 'pg_stat_statements'", 'pg_stat_statements.track = all'] : []), '',
      ].join('\n'));
      this.unregister = onCleanup(`postgres ${this.data}`, () => {
        this.pgctl(['stop', '-m', 'immediate', '-w', '-t', '20'], true);
        if (process.env.FAULT_KEEP !== '1') rmSync(this.data, { recursive: true, force: true });
      });
    }
    const opts = `-p ${this.port} -k ${this.dir}`;
    this.pgctl(['start', '-w', '-t', '60', '-l', this.logFile, '-o', opts]);
  }

  /** Whether the server is running (pg_ctl status). */
  get running(): boolean {
    return existsSync(this.data) && this.pgctl(['status'], true).status === 0;
  }

  /** Stops the server (`fast` by default: connections are cut, as in a failover or a restart). */
  stop(mode: 'fast' | 'immediate' | 'smart' = 'fast'): void {
    this.pgctl(['stop', '-m', mode, '-w', '-t', '60']);
  }

  /** Stops and removes the cluster. */
  destroy(): void {
    this.pgctl(['stop', '-m', 'fast', '-w', '-t', '30'], true);
    if (process.env.FAULT_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
    this.unregister?.();
  }

  /** Lines of the server log that contain `text` (e.g. "deadlock detected"). */
  logCount(text: string, database?: string): number {
    if (!existsSync(this.logFile)) return 0;
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l.includes(text) && (!database || l.includes(` ${database} `))).length;
  }
}

function postgresUid(): number {
  return Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
}
function postgresGid(): number {
  return Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
}

// ------------------------------------------------------------------ Redis

/** A redis-server child process without persistence: stopping it and starting again gives an empty Redis. */
export class RedisServer {
  port = 0;
  private proc?: ChildProcess;
  private unregister?: () => void;
  private readonly logFile: string;
  private log?: WriteStream;

  constructor(name = 'redis') {
    this.logFile = path.join(scratchDir(), `${name}.log`);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return Boolean(this.proc && this.proc.exitCode === null && this.proc.signalCode === null);
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await sparePort(Number(process.env.FAULT_REDIS_PORT ?? 56379));
    this.log ??= createWriteStream(this.logFile, { flags: 'a' });
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', scratchDir(), '--maxclients', '2000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.pipe(this.log, { end: false });
    proc.stderr!.pipe(this.log, { end: false });
    this.proc = proc;
    this.unregister?.();
    this.unregister = onCleanup(`redis ${this.port}`, () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    await waitUntil(() => redisPing(this.port), `redis-server on ${this.port}`, 10_000, 50);
  }

  /** Stops redis-server (SIGKILL: the data in memory is gone, as in a crash). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    this.unregister?.();
    this.unregister = undefined;
  }

  async flushAll(): Promise<void> {
    await redisCommand(this.port, ['FLUSHALL']);
  }

  async destroy(): Promise<void> {
    await this.stop();
    this.log?.end();
  }
}

/** One Redis command over a raw socket (RESP), so the suite needs no client library of its own. */
export function redisCommand(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    let buf = '';
    sock.setTimeout(2000, () => sock.destroy(new Error('redis timeout')));
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.endsWith('\r\n')) {
        sock.end();
        resolve(buf.trim());
      }
    });
    sock.on('error', reject);
  });
}

async function redisPing(port: number): Promise<boolean> {
  return (await redisCommand(port, ['PING']).catch(() => '')) === '+PONG';
}

// ------------------------------------------------------------------ the service's processes

/** Counters read from a process's log (pino JSON lines on stdout, anything else on stderr). */
export interface LogCounts {
  lines: number;
  errors: number;
  deadlocks: number;
  unhandled: number;
}

/**
 * One of the service's real processes: `node --import tsx server/main.ts` with `ROLE=web` or
 * `ROLE=worker`. Its output goes to a log file; it can be stopped (SIGTERM), killed (SIGKILL)
 * and started again with the same environment.
 */
export class ServiceProcess {
  private proc?: ChildProcess;
  private unregister?: () => void;
  private readonly logFile: string;
  private readonly log: WriteStream;
  starts = 0;
  kills = 0;
  /** Exits nobody asked for (crashes), with their codes. */
  readonly unexpectedExits: string[] = [];
  private expectingExit = false;
  readonly counts: LogCounts = { lines: 0, errors: 0, deadlocks: 0, unhandled: 0 };
  private readonly waiters: { re: RegExp; resolve: () => void }[] = [];
  readonly errorSamples: string[] = [];
  /** The first "unhandled error" / "unhandled rejection" lines, condensed (what a 500 was). */
  readonly unhandledSamples: string[] = [];

  constructor(readonly name: string, readonly env: Record<string, string>) {
    this.logFile = path.join(scratchDir(), `${name}.log`);
    this.log = createWriteStream(this.logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get alive(): boolean {
    return Boolean(this.proc && this.proc.exitCode === null && this.proc.signalCode === null);
  }

  private scan(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      this.counts.lines++;
      if (/deadlock detected/i.test(line)) this.counts.deadlocks++;
      if (/"level":(50|60)/.test(line)) {
        this.counts.errors++;
        if (this.errorSamples.length < 20) this.errorSamples.push(line.slice(0, 600));
      }
      if (/"msg":"unhandled (error|rejection)"/.test(line)) {
        this.counts.unhandled++;
        if (this.unhandledSamples.length < 10) {
          try {
            const j = JSON.parse(line) as { msg: string; req?: { method?: string; url?: string }; err?: { message?: string; stack?: string } };
            this.unhandledSamples.push(`${j.msg}${j.req ? ` ${j.req.method} ${j.req.url}` : ''}: ${j.err?.message ?? ''} @ ${(j.err?.stack ?? '').split('\n').slice(1, 4).map((x) => x.trim()).join(' < ')}`.slice(0, 500));
          } catch {
            this.unhandledSamples.push(line.slice(0, 500));
          }
        }
      }
      for (const w of [...this.waiters]) {
        if (w.re.test(line)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  }

  /** Starts the process and waits until it says it is running. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.alive) return;
    const ready = new Promise<void>((resolve) => this.waiters.push({ re: /Shanhui is running/, resolve }));
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'server/main.ts')], {
      cwd: REPO,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts++;
    this.expectingExit = false;
    this.proc = proc;
    let tail = '';
    const onData = (d: Buffer) => {
      this.log.write(d);
      const text = tail + d.toString('utf8');
      const cut = text.lastIndexOf('\n');
      tail = cut >= 0 ? text.slice(cut + 1) : text;
      if (cut >= 0) this.scan(text.slice(0, cut));
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code, sig) => reject(new Error(`${this.name} exited during start (${code ?? sig}); see ${this.logFile}`))));
    exited.catch(() => undefined);
    proc.once('exit', (code, sig) => {
      if (!this.expectingExit) this.unexpectedExits.push(`${code ?? sig}`);
    });
    this.unregister?.();
    this.unregister = onCleanup(`${this.name} ${proc.pid}`, () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${timeoutMs} ms; see ${this.logFile}`)), timeoutMs);
    });
    try {
      await Promise.race([ready, exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no drain, no goodbye (a crashed or OOM-killed worker). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.alive) return;
    this.expectingExit = true;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    this.kills++;
    await exited;
  }

  /** SIGTERM and wait for the graceful shutdown (SIGKILL after `graceMs`). */
  async stop(graceMs = 20_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.alive) return;
    this.expectingExit = true;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.unregister?.();
    this.unregister = undefined;
  }

  private closed = false;
  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    this.closed = true;
    await new Promise((r) => this.log.end(r));
  }

  /** CPU seconds (user + system) the current process has used so far, from /proc (Linux). */
  cpuSeconds(): number {
    const pid = this.proc?.pid;
    if (!pid || !this.alive) return 0;
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  }

  get logPath(): string {
    return this.logFile;
  }
}

/** Bytes of a file, 0 if missing (for the figures). */
export function fileSize(p: string): number {
  return existsSync(p) ? statSync(p).size : 0;
}

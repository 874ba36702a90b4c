import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A Redis of the test's own (Debian's redis-server, keeping nothing on disk), which the test may
 * stop and start again, empty, on the same port: what a Redis restart looks like to the service.
 */
export async function ownRedis() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const self = {
    url: `redis://127.0.0.1:${port}`,
    /** Starts it, unless it is running. */
    async start(): Promise<void> {
      if (child && child.exitCode === null && child.signalCode === null) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      const probe = new Redis(self.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      for (let i = 0; i < 100; i++) {
        if (await probe.connect().then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await probe.ping();
      probe.disconnect();
    },
    async stop(): Promise<void> {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
  await self.start();
  return self;
}

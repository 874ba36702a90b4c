import type { Express } from 'express';
import { createApp } from '../../server/app.js';
import { h } from './harness.js';

/** One route the running app answers: lower-case method and an Express path (`/api/grants/:id`). */
export interface MountedRoute { method: string; path: string }

interface Layer {
  rawPath?: string | string[];
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/**
 * The app the harness serves, built again from its container (socket.io wraps the http server's
 * request listener, so the served app cannot be read back from it).
 */
export const harnessApp = (): Express => createApp(h().c);

/**
 * Every method + path the app's router stack mounts, walking nested routers (`app.use('/api', r)`)
 * the way Express matches them. Relies on router 2's `layer.rawPath`; a change there fails loudly
 * (no routes found) rather than silently.
 */
export function mountedRoutes(app: Express = harnessApp()): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = ([] as string[]).concat(layer.route.path);
        for (const p of paths) for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push({ method, path: `${prefix}${p}` });
      } else if (layer.handle?.stack) {
        const raw = ([] as string[]).concat(layer.rawPath ?? '/')[0];
        walk(layer.handle.stack, raw === '/' ? prefix : `${prefix}${raw}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

/** `/api/grants/:id` → `/api/grants/{id}`, as OpenAPI writes a path. */
export const toOpenApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

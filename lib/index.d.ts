// Types of `require('leakguard')`: the native binding's (../index.d.ts,
// generated from the Rust doc comments) plus the route's adapters.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RouteOptions } from '../index'

export * from '../index'

/**
 * The heap-snapshot route as one handler: `POST <path>` with
 * `Authorization: Bearer <token>` takes a snapshot (`reason: 'http'`).
 * Call it first in a node:http listener (`true`: it took the request), or
 * mount it as connect/express middleware (every other request goes to `next`).
 */
export interface Route {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): boolean
  /** A node:http request listener: the route, else `app`. */
  wrap(app: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void
  /** The path it answers on, e.g. `/heapdump-<hash>` (not a secret from the app, but from its clients). */
  readonly path: string
}

/**
 * A heap-snapshot route for node:http and connect/express. Options left out
 * come from `LEAKGUARD_ROUTE_TOKEN` and `LEAKGUARD_ROUTE_HASH`. Throws
 * `ERR_LEAKGUARD_CONFIG` without a token of at least 32 characters.
 */
export declare function route(options?: RouteOptions): Route

/** The route as a fastify plugin: `app.register(leakguard.fastify(options))`. */
export declare function fastify(options?: RouteOptions): ((instance: any) => Promise<void>) & { readonly path: string }

/** The route as koa middleware: `app.use(leakguard.koa(options))`. */
export declare function koa(options?: RouteOptions): ((ctx: any, next: () => Promise<unknown>) => Promise<void>) & { readonly path: string }

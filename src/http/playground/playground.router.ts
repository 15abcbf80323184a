import express, { type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { PlaygroundAssets } from './playground.assets.js';
import { PLAYGROUND_CSP, playgroundPage } from './playground.page.js';

export interface PlaygroundRouterOptions {
  readonly logger: Logger;
  /** Defaults to the prebuilt files, or an in-memory build when there are none. */
  readonly assets?: PlaygroundAssets;
}

/** Where the bundle is served, under the GraphQL path the router is mounted on. */
const ASSETS_SEGMENT = 'playground';
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/**
 * A browser navigating to the endpoint: it ranks HTML above JSON and asks no operation.
 * curl (`*\/*`), fetch and GraphQL clients rank JSON first, and GET queries carry `query`.
 */
function wantsPage(req: Request): boolean {
  if (typeof req.query === 'object' && req.query !== null && 'query' in req.query) return false;
  return req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) === 'text/html';
}

/**
 * Serves the GraphiQL playground at the GraphQL path it is mounted on (`app.use('/graphql', router)`,
 * before Apollo): the page for browser navigations, its bundle under `./playground/`. Every other
 * request falls through to the GraphQL endpoint.
 */
export function createPlaygroundRouter(options: PlaygroundRouterOptions): Router {
  const assets = options.assets ?? new PlaygroundAssets();
  const router = express.Router();

  router.get('/', (req: Request, res: Response, next) => {
    if (!wantsPage(req)) return next();
    res
      .status(200)
      .set({
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': PLAYGROUND_CSP,
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
        vary: 'Accept',
      })
      .send(playgroundPage(`${req.baseUrl}/${ASSETS_SEGMENT}`));
  });

  router.get(`/${ASSETS_SEGMENT}/:name`, async (req: Request<{ name: string }>, res: Response) => {
    const name = req.params.name;
    try {
      const asset = ASSET_NAME.test(name) ? await assets.get(name) : undefined;
      if (!asset) {
        res.status(404).type('text/plain').send('Not found');
        return;
      }
      res.type(name).set({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', vary: 'Accept-Encoding' });
      if (req.acceptsEncodings('gzip') === 'gzip') {
        res.set('content-encoding', 'gzip').send(await asset.gzipped());
      } else {
        res.send(asset.contents);
      }
    } catch (err) {
      options.logger.error({ err }, 'the GraphQL playground could not be loaded');
      res.status(503).type('text/plain').send('The playground is not available: its assets could not be built (run `npm run build`).');
    }
  });

  return router;
}

export { PlaygroundAssets, type ServedAsset } from './playground.assets.js';
export { buildPlaygroundAssets, prebuiltPlaygroundDir, writePlaygroundAssets, type PlaygroundAsset } from './playground.build.js';
export { PLAYGROUND_CSP, playgroundPage } from './playground.page.js';
export { createPlaygroundRouter, type PlaygroundRouterOptions } from './playground.router.js';

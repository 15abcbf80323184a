/**
 * The browser may load and connect to this server only: the policy itself keeps the page off CDNs.
 * Monaco sets inline styles, so styles allow 'unsafe-inline'; scripts do not.
 */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The playground's HTML; `assetsPath` is where its bundle is served (e.g. `/graphql/playground`). */
export function playgroundPage(assetsPath: string): string {
  const base = escapeAttribute(assetsPath.replace(/\/$/, ''));
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <title>Workflow Builder · GraphQL playground</title>
    <link rel="stylesheet" href="${base}/playground.css" />
    <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
    <script defer src="${base}/playground.js"></script>
  </head>
  <body>
    <div id="graphiql"><noscript>The GraphQL playground needs JavaScript.</noscript></div>
  </body>
</html>
`;
}

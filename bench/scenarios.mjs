// @ts-check
/**
 * What is measured. Every scenario uses the same autocannon flags for every
 * contender: 50 connections, pipelining 1, 10 s request timeout.
 */

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {string} explains what the scenario stands for
 * @property {string[]} paths requested in turn on each connection
 * @property {number} connections
 * @property {boolean} reconnect a new TLS connection for every request
 * @property {boolean} quick part of `--quick` (the mix is left out: it
 *   behaves much like the small page)
 * @property {Protocol} [protocol] `h2`: HTTP/2 over TLS (ALPN h2) with h2load,
 *   `streams` concurrent streams per connection (h2load.mjs); default `h1`, autocannon
 * @property {number} [streams]
 *
 * @typedef {'h1' | 'h2'} Protocol
 */

const connections = 50

/** What a page view asks for: HTML, CSS, a picture, the feed, the icon (0.4-39 KB). */
const mixPaths = [
  '/index.html',
  '/css/style.css',
  '/posts/the-listening-socket/index.html',
  '/images/listening-socket.png',
  '/posts/tls-in-five-minutes/index.html',
  '/feed.xml',
  '/favicon.svg',
  '/about/index.html'
]

/** @type {Scenario[]} */
export const scenarios = [
  {
    id: 'small-page',
    title: 'keep-alive, small page: GET /index.html (3 KB)',
    explains: 'many readers on open connections asking for the front page',
    paths: ['/index.html'],
    connections,
    reconnect: false,
    quick: true
  },
  {
    id: 'mix',
    title: 'keep-alive, mix of 8 pages and assets (0.4-39 KB)',
    explains: 'page views: HTML, CSS, a picture, the feed, the icon',
    paths: mixPaths,
    connections,
    reconnect: false,
    quick: false
  },
  {
    id: 'large-file',
    title: 'keep-alive, large file: GET /images/wallpaper-2560.png (383 KB)',
    explains: 'throughput of big responses (MB/s matters here)',
    paths: ['/images/wallpaper-2560.png'],
    connections,
    reconnect: false,
    quick: true
  },
  {
    id: 'new-tls-per-request',
    title: 'new TLS connection for every request: GET /index.html (reconnectRate 1)',
    explains: 'handshake-bound: first visits, clients without keep-alive',
    paths: ['/index.html'],
    connections,
    reconnect: true,
    quick: true
  },
  // HTTP/2, as browsers speak it: h2load (nghttp2-client), 32 connections ×
  // 10 concurrent streams, the load of issue 14's measurements.
  {
    id: 'h2-small-page',
    title: 'HTTP/2, small page: GET /index.html (3 KB), 32 connections × 10 streams',
    explains: 'browsers on open HTTP/2 connections asking for the front page',
    paths: ['/index.html'],
    connections: 32,
    streams: 10,
    reconnect: false,
    quick: true,
    protocol: 'h2'
  },
  {
    id: 'h2-mix',
    title: 'HTTP/2, mix of 8 pages and assets (0.4-39 KB), 32 connections × 10 streams',
    explains: 'page views over HTTP/2: HTML, CSS, a picture, the feed, the icon',
    paths: mixPaths,
    connections: 32,
    streams: 10,
    reconnect: false,
    quick: false,
    protocol: 'h2'
  }
]

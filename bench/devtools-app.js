'use strict';
// A small app with a recognizable leak, for comparing leakguard's summary
// with Chrome DevTools' (issue #13; bench/devtools-compare.js).
//
//   node bench/devtools-app.js <idle|sync|handler|worker> <dir> [--gzip] [--n N]
//
// idle:   the leak is built, then the snapshot is taken from a timer (an idle
//         event loop: no JS frames on the stack).
// sync:   the snapshot is started synchronously in module code, with the
//         leak's locals live in this function's frame (stack roots present).
// handler: the same, inside an HTTP request handler (one local request).
// worker: a worker_thread builds the same leak and snapshots its own heap.
//
// What leaks (each kind of thing DevTools names in its own way):
// - sessionCache: a Map of SessionEntry objects, each with a plain object
//   {name, roles} (DevTools names it by shape), a concatenated string, a
//   sliced string, a heap number and an array;
// - listeners: an array of closures named onConfigChange;
// - a Set of short strings.
const path = require('node:path');
const { Worker, isMainThread, workerData } = require('node:worker_threads');
const leakguard = require('leakguard');

function argsOf(argv) {
  const a = { mode: argv[0], dir: argv[1], gzip: false, n: 20000 };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--gzip') a.gzip = true;
    else if (argv[i] === '--n') a.n = Number(argv[++i]);
  }
  return a;
}

class SessionEntry {
  constructor(i, big) {
    this.id = i;
    this.user = { name: 'user' + i, roles: ['reader', i % 7 === 0 ? 'admin' : 'writer'] };
    this.token = 'tok-' + i.toString(36) + '-' + 'abcdefghijklmnop'.repeat(2); // concatenated
    this.note = big.slice(i % 1000, (i % 1000) + 40); // sliced string (≥ 13 chars)
    this.score = i + 0.5; // a heap number
    this.hits = [i, i * 2, i * 3];
  }
}

function makeListener(i, entry) {
  return function onConfigChange() {
    return entry.id + i;
  };
}

function buildLeak(n) {
  const big = 'The quick brown fox jumps over the lazy dog. '.repeat(100);
  const sessionCache = new Map();
  const listeners = [];
  const tags = new Set();
  for (let i = 0; i < n; i++) {
    const e = new SessionEntry(i, big);
    sessionCache.set('session:' + i, e);
    if (i % 2 === 0) listeners.push(makeListener(i, e));
    tags.add('tag' + (i % 5000));
  }
  return { sessionCache, listeners, tags, big };
}

async function snap(a, label) {
  const r = await leakguard.snapshot({
    dir: a.dir,
    filename: `${label}-node${process.versions.node.split('.')[0]}.heapsnapshot`,
    gzip: a.gzip,
  });
  return r.path;
}

function main() {
  if (!isMainThread) {
    const a = workerData;
    globalThis.workerLeak = buildLeak(a.n);
    setTimeout(() => snap(a, 'worker').then((p) => console.log(p)), 10);
    return;
  }
  const a = argsOf(process.argv.slice(2));
  if (a.mode === 'idle') {
    globalThis.appLeak = buildLeak(a.n);
    setTimeout(() => snap(a, 'idle').then((p) => console.log(p)), 10);
  } else if (a.mode === 'sync') {
    // The leak lives only in this frame's locals while V8 builds the
    // snapshot: its roots are stack roots, not the global.
    const leak = buildLeak(a.n);
    const p = snap(a, 'sync');
    p.then((f) => console.log(f, leak.sessionCache.size > 0 ? '' : ''));
  } else if (a.mode === 'handler') {
    // Inside an HTTP request handler (one request, from this process, on
    // 127.0.0.1): the leak is in the handler's locals, the snapshot is
    // started synchronously while the handler runs.
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      const sessionCache = buildLeak(a.n).sessionCache;
      const p = snap(a, 'handler');
      p.then((f) => {
        console.log(f);
        res.end(String(sessionCache.size));
      });
    });
    server.listen(0, '127.0.0.1', () => {
      http.get({ host: '127.0.0.1', port: server.address().port, path: '/' }, (res) => {
        res.resume();
        res.on('end', () => server.close());
      });
    });
  } else if (a.mode === 'worker') {
    const w = new Worker(path.resolve(__filename), { workerData: a });
    w.on('error', (e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    console.error('usage: node bench/devtools-app.js <idle|sync|handler|worker> <dir> [--gzip] [--n N]');
    process.exit(2);
  }
}

main();

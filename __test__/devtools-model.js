'use strict';
// Chrome DevTools' own heap-snapshot model, run under Node on a file: the
// reference leakguard's `summary` is checked against (issue #13).
//
// summarize(file) → { nodeCount, edgeCount, totalSize, rows, ms }
// allocatedBetween(s1, s2, s3) → rows of "Objects allocated between" (below)
//   rows: the Summary view's table (HeapSnapshot.aggregatesWithFilter() with
//   no filter, i.e. "All objects"): [{ name, count, self, retained }], sorted
//   by retained size, largest first. `retained` is DevTools' maxRet: each
//   object counted unless another object of the same class dominates it.
//
// The worker code is bundled by scripts/devtools-bundle.js (cached under
// .cache/devtools/). Both of DevTools' worker threads run here on the calling
// thread: the second worker (SecondaryInitManager: retainers, dominators,
// retained sizes) talks to the first over an in-thread MessageChannel, so the
// results are the same as in the browser, with one core.

const fs = require('node:fs');
const zlib = require('node:zlib');
const { MessageChannel } = require('node:worker_threads');
const { build } = require('../scripts/devtools-bundle.js');

let workerModule = null;
async function loadWorker() {
  if (!workerModule) workerModule = require(await build());
  return workerModule;
}

// The loader reports progress to a dispatcher; we ignore it.
const quietDispatcher = { sendEvent() {} };

// For diagnosis only (bench/devtools-compare.js --variant): switch off one of
// DevTools' own steps to see which one a difference comes from.
//   noPageOwned:   every edge counts for dominators (userObjectsMapAndFlag →
//                  null), instead of skipping edges from non-page-owned
//                  nodes to page-owned ones (computeIsEssentialEdge);
//   noOwnedSizes:  no calculateShallowSizes (internal arrays and hidden
//                  nodes keep their own self size instead of moving to their
//                  single owner);
//   noShapes:      no inferInterfaceDefinitions ({a, b} names for Objects).
const VARIANTS = {
  noPageOwned: ['userObjectsMapAndFlag', () => null],
  noOwnedSizes: ['calculateShallowSizes', () => {}],
  noShapes: ['inferInterfaceDefinitions', () => []],
};

async function loadSnapshot(file, variant = []) {
  const W = await loadWorker();
  const proto = W.HeapSnapshot.JSHeapSnapshot.prototype;
  const saved = [];
  for (const v of variant) {
    if (!VARIANTS[v]) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(', ')}`);
    const [method, impl] = VARIANTS[v];
    saved.push([method, Object.getOwnPropertyDescriptor(proto, method)]);
    proto[method] = impl;
  }
  try {
    return await loadSnapshotWith(W, file);
  } finally {
    for (const [method, desc] of saved.reverse()) {
      if (desc) Object.defineProperty(proto, method, desc);
      else delete proto[method];
    }
  }
}

async function loadSnapshotWith(W, file) {
  const loader = new W.HeapSnapshotLoader.HeapSnapshotLoader(quietDispatcher);
  const gz = file.endsWith('.gz');
  let stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (gz) stream = stream.pipe(zlib.createGunzip({ chunkSize: 1 << 20 }));
  stream.setEncoding('utf8');
  for await (const chunk of stream) loader.write(chunk);
  loader.close();
  const { port1, port2 } = new MessageChannel();
  // The second worker's side: DevTools starts it with the port it gets.
  new W.HeapSnapshot.SecondaryInitManager(port2);
  try {
    const snapshot = await loader.buildSnapshot(port1);
    return snapshot;
  } finally {
    port1.close();
    port2.close();
  }
}

async function summarize(file, { variant = [] } = {}) {
  const t0 = process.hrtime.bigint();
  const snapshot = await loadSnapshot(file, variant);
  const tLoaded = process.hrtime.bigint();
  const aggregates = snapshot.aggregatesWithFilter({});
  const rows = Object.keys(aggregates).map((key) => {
    const a = aggregates[key];
    return { name: a.name, key, count: a.count, self: a.self, retained: a.maxRet, distance: a.distance };
  });
  rows.sort((a, b) => b.retained - a.retained || b.self - a.self);
  const t1 = process.hrtime.bigint();
  return {
    nodeCount: snapshot.nodeCount,
    edgeCount: snapshot.containmentEdges.length / snapshot.edgeFieldsCount,
    totalSize: snapshot.totalSize,
    rows,
    ms: { load: Number(tLoaded - t0) / 1e6, aggregate: Number(t1 - tLoaded) / 1e6 },
    snapshot,
  };
}

// What the Summary view's "Objects allocated between Snapshot 1 and
// Snapshot 2" filter shows on s3: the objects whose ids are above s1's
// highest JS object id and at most s2's (HeapSnapshotDataGrids'
// filterSelectIndexChanged): [{ name, count, self, retained }]. The browser
// keeps all three loaded; this loads one at a time.
async function allocatedBetween(s1, s2, s3) {
  const maxJsId = async (file) => (await loadSnapshot(file)).maxJsNodeId();
  const [minNodeId, maxNodeId] = [await maxJsId(s1), await maxJsId(s2)];
  const aggregates = (await loadSnapshot(s3)).aggregatesWithFilter({ minNodeId, maxNodeId });
  return Object.values(aggregates).map((a) => ({ name: a.name, count: a.count, self: a.self, retained: a.maxRet }));
}

module.exports = { summarize, allocatedBetween, loadSnapshot, loadWorker };

if (require.main === module && process.argv.length === 5) {
  // Three files: the "allocated between" rows (bench/analysis.js times this).
  allocatedBetween(...process.argv.slice(2)).then((rows) => {
    console.log(JSON.stringify(rows.sort((a, b) => b.retained - a.retained).slice(0, 20), null, 2));
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
} else if (require.main === module) {
  const file = process.argv[2];
  summarize(file).then((s) => {
    const { snapshot, ...rest } = s;
    rest.rows = rest.rows.slice(0, Number(process.argv[3] || 20));
    console.log(JSON.stringify(rest, null, 2));
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}

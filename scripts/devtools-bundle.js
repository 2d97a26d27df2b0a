#!/usr/bin/env node
'use strict';
// Bundles Chrome DevTools' heap-snapshot worker (the code behind the Memory
// panel: npm package `chrome-devtools-frontend`, front_end/entrypoints/
// heap_snapshot_worker) into one CommonJS file that Node can require, so the
// analysis can be checked against DevTools' own numbers (issue #13).
//
// Output: .cache/devtools/heap_snapshot_worker-<version>.cjs, rebuilt only when
// the installed chrome-devtools-frontend version (or this script's patch set,
// PATCH_LEVEL) changes.
//
// What is changed from DevTools' sources, and why:
// - core/i18n/i18n.js is replaced by a stub: the real one loads locale data
//   (fetches, DevTools' settings); the worker only uses it to format progress
//   messages (serializeUIString).
// - core/platform/HostRuntime.ts picks the browser or Node runtime with a
//   top-level await, which a CommonJS bundle cannot hold; the stub imports the
//   Node runtime statically (the heap-snapshot model never uses it: it is
//   only for the worker entry point's postMessage, which we do not bundle).
// - Promise.withResolvers (used by SecondaryInitManager) is polyfilled on
//   Node 20 in the bundle's banner.
// Nothing in the analysis itself (HeapSnapshot.ts, HeapSnapshotLoader.ts) is
// touched.

const fs = require('node:fs');
const path = require('node:path');

const PATCH_LEVEL = 1;
const ROOT = path.resolve(__dirname, '..');
const PKG_DIR = path.dirname(require.resolve('chrome-devtools-frontend/package.json', { paths: [ROOT] }));
const FRONT_END = path.join(PKG_DIR, 'front_end');
const OUT_DIR = path.join(ROOT, '.cache', 'devtools');

function version() {
  return require(path.join(PKG_DIR, 'package.json')).version;
}

function outFile() {
  return path.join(OUT_DIR, `heap_snapshot_worker-${version()}-p${PATCH_LEVEL}.cjs`);
}

const I18N_STUB = `
function fill(s, values) {
  return values ? String(s).replace(/\\{(\\w+)\\}/g, (m, k) => (k in values ? String(values[k]) : m)) : String(s);
}
export const i18n = {
  serializeUIString: (s, values) => JSON.stringify({ string: s, values: values || {} }),
  deserializeUIString: (s) => (s ? JSON.parse(s) : { string: '', values: {} }),
  registerUIStrings: () => (s, values) => fill(s, values),
  getLocalizedString: (_r, s, values) => fill(s, values),
  getLazilyComputedLocalizedString: (_r, s, values) => () => fill(s, values),
  lockedString: (s) => s,
  lockedLazyString: (s) => () => s,
};
export const ByteUtilities = {};
export const DevToolsLocale = {};
export const NumberFormatter = {};
`;

const HOST_RUNTIME_STUB = `
import * as NodeRuntime from './node/node.js';
export const IS_NODE = true;
export const IS_BROWSER = false;
export const HOST_RUNTIME = NodeRuntime.HostRuntime.HOST_RUNTIME;
`;

const ENTRY = `
export * from './entrypoints/heap_snapshot_worker/heap_snapshot_worker.js';
`;

async function build({ force = false } = {}) {
  const out = outFile();
  if (!force && fs.existsSync(out)) return out;
  const esbuild = require('esbuild');
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const stubs = {
    name: 'leakguard-devtools-stubs',
    setup(b) {
      // Every import of the i18n module (core/i18n/i18n.js, from whichever
      // folder) gets the stub.
      b.onResolve({ filter: /i18n\.js$/ }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        if (target === path.join(FRONT_END, 'core', 'i18n', 'i18n.js')) return { path: 'i18n-stub', namespace: 'lg-stub' };
        return undefined;
      });
      b.onLoad({ filter: /core[\\/]platform[\\/]HostRuntime\.ts$/ }, () => ({
        contents: HOST_RUNTIME_STUB,
        loader: 'ts',
        resolveDir: path.join(FRONT_END, 'core', 'platform'),
      }));
      b.onLoad({ filter: /^i18n-stub$/, namespace: 'lg-stub' }, () => ({ contents: I18N_STUB, loader: 'js' }));
    },
  };
  const tmp = `${out}.${process.pid}.tmp`;
  await esbuild.build({
    stdin: { contents: ENTRY, resolveDir: FRONT_END, sourcefile: 'leakguard-devtools-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: tmp,
    plugins: [stubs],
    logLevel: 'warning',
    legalComments: 'inline',
    banner: {
      js:
        `// Bundled by leakguard scripts/devtools-bundle.js from chrome-devtools-frontend@${version()}.\n` +
        `if (typeof Promise.withResolvers !== 'function') {\n` +
        `  Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };\n` +
        `}`,
    },
  });
  fs.renameSync(tmp, out);
  return out;
}

module.exports = { build, outFile, version };

if (require.main === module) {
  const t0 = Date.now();
  build({ force: process.argv.includes('--force') })
    .then((out) => console.log(`${out} (${fs.statSync(out).size} bytes, ${Date.now() - t0} ms)`))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}

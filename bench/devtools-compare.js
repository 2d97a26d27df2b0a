#!/usr/bin/env node
'use strict';
// Compares leakguard's `summary` with Chrome DevTools' Summary view on the
// same heap snapshots (issue #13).
//
//   node bench/devtools-compare.js [--top N] [--json out.json] [--variant noPageOwned,noOwnedSizes,noShapes] <file…>
//
// --variant switches off steps of DevTools' model (see __test__/devtools-model.js),
// to find which step a difference comes from; without it, DevTools as shipped.
//
// For each file: node count, edge count and total size from both, and the top
// N (default 20) rows of DevTools' Summary by retained size next to
// leakguard's row of the same name, with the relative difference
// (leakguard − DevTools) / DevTools of count, self and retained. Names in
// DevTools' top N that leakguard has no row for are flagged `only DevTools`;
// names in leakguard's top N by retained size that DevTools has no row for
// are listed as `only leakguard`.
//
// DevTools' model: __test__/devtools-model.js (bundled worker code, see
// scripts/devtools-bundle.js). leakguard: `node bin/leakguard.js summary
// --json`, run as a child process with the same Node as this script.

const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { summarize } = require('../__test__/devtools-model.js');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const a = { top: 20, json: null, files: [], variant: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') a.top = Number(argv[++i]);
    else if (argv[i] === '--variant') a.variant = argv[++i].split(',').filter(Boolean);
    else if (argv[i] === '--json') a.json = argv[++i];
    else a.files.push(argv[i]);
  }
  if (!a.files.length) {
    console.error('usage: node bench/devtools-compare.js [--top N] [--json out.json] <file…>');
    process.exit(2);
  }
  return a;
}

function leakguardSummary(file) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'leakguard.js'), 'summary', '--json', '--top', '100000', file], {
    maxBuffer: 256 << 20,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const j = JSON.parse(out);
  const rows = new Map();
  for (const list of [j.byCount, j.bySelfSize, j.byRetainedSize]) {
    for (const r of list || []) rows.set(r.name, { name: r.name, count: r.count, self: r.selfSize, retained: r.retainedSize });
  }
  const byRetained = (j.byRetainedSize || []).map((r) => r.name);
  return { nodeCount: j.nodes, edgeCount: j.edges, totalSize: j.totalSize, rows, byRetained, ms };
}

function rel(lg, dt) {
  if (lg === undefined) return null;
  if (dt === 0) return lg === 0 ? 0 : Infinity;
  return (lg - dt) / dt;
}

function pct(x) {
  if (x === null) return '—';
  if (x === Infinity) return '+inf';
  if (x === 0) return '0';
  const p = x * 100;
  const s = Math.abs(p) >= 10 ? p.toFixed(0) : Math.abs(p) >= 0.1 ? p.toFixed(1) : p.toFixed(3);
  return (p > 0 ? '+' : '') + s + '%';
}

function pad(s, n, right) {
  s = String(s);
  if (s.length > n) s = s.slice(0, n - 1) + '…';
  return right ? s.padStart(n) : s.padEnd(n);
}

async function compareFile(file, top, variant) {
  const dt = await summarize(file, { variant });
  delete dt.snapshot;
  const lg = leakguardSummary(file);
  const dtByName = new Map();
  for (const r of dt.rows) {
    // DevTools keeps classes with the same name apart when their key differs
    // (e.g. two `SessionEntry` classes defined at different locations); the
    // comparison is by name, as a user reads the table.
    const prev = dtByName.get(r.name);
    if (prev) {
      prev.count += r.count;
      prev.self += r.self;
      prev.retained += r.retained;
      prev.keys += 1;
    } else dtByName.set(r.name, { ...r, keys: 1 });
  }
  const rows = dt.rows.slice(0, top).map((d) => {
    const l = lg.rows.get(d.name);
    return {
      name: d.name,
      devtools: { count: d.count, self: d.self, retained: d.retained },
      leakguard: l ? { count: l.count, self: l.self, retained: l.retained } : null,
      diff: {
        count: rel(l?.count, d.count),
        self: rel(l?.self, d.self),
        retained: rel(l?.retained, d.retained),
      },
    };
  });
  const onlyLeakguard = lg.byRetained.slice(0, top).filter((n) => !dtByName.has(n))
    .map((n) => ({ name: n, ...lg.rows.get(n) }));
  const dtSelfTotal = dt.rows.reduce((s, r) => s + r.self, 0);
  let lgSelfTotal = 0;
  for (const r of lg.rows.values()) lgSelfTotal += r.self;
  return {
    file,
    totals: {
      nodeCount: { devtools: dt.nodeCount, leakguard: lg.nodeCount },
      edgeCount: { devtools: dt.edgeCount, leakguard: lg.edgeCount },
      totalSize: { devtools: dt.totalSize, leakguard: lg.totalSize },
      sumOfSelfInTable: { devtools: dtSelfTotal, leakguard: lgSelfTotal },
      classes: { devtools: dt.rows.length, leakguard: lg.rows.size },
    },
    rows,
    onlyLeakguard,
    ms: { devtoolsLoad: dt.ms.load, devtoolsAggregate: dt.ms.aggregate, leakguard: lg.ms },
  };
}

function print(res) {
  const t = res.totals;
  const eq = (k) => (t[k].devtools === t[k].leakguard ? 'match' : `DIFFER (${pct(rel(t[k].leakguard, t[k].devtools))})`);
  console.log(`\n== ${res.file}${res.variant && res.variant.length ? ` (DevTools variant: ${res.variant.join(', ')})` : ''}`);
  console.log(`nodes ${t.nodeCount.devtools} / ${t.nodeCount.leakguard} ${eq('nodeCount')}; ` +
    `edges ${t.edgeCount.devtools} / ${t.edgeCount.leakguard} ${eq('edgeCount')}; ` +
    `total size ${t.totalSize.devtools} / ${t.totalSize.leakguard} ${eq('totalSize')}`);
  console.log(`sum of self sizes over the table: DevTools ${t.sumOfSelfInTable.devtools}, leakguard ${t.sumOfSelfInTable.leakguard}; ` +
    `classes: DevTools ${t.classes.devtools}, leakguard ${t.classes.leakguard}`);
  console.log(`time: DevTools model ${(res.ms.devtoolsLoad / 1000).toFixed(2)} s load + ${(res.ms.devtoolsAggregate / 1000).toFixed(2)} s aggregates; ` +
    `leakguard summary ${(res.ms.leakguard / 1000).toFixed(2)} s (whole CLI run)`);
  console.log(
    pad('DevTools Summary (by retained)', 30) + ' │' +
    pad('count', 8, true) + pad('self', 10, true) + pad('retained', 10, true) + ' │' +
    pad('lg count', 9, true) + pad('lg self', 10, true) + pad('lg retained', 12, true) + ' │' +
    pad('Δcount', 8, true) + pad('Δself', 8, true) + pad('Δretained', 10, true),
  );
  for (const r of res.rows) {
    const d = r.devtools;
    const l = r.leakguard;
    console.log(
      pad(r.name, 30) + ' │' +
      pad(d.count, 8, true) + pad(d.self, 10, true) + pad(d.retained, 10, true) + ' │' +
      (l ? pad(l.count, 9, true) + pad(l.self, 10, true) + pad(l.retained, 12, true)
        : pad('only DevTools', 31, true)) + ' │' +
      pad(pct(r.diff.count), 8, true) + pad(pct(r.diff.self), 8, true) + pad(pct(r.diff.retained), 10, true),
    );
  }
  for (const r of res.onlyLeakguard) {
    console.log(
      pad(r.name, 30) + ' │' + pad('only leakguard', 28, true) + ' │' +
      pad(r.count, 9, true) + pad(r.self, 10, true) + pad(r.retained, 12, true) + ' │',
    );
  }
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const results = [];
  for (const f of a.files) {
    const r = await compareFile(f, a.top, a.variant);
    r.variant = a.variant;
    print(r);
    results.push(r);
  }
  if (a.json) fs.writeFileSync(a.json, JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

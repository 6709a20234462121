#!/usr/bin/env node
// Builds assets/basemap-east-asia.txt from the npm package world-atlas
// (Natural Earth country polygons as TopoJSON), once, by hand:
//
//   tmp=$(mktemp -d) && (cd "$tmp" && npm pack world-atlas@2.0.2 && tar xzf world-atlas-*.tgz)
//   node tools/make_basemap.js "$tmp/package/countries-10m.json" > assets/basemap-east-asia.txt
//
// TopoJSON stores every shared boundary once as an "arc" (quantised,
// delta-encoded). An arc used by two countries is a land border; an arc used
// by one is a coastline. Each arc is written once, clipped to the East Asia
// window, quantised to 0.01 degree (about 1 km, finer than the data's
// 2-decimal coordinates need) with repeated points dropped, and
// delta-encoded as text. The format is described in the file's header and
// read by src/geo.c (dg_basemap_load).
'use strict';
const fs = require('fs');

const WINDOW = {lon0: 70, lon1: 145, lat0: 10, lat1: 55};
const MARGIN = 1; // degrees kept outside the window so lines run off the edge
const UNIT = 100; // coordinates in 1/100 degree

if (process.argv.length !== 3) {
  process.stderr.write('usage: node tools/make_basemap.js countries-10m.json > assets/basemap-east-asia.txt\n');
  process.exit(2);
}
const src = process.argv[2];
const topo = JSON.parse(fs.readFileSync(src, 'utf8'));
if (topo.type !== 'Topology' || !topo.objects || !topo.objects.countries) {
  process.stderr.write(`${src}: expected a TopoJSON Topology with a "countries" object\n`);
  process.exit(1);
}
const pkgPath = require('path').join(require('path').dirname(src), 'package.json');
const version = fs.existsSync(pkgPath) ? JSON.parse(fs.readFileSync(pkgPath, 'utf8')).version : 'unknown';

// Decodes one arc to [lon, lat] pairs.
function decodeArc(arc) {
  const t = topo.transform;
  let x = 0, y = 0;
  return arc.map(p => {
    if (!t) return [p[0], p[1]];
    x += p[0];
    y += p[1];
    return [x * t.scale[0] + t.translate[0], y * t.scale[1] + t.translate[1]];
  });
}

// How many country rings use each arc (a negative index is arc ~i reversed).
const uses = new Map();
function countRing(ring) {
  for (const a of ring) {
    const i = a < 0 ? ~a : a;
    uses.set(i, (uses.get(i) || 0) + 1);
  }
}
for (const g of topo.objects.countries.geometries) {
  if (g.type === 'Polygon') g.arcs.forEach(countRing);
  else if (g.type === 'MultiPolygon') g.arcs.forEach(p => p.forEach(countRing));
}

function inside(p) {
  return p[0] >= WINDOW.lon0 - MARGIN && p[0] <= WINDOW.lon1 + MARGIN &&
         p[1] >= WINDOW.lat0 - MARGIN && p[1] <= WINDOW.lat1 + MARGIN;
}

// Pieces of a polyline that lie in the window, each with the first point
// outside on either side so the line reaches the edge.
function clip(points) {
  const pieces = [];
  let cur = null;
  for (let i = 0; i < points.length; i++) {
    if (inside(points[i])) {
      if (!cur) {
        cur = [];
        if (i > 0) cur.push(points[i - 1]);
      }
      cur.push(points[i]);
    } else if (cur) {
      cur.push(points[i]);
      pieces.push(cur);
      cur = null;
    }
  }
  if (cur) pieces.push(cur);
  return pieces;
}

function quantise(points) {
  const out = [];
  for (const p of points) {
    const q = [Math.round(p[0] * UNIT), Math.round(p[1] * UNIT)];
    const last = out[out.length - 1];
    if (!last || last[0] !== q[0] || last[1] !== q[1]) out.push(q);
  }
  return out;
}

const lines = [];
let nCoast = 0, nBorder = 0, nPoints = 0;
topo.arcs.forEach((arc, i) => {
  if (!uses.has(i)) return;
  const kind = uses.get(i) >= 2 ? 'b' : 'c';
  for (const piece of clip(decodeArc(arc))) {
    const q = quantise(piece);
    if (q.length < 2) continue;
    const nums = [q[0][0], q[0][1]];
    for (let k = 1; k < q.length; k++) nums.push(q[k][0] - q[k - 1][0], q[k][1] - q[k - 1][1]);
    lines.push(`${kind} ${q.length} ${nums.join(' ')}`);
    if (kind === 'c') nCoast++; else nBorder++;
    nPoints += q.length;
  }
});

const header = [
  '# demographer basemap: East Asia coastlines and land borders',
  `# Source: Natural Earth 1:10m Admin 0 countries (public domain, naturalearthdata.com),`,
  `# as TopoJSON in the npm package world-atlas ${version} (github.com/topojson/world-atlas,`,
  '# ISC licence for its build scripts; the data itself is Natural Earth\'s, public domain).',
  '# Built by tools/make_basemap.js; do not edit by hand.',
  '# Format: "#" lines are comments. One "window LON0 LON1 LAT0 LAT1" line (degrees; lines',
  `# may run up to ${MARGIN} degree past it), one "unit N" line (coordinates are integers in`,
  '# 1/N degree), then one polyline per line: KIND COUNT X0 Y0 DX1 DY1 ... where KIND is',
  '# c (coastline: a boundary of one country) or b (land border between two countries),',
  '# COUNT the number of points, X longitude and Y latitude, each point after the first',
  '# given as the difference from the one before.',
  `# ${nCoast} coastline pieces, ${nBorder} border pieces, ${nPoints} points.`,
  `window ${WINDOW.lon0} ${WINDOW.lon1} ${WINDOW.lat0} ${WINDOW.lat1}`,
  `unit ${UNIT}`,
];
process.stdout.write(header.join('\n') + '\n' + lines.join('\n') + '\n');

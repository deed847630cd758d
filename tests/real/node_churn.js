// node_churn.js ROUNDS: Node.js (V8, libuv's thread pool, its own worker
// threads, zlib and OpenSSL through malloc): objects, maps, strings, JSON,
// Buffers, deflate and inflate on the thread pool, hashes, and two worker
// threads doing the same. Prints a deterministic digest.
'use strict';
const crypto = require('crypto');
const zlib = require('zlib');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

function round(r) {
  const m = new Map();
  for (let i = 0; i < 20000; i++) {
    const k = 'key' + ((i * 7919 + r) % 5003);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push('ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i % 26].repeat((i % 40) + 1));
  }
  const keys = [...m.keys()].sort();
  const json = JSON.stringify(keys.map((k) => [k, m.get(k)]));
  const back = JSON.parse(json);
  const buf = Buffer.from(json);
  const packed = zlib.deflateSync(buf, { level: 6 });
  const unpacked = zlib.inflateSync(packed);
  const h = crypto.createHash('sha256');
  h.update(unpacked);
  h.update(String(back.length));
  return h.digest('hex');
}

if (!isMainThread) {
  let d = '';
  for (let r = 0; r < workerData.rounds; r++) d = round(r + 100 * workerData.id) + d.slice(0, 8);
  parentPort.postMessage(d);
} else {
  const rounds = Number(process.argv[2] || 4);
  let digest = '';
  for (let r = 0; r < rounds; r++) digest = round(r) + digest.slice(0, 8);
  // The thread pool: async deflate of several buffers at once.
  const jobs = [];
  for (let i = 0; i < 8; i++)
    jobs.push(new Promise((ok, bad) =>
      zlib.gzip(Buffer.alloc(200000 + i * 1000, i + 1), (e, out) => (e ? bad(e) : ok(out.length)))));
  const workers = [1, 2].map((id) => new Promise((ok, bad) => {
    const w = new Worker(__filename, { workerData: { id, rounds } });
    w.on('message', ok);
    w.on('error', bad);
  }));
  Promise.all([Promise.all(jobs), Promise.all(workers)]).then(([sizes, ws]) => {
    console.log('main', digest.slice(0, 16));
    console.log('gzip', sizes.join(' '));
    ws.forEach((d, i) => console.log('worker', i + 1, d.slice(0, 16)));
  }, (e) => { console.error(e); process.exit(1); });
}

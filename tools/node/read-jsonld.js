#!/usr/bin/env node
// Independent JSON-LD reader for the crlm-kg tests: jsonld.js expands each file and converts it to RDF in safe mode
// (any dropped key, unmapped term or lossy value is an error) and with a document loader that refuses every remote
// document, so nothing is fetched. Prints one JSON object per file: {"file", "quads": <N-Quads>} or {"file", "error"}.
// Exit 0 when every file was read, 1 otherwise.   Usage: node tools/node/read-jsonld.js FILE.jsonld...
'use strict';
const fs = require('fs');
const jsonld = require('jsonld');

const documentLoader = async (url) => { throw new Error(`remote document refused: ${url}`); };

async function read(file) {
  try {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    await jsonld.expand(doc, { safe: true, documentLoader });
    const quads = await jsonld.toRDF(doc, { format: 'application/n-quads', safe: true, documentLoader });
    return { file, quads };
  } catch (err) {
    return { file, error: String(err && (err.message || err)) + (err && err.details ? ' ' + JSON.stringify(err.details).slice(0, 300) : '') };
  }
}

(async () => {
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    const result = await read(file);
    if (result.error) failed += 1;
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  process.exitCode = failed ? 1 : 0;
})();

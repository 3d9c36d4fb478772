'use strict';
// SuperCoder's reporter for Node's built-in test runner (`node --test`, Node 18.15 and later):
// one JSON line per finished test or suite, with the file it is in, which Node's TAP and JUnit
// reporters do not give for a test that passes. Read by sandbox/node_results.py.
const path = require('node:path');
const { fileURLToPath } = require('node:url');

const ERROR_LINE = /^(\w*Error)(?: \[\w+\])?: (.*)$/; // `Error [ERR_MODULE_NOT_FOUND]: Cannot find module ...`

function fileOf(data) {
  // Node 18 names an ES module's tests by URL; a file run in-process (no isolation) that fails
  // whole may come with no file: its test is named by its path.
  const file = data.file || (data.nesting === 0 && path.isAbsolute(String(data.name)) ? String(data.name) : null);
  return file && file.startsWith('file://') ? fileURLToPath(file) : file;
}

function describe(error, printed) {
  if (!error) return null;
  // Node wraps what a test threw (ERR_TEST_FAILURE); the thrown error is its cause.
  const thrown = error.cause && typeof error.cause === 'object' ? error.cause : error;
  const out = {
    kind: String(thrown.name || ''),
    message: String(thrown.message === undefined ? error.message || '' : thrown.message),
    stack: String(thrown.stack || ''),
    failureType: String(error.failureType || ''),
  };
  if (printed && out.message === 'test failed') {
    // A file that failed whole: what it printed says why (a module it could not load).
    out.kind = printed[1];
    out.message = printed[2];
  }
  return out;
}

module.exports = async function* supercoderReporter(source) {
  const printed = new Map(); // file -> the last error line it wrote to stderr
  for await (const event of source) {
    const data = event.data || {};
    if (event.type === 'test:stderr') {
      const lines = String(data.message || '').split('\n').map((line) => line.trim().match(ERROR_LINE)).filter(Boolean);
      if (lines.length && data.file) printed.set(fileOf(data), lines[lines.length - 1]);
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const details = data.details || {};
    const skipped = data.skip !== undefined || data.todo !== undefined;
    const file = fileOf(data);
    yield JSON.stringify({
      file,
      name: String(data.name),
      nesting: data.nesting || 0,
      suite: details.type === 'suite',
      status: skipped ? 'skipped' : event.type === 'test:fail' ? 'failed' : 'passed',
      error: event.type === 'test:fail' ? describe(details.error, data.nesting === 0 ? printed.get(file) : null) : null,
    }) + '\n';
  }
};

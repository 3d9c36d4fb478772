'use strict';
// SuperCoder's reporter for Node's built-in test runner (`node --test`, Node 18.15 and later):
// one JSON line per finished test or suite, with the file it is in, which Node's TAP and JUnit
// reporters do not give for a test that passes. Read by sandbox/node_results.py.

function describe(error) {
  if (!error) return null;
  // Node wraps what a test threw (ERR_TEST_FAILURE); the thrown error is its cause.
  const thrown = error.cause && typeof error.cause === 'object' ? error.cause : error;
  return {
    kind: String(thrown.name || ''),
    message: String(thrown.message === undefined ? error.message || '' : thrown.message),
    stack: String(thrown.stack || ''),
    failureType: String(error.failureType || ''),
  };
}

module.exports = async function* supercoderReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data || {};
    const details = data.details || {};
    const skipped = data.skip !== undefined || data.todo !== undefined;
    yield JSON.stringify({
      file: data.file || null,
      name: String(data.name),
      nesting: data.nesting || 0,
      suite: details.type === 'suite',
      status: skipped ? 'skipped' : event.type === 'test:fail' ? 'failed' : 'passed',
      error: event.type === 'test:fail' ? describe(details.error) : null,
    }) + '\n';
  }
};

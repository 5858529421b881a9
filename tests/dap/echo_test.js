// The DAP test of issue 19 (docs/debugging.md "From an editor"): npm's
// DebugClient (@vscode/debugadapter-testsupport, the client VS Code's own
// adapters are tested with) drives `tools/l4ua dap` against the running
// system, as an editor would:
//   1. a breakpoint in services/echo.lua's handler;
//   2. a client task calls echo (tests/repl/dap_cases.py starts it at the
//      console when this script prints READY);
//   3. the stopped event, the stack trace, the handler's state.count;
//   4. evaluate, and assign state.count = 100;
//   5. next (step over) to the handler's next line, continue; the client's
//      reply carries 101 (dap_cases.py reads it at the console);
//   6. an exception breakpoint: a client's request that fails stops where
//      echo raises, setVariable changes a local there;
//   7. pause and continue;
//   8. hits in quick succession: a client task calls echo HITS times in a
//      loop (dap_cases.py starts it at READY3), so each call reaches the
//      breakpoint again at once after the continue before; every call is
//      a stopped event, the counts one apart (none run past unseen).
// Usage: node echo_test.js ROOT BUILD LINE FAIL_LINE HITS, with NODE_PATH naming the
// build's node_modules. Each step has its own timeout; a failure prints
// "FAIL <why>" and exits 1.
'use strict';
const assert = require('assert');
const path = require('path');
const { DebugClient } = require('@vscode/debugadapter-testsupport');

const [root, build, lineArg, failArg, hitsArg] = process.argv.slice(2);
const HITS = Number(hitsArg || 20);
const LINE = Number(lineArg);
const FAIL_LINE = Number(failArg);
const ECHO = path.join(root, 'scripts', 'services', 'echo.lua');
const STEP_MS = 30000;

function say(what) { process.stdout.write(what + '\n'); }

async function main() {
  const dc = new DebugClient(path.join(root, 'tools', 'l4ua'), 'dap', 'l4ua',
                             { env: Object.assign({}, process.env, { L4UA_BUILD: build }) }, true);
  dc.defaultTimeout = STEP_MS;
  await dc.start();
  try {
    const init = await dc.initializeRequest({ adapterID: 'l4ua', linesStartAt1: true,
                                              columnsStartAt1: true, pathFormat: 'path' });
    assert.ok(init.body.supportsConfigurationDoneRequest, 'configurationDone supported');
    assert.ok(init.body.supportsConditionalBreakpoints, 'conditional breakpoints supported');

    const initialized = dc.waitForEvent('initialized');
    await dc.attachRequest({ service: 'echo' });
    await initialized;
    const bps = await dc.setBreakpointsRequest({ source: { path: ECHO },
                                                 breakpoints: [{ line: LINE }] });
    assert.strictEqual(bps.body.breakpoints.length, 1);
    assert.ok(bps.body.breakpoints[0].verified, 'breakpoint verified: ' + JSON.stringify(bps.body));
    assert.strictEqual(bps.body.breakpoints[0].line, LINE);
    await dc.configurationDoneRequest();
    const threads = await dc.threadsRequest();
    assert.deepStrictEqual(threads.body.threads.map(t => t.name), ['echo']);

    // 1-3: the stop, where the handler is
    const stopped = dc.waitForEvent('stopped');
    say('READY');
    const ev = await stopped;
    assert.strictEqual(ev.body.reason, 'breakpoint');
    assert.deepStrictEqual(ev.body.hitBreakpointIds, [bps.body.breakpoints[0].id]);
    const st = await dc.stackTraceRequest({ threadId: ev.body.threadId });
    const frames = st.body.stackFrames;
    assert.strictEqual(frames[0].source.path, ECHO, 'top frame in echo.lua');
    assert.strictEqual(frames[0].line, LINE);
    assert.ok(frames.some(f => f.source && /service\.lua$/.test(f.source.path)),
              'the framework below the handler: ' + frames.map(f => f.name).join(', '));
    say('STACK ' + frames.map(f => `${f.name}@${f.source ? path.basename(f.source.path) : '?'}:${f.line}`).join(' '));

    const scopes = await dc.scopesRequest({ frameId: frames[0].id });
    const locals = scopes.body.scopes.find(s => s.name === 'Locals');
    assert.ok(locals, 'a Locals scope');
    const vars = await dc.variablesRequest({ variablesReference: locals.variablesReference });
    const state = vars.body.variables.find(v => v.name === 'state');
    assert.ok(state && state.variablesReference > 0, 'state is a table: ' + JSON.stringify(vars.body));
    const fields = await dc.variablesRequest({ variablesReference: state.variablesReference });
    const count = fields.body.variables.find(v => v.name === 'count');
    assert.ok(count && /^\d+$/.test(count.value), 'state.count: ' + JSON.stringify(fields.body));
    say('COUNT ' + count.value);

    // 4: evaluate, assign, evaluate again
    let r = await dc.evaluateRequest({ expression: 'state.count', frameId: frames[0].id, context: 'watch' });
    assert.strictEqual(r.body.result, count.value);
    r = await dc.evaluateRequest({ expression: 'state.count = 100', frameId: frames[0].id, context: 'repl' });
    r = await dc.evaluateRequest({ expression: 'state.count', frameId: frames[0].id, context: 'watch' });
    assert.strictEqual(r.body.result, '100');
    let bad = null;
    try { await dc.evaluateRequest({ expression: 'state.count +', frameId: frames[0].id, context: 'repl' }); }
    catch (e) { bad = e; }
    assert.ok(bad && /syntax error|unexpected symbol|expected/.test(bad.message), 'a bad expression is an error: ' + bad);

    // 5: step over the increment, see 101, continue
    const stepped = dc.waitForEvent('stopped');
    await dc.nextRequest({ threadId: 1 });
    const sev = await stepped;
    assert.strictEqual(sev.body.reason, 'step');
    const st2 = await dc.stackTraceRequest({ threadId: 1 });
    assert.strictEqual(st2.body.stackFrames[0].line, LINE + 1);
    r = await dc.evaluateRequest({ expression: 'state.count', frameId: st2.body.stackFrames[0].id, context: 'watch' });
    assert.strictEqual(r.body.result, '101');
    await dc.continueRequest({ threadId: 1 });
    say('CONTINUED');

    // 6: errors a handler lets out stop where they are raised; the
    // frame's locals can be set (setVariable); then the client gets the error
    await dc.setExceptionBreakpointsRequest({ filters: ['uncaught'] });
    const raised = dc.waitForEvent('stopped');
    say('READY2');
    const xev = await raised;
    assert.strictEqual(xev.body.reason, 'exception');
    assert.ok(/oops/.test(xev.body.text), 'the error in the event: ' + JSON.stringify(xev.body));
    const st3 = await dc.stackTraceRequest({ threadId: 1 });
    assert.strictEqual(st3.body.stackFrames[0].source.path, ECHO);
    assert.strictEqual(st3.body.stackFrames[0].line, FAIL_LINE);
    const sc3 = await dc.scopesRequest({ frameId: st3.body.stackFrames[0].id });
    const loc3 = sc3.body.scopes.find(s => s.name === 'Locals');
    const set = await dc.setVariableRequest({ variablesReference: loc3.variablesReference,
                                              name: 'message', value: '"seen"' });
    assert.strictEqual(set.body.value, '"seen"');
    r = await dc.evaluateRequest({ expression: 'message', frameId: st3.body.stackFrames[0].id, context: 'watch' });
    assert.strictEqual(r.body.result, '"seen"');
    await dc.setExceptionBreakpointsRequest({ filters: [] });
    await dc.continueRequest({ threadId: 1 });
    say('EXCEPTION');

    // 7: pause a service that waits for requests, and let it go
    const paused = dc.waitForEvent('stopped');
    await dc.pauseRequest({ threadId: 1 });
    const pev = await paused;
    assert.strictEqual(pev.body.reason, 'pause');
    const st4 = await dc.stackTraceRequest({ threadId: 1 });
    assert.ok(st4.body.stackFrames.some(f => f.source && /service\.lua$/.test(f.source.path)),
              'paused in the framework\'s loop');
    await dc.continueRequest({ threadId: 1 });
    say('PAUSED');

    // 8: each of HITS calls in a row stops; the count (state.count, one
    // more per call) tells a call that ran past the breakpoint unseen
    await dc.setBreakpointsRequest({ source: { path: ECHO }, breakpoints: [{ line: LINE }] });
    let hit = dc.waitForEvent('stopped');
    say('READY3');
    let last = null;
    for (let i = 1; i <= HITS; i++) {
      const hev = await hit;
      assert.strictEqual(hev.body.reason, 'breakpoint', `hit ${i}: ` + JSON.stringify(hev.body));
      const st5 = await dc.stackTraceRequest({ threadId: 1 });
      assert.strictEqual(st5.body.stackFrames[0].line, LINE);
      const c = await dc.evaluateRequest({ expression: 'state.count', frameId: st5.body.stackFrames[0].id,
                                           context: 'watch' });
      const n = Number(c.body.result);
      assert.ok(last === null || n === last + 1,
                `hit ${i}: state.count ${n} after ${last}: a call ran past the breakpoint unseen`);
      last = n;
      if (i < HITS) hit = dc.waitForEvent('stopped');
      await dc.continueRequest({ threadId: 1 });
    }
    await dc.setBreakpointsRequest({ source: { path: ECHO }, breakpoints: [] });
    say('HITS ' + HITS + ' last count ' + last);
    await dc.disconnectRequest({});
    say('DETACHED');
  } finally {
    await dc.stop();
  }
}

const guard = setTimeout(() => { say('FAIL the whole test took over 180 s'); process.exit(1); }, 180000);
main().then(() => { clearTimeout(guard); say('PASS'); process.exit(0); },
            e => { say('FAIL ' + (e && e.stack || e)); process.exit(1); });

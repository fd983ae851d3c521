// Cloister Node runner: speaks the runner protocol (docs/runner-protocol.md) on fd 0/1 and
// awaits the user's module.exports(event, ctx). Node standard library only.
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');

const MAX_FRAME = parseInt(process.env.CLOISTER_MAX_FRAME_BYTES || '1048576', 10);
const SCRATCH = process.env.CLOISTER_SCRATCH_DIR || '/tmp';
// Set by a sandbox with its own pid namespace and uid: every other process this runner can signal is the handler's.
const OWN_PID_NAMESPACE = process.env.CLOISTER_OWN_PID_NAMESPACE === '1';

// Keep stdout for frames only: pipes are written synchronously on Linux, so frames go out whole
// and in order; everything the handler prints goes to stderr.
const writeOut = process.stdout.write.bind(process.stdout);
const toStderr = (...args) => { process.stderr.write(util.format(...args) + '\n'); };
for (const name of ['log', 'info', 'debug', 'warn', 'error', 'trace', 'dir']) {
  console[name] = toStderr;
}
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
process.on('unhandledRejection', (reason) => { toStderr('cloister runner: unhandled rejection:', reason); });

class HostCallError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'HostCallError';
    this.code = code;
  }
}

function encode(obj) {
  return Buffer.from(JSON.stringify(obj), 'utf8');
}

function writeFrame(payload) {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length, 0);
  writeOut(Buffer.concat([header, payload]));
}

let dead = false;
function fail(message) {
  dead = true;
  process.stdin.pause();
  process.stderr.write(`cloister runner: ${message}\n`, () => process.exit(2));
}

// Frame reader: replies settle pending host calls as they arrive; invoke frames queue up.
let buffered = Buffer.alloc(0);
let ended = false;
const invokes = [];
let waiter = null;
const pending = new Map();

function deliver(frame) {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) {
    return fail('frame is not an object');
  }
  if (frame.type === 'reply') {
    const call = pending.get(frame.call);
    if (!call) {
      return fail('reply to an unknown call');
    }
    pending.delete(frame.call);
    if (frame.error !== undefined) {
      const err = frame.error || {};
      call.reject(new HostCallError(String(err.code || 'error'), String(err.message || '')));
    } else {
      call.resolve(frame.result === undefined ? null : frame.result);
    }
  } else if (frame.type === 'invoke') {
    invokes.push(frame);
    if (waiter) {
      const w = waiter;
      waiter = null;
      w();
    }
  } else {
    fail('unexpected frame type');
  }
}

process.stdin.on('data', (chunk) => {
  if (dead) {
    return;
  }
  buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
  while (!dead && buffered.length >= 4) {
    const length = buffered.readUInt32BE(0);
    if (length === 0 || length > MAX_FRAME) {
      return fail(`frame of ${length} bytes`);
    }
    if (buffered.length < 4 + length) {
      break;
    }
    const payload = buffered.subarray(4, 4 + length);
    buffered = buffered.subarray(4 + length);
    let frame;
    try {
      frame = JSON.parse(payload.toString('utf8'));
    } catch (e) {
      return fail('frame is not JSON');
    }
    deliver(frame);
  }
});
process.stdin.on('end', () => {
  ended = true;
  if (waiter) {
    const w = waiter;
    waiter = null;
    w();
  }
  // The host is gone: nobody is left to answer pending calls.
  if (pending.size > 0) {
    process.exit(0);
  }
});

async function nextInvoke() {
  while (invokes.length === 0) {
    if (ended) {
      return null;
    }
    await new Promise((resolve) => { waiter = resolve; });
  }
  return invokes.shift();
}

function makeContext(invocationId) {
  let nextCall = 0;
  const call = (method, params) => new Promise((resolve, reject) => {
    nextCall += 1;
    const n = nextCall;
    pending.set(n, { resolve, reject });
    writeFrame(encode({ type: 'call', id: invocationId, call: n, method, params }));
  });
  return {
    invocationId,
    reveal: (token) => call('reveal', { token }),
    tokenize: (value, format) => call('tokenize', { value, format }),
    log: async (message) => { await call('log', { message: String(message) }); },
  };
}

function describe(e) {
  if (e instanceof Error) {
    const text = String(e.message || '').slice(0, 4000);
    return text ? `${e.name}: ${text}` : e.name;
  }
  return `thrown value: ${String(e).slice(0, 4000)}`;
}

function wipeScratch() {
  let entries;
  try {
    entries = fs.readdirSync(SCRATCH);
  } catch (e) {
    return;
  }
  for (const entry of entries) {
    try {
      fs.rmSync(path.join(SCRATCH, entry), { recursive: true, force: true });
    } catch (e) {
      // best effort: the sandbox's tmpfs is destroyed with it anyway
    }
  }
}

// Whether a process other than this runner and the sandbox's init is alive (zombies are dead: they only await a wait).
function liveOthers() {
  let names;
  try {
    names = fs.readdirSync('/proc');
  } catch (e) {
    return false;
  }
  for (const name of names) {
    if (!/^[0-9]+$/.test(name) || name === '1' || Number(name) === process.pid) {
      continue;
    }
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch (e) {
      continue;
    }
    if (!'ZX'.includes(stat[stat.lastIndexOf(')') + 2])) {
      return true;
    }
  }
  return false;
}

// Warm reuse: no process the handler started outlives its invocation (it would hold the process limit, CPU and values).
// SIGKILL to every process but this one and the init, until none is left (Node reaps its own children; the init the
// orphans). A process that will not die ends the runner, and the host starts a fresh sandbox.
async function reapChildren() {
  if (!OWN_PID_NAMESPACE) {
    return;
  }
  for (let round = 0; round < 400; round++) {
    if (!liveOthers()) {
      return;
    }
    try {
      process.kill(-1, 'SIGKILL');
    } catch (e) {
      // ESRCH: nobody left to signal
    }
    await new Promise((resolve) => { setTimeout(resolve, 5); });
  }
  fail('processes of the handler survived SIGKILL');
  await new Promise(() => {});
}

async function loadHandler(entry) {
  const full = path.resolve(entry);
  let mod;
  if (full.endsWith('.mjs')) {
    mod = await import(require('url').pathToFileURL(full).href);
  } else {
    mod = require(full);
  }
  const handler = typeof mod === 'function' ? mod
    : mod && typeof mod.default === 'function' ? mod.default
      : mod && typeof mod.handle === 'function' ? mod.handle
        : null;
  if (!handler) {
    throw new TypeError('the module exports no function (module.exports = async (event, ctx) => ...)');
  }
  return handler;
}

async function main() {
  const entry = process.argv[2] || process.env.CLOISTER_ENTRYPOINT || '';
  let handler;
  try {
    if (!entry) {
      throw new Error('no entrypoint: pass it as argv[2] or CLOISTER_ENTRYPOINT');
    }
    handler = await loadHandler(entry);
  } catch (e) {
    toStderr(e);
    writeFrame(encode({ type: 'error', error: { code: 'load-error', message: describe(e) } }));
    process.exit(1);
  }
  const home = process.cwd();
  writeFrame(encode({ type: 'ready' }));
  for (;;) {
    const frame = await nextInvoke();
    if (frame === null) {
      process.exit(0);
    }
    const id = frame.id;
    let out;
    try {
      const result = await handler(frame.event, makeContext(id));
      const text = JSON.stringify({ type: 'result', id, result: result === undefined ? null : result });
      out = Buffer.from(text, 'utf8');
      if (out.length > MAX_FRAME) {
        out = encode({ type: 'error', id, error: { code: 'frame-too-large', message: `the result frame is ${out.length} bytes; the maximum frame size is ${MAX_FRAME} bytes` } });
      }
    } catch (e) {
      toStderr(e);
      out = encode({ type: 'error', id, error: { code: 'handler-error', message: describe(e) } });
    }
    await reapChildren();
    writeFrame(out);
    // Warm reuse: nothing written by this invocation survives into the next one.
    try { process.chdir(home); } catch (e) { /* keep going */ }
    wipeScratch();
  }
}

main();

namespace Cloister.Sandbox.Runner;

/// <summary>The language runners, compiled into the assembly; <see cref="Runners.Extract"/> writes them out.</summary>
internal static class RunnerScripts
{
    /// <summary>runner.py: the Python runner (standard library only).</summary>
    public const string Python = """"
# Cloister Python runner: speaks the runner protocol (docs/runner-protocol.md) on fd 0/1 and
# calls the user's handle(event, ctx). Standard library only.
import importlib.util
import json
import os
import shutil
import struct
import sys
import traceback

MAX_FRAME = int(os.environ.get("CLOISTER_MAX_FRAME_BYTES", "1048576"))
SCRATCH = os.environ.get("CLOISTER_SCRATCH_DIR", "/tmp")

# Keep the frame channel private: the real stdin/stdout move to fresh descriptors, fd 1 becomes
# stderr (so print(), os.write(1, ...) and child processes cannot corrupt frames) and fd 0 becomes
# /dev/null (so input() cannot swallow them).
_chan_in = os.fdopen(os.dup(0), "rb", buffering=0)
_chan_out = os.fdopen(os.dup(1), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)
os.dup2(2, 1)
sys.stdin = open(os.devnull, "r")
sys.stdout = sys.stderr


class ProtocolError(Exception):
    pass


class HostCallError(Exception):
    """A host call was refused or failed; .code is the host's error code (e.g. permission-denied)."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _read_exact(n):
    chunks = []
    while n > 0:
        chunk = _chan_in.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame():
    header = _read_exact(4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    if length == 0 or length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes")
    payload = _read_exact(length)
    if payload is None:
        return None
    frame = json.loads(payload.decode("utf-8"))
    if not isinstance(frame, dict):
        raise ProtocolError("frame is not an object")
    return frame


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def write_frame(payload):
    _chan_out.write(struct.pack(">I", len(payload)) + payload)


def _die(message, code=2):
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    finally:
        os._exit(code)


class Context:
    def __init__(self, invocation_id):
        self.invocation_id = invocation_id
        self._next_call = 0

    def _call(self, method, params):
        self._next_call += 1
        call = self._next_call
        write_frame(encode({"type": "call", "id": self.invocation_id, "call": call, "method": method, "params": params}))
        # Not exceptions the handler could swallow: a broken channel ends the runner.
        try:
            frame = read_frame()
        except (ProtocolError, ValueError) as exc:
            _die(f"cloister runner: {exc}")
        if frame is None:
            _die("cloister runner: the host closed the channel during a call", 0)
        if frame.get("type") != "reply" or frame.get("call") != call:
            _die("cloister runner: expected the reply to call %d" % call)
        if "error" in frame:
            err = frame["error"] or {}
            raise HostCallError(str(err.get("code", "error")), str(err.get("message", "")))
        return frame.get("result")

    def reveal(self, token):
        return self._call("reveal", {"token": token})

    def tokenize(self, value, format):
        return self._call("tokenize", {"value": value, "format": format})

    def log(self, message):
        self._call("log", {"message": str(message)})


def wipe_scratch():
    try:
        entries = list(os.scandir(SCRATCH))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
        except OSError:
            pass


def describe(exc):
    text = str(exc)[:4000]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load_handler(path):
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("cloister_handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {os.path.basename(path)}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["cloister_handler"] = module
    spec.loader.exec_module(module)
    handle = getattr(module, "handle", None)
    if not callable(handle):
        raise AttributeError("the module defines no handle(event, ctx)")
    return handle


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CLOISTER_ENTRYPOINT", "")
    try:
        if not path:
            raise ValueError("no entrypoint: pass it as argv[1] or CLOISTER_ENTRYPOINT")
        handle = load_handler(path)
    except BaseException as exc:
        traceback.print_exc()
        write_frame(encode({"type": "error", "error": {"code": "load-error", "message": describe(exc)}}))
        return 1
    home = os.getcwd()
    write_frame(encode({"type": "ready"}))
    while True:
        try:
            frame = read_frame()
        except (ProtocolError, ValueError) as exc:
            print(f"cloister runner: {exc}", file=sys.stderr)
            return 2
        if frame is None:
            return 0
        if frame.get("type") != "invoke":
            print("cloister runner: expected an invoke frame", file=sys.stderr)
            return 2
        invocation_id = frame.get("id")
        try:
            result = handle(frame.get("event"), Context(invocation_id))
            try:
                out = encode({"type": "result", "id": invocation_id, "result": result})
            except (TypeError, ValueError) as exc:
                raise TypeError(f"the result is not JSON-serializable ({exc})") from None
            if len(out) > MAX_FRAME:
                raise ValueError(f"the result is {len(out)} bytes; the maximum frame size is {MAX_FRAME}")
        except ProtocolError as exc:
            print(f"cloister runner: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            traceback.print_exc()
            out = encode({"type": "error", "id": invocation_id, "error": {"code": "handler-error", "message": describe(exc)}})
        sys.stderr.flush()
        write_frame(out)
        # Warm reuse: nothing written by this invocation survives into the next one.
        try:
            os.chdir(home)
        except OSError:
            pass
        wipe_scratch()


if __name__ == "__main__":
    sys.exit(main())
"""";

    /// <summary>runner.js: the Node runner (standard library only).</summary>
    public const string Node = """"
// Cloister Node runner: speaks the runner protocol (docs/runner-protocol.md) on fd 0/1 and
// awaits the user's module.exports(event, ctx). Node standard library only.
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');

const MAX_FRAME = parseInt(process.env.CLOISTER_MAX_FRAME_BYTES || '1048576', 10);
const SCRATCH = process.env.CLOISTER_SCRATCH_DIR || '/tmp';

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
        throw new RangeError(`the result is ${out.length} bytes; the maximum frame size is ${MAX_FRAME}`);
      }
    } catch (e) {
      toStderr(e);
      out = encode({ type: 'error', id, error: { code: 'handler-error', message: describe(e) } });
    }
    writeFrame(out);
    // Warm reuse: nothing written by this invocation survives into the next one.
    try { process.chdir(home); } catch (e) { /* keep going */ }
    wipeScratch();
  }
}

main();
"""";
}

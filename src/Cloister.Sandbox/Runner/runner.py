# Cloister Python runner: speaks the runner protocol (docs/runner-protocol.md) on fd 0/1 and
# calls the user's handle(event, ctx). Standard library only.
import importlib.util
import json
import os
import select
import shutil
import signal
import struct
import sys
import time
import traceback

MAX_FRAME = int(os.environ.get("CLOISTER_MAX_FRAME_BYTES", "1048576"))
SCRATCH = os.environ.get("CLOISTER_SCRATCH_DIR", "/tmp")
# Set by a sandbox with its own pid namespace and uid: every other process this runner can signal is the handler's.
OWN_PID_NAMESPACE = os.environ.get("CLOISTER_OWN_PID_NAMESPACE") == "1"

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
# gVisor hands the sandbox its pipes non-blocking: a read or write may then do part of the work, or none (None).
for _chan in (_chan_in, _chan_out):
    try:
        os.set_blocking(_chan.fileno(), True)
    except OSError:
        pass


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
        if chunk is None:
            select.select([_chan_in], [], [])
            continue
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
    # An unbuffered write may write only part (a pipe holds 64 KiB) or nothing: write until all of it is out.
    data = memoryview(struct.pack(">I", len(payload)) + payload)
    while data:
        written = _chan_out.write(data)
        if written is None:
            select.select([], [_chan_out], [])
            continue
        data = data[written:]


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


def _live_others():
    """Whether a process other than this runner and the sandbox's init is alive (zombies are dead: they only await a wait)."""
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    for name in names:
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] not in (b"Z", b"X"):
            return True
    return False


def _wait_children():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def reap_children():
    """
    Warm reuse: no process the handler started outlives its invocation (it would hold the process limit, CPU and values).
    SIGKILL to every process but this one and the init, until none is left; waiting for this runner's own children, so that
    no zombie holds a pid. A process that will not die ends the runner, and the host starts a fresh sandbox.
    """
    if not OWN_PID_NAMESPACE:
        return
    for _ in range(400):
        if not _live_others():
            _wait_children()
            return
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        _wait_children()
        time.sleep(0.005)
    _die("cloister runner: processes of the handler survived SIGKILL", 3)


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
                out = encode({"type": "error", "id": invocation_id, "error": {"code": "frame-too-large", "message": f"the result frame is {len(out)} bytes; the maximum frame size is {MAX_FRAME} bytes"}})
        except ProtocolError as exc:
            print(f"cloister runner: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:
            traceback.print_exc()
            out = encode({"type": "error", "id": invocation_id, "error": {"code": "handler-error", "message": describe(exc)}})
        reap_children()
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

# Shared by ./cloister and ./test.sh: checks what Cloister needs and, as root on Debian, installs
# what apt can provide. Sourced, not executed.

cloister_require_dotnet() {
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "cloister: the .NET 10 SDK is required: https://learn.microsoft.com/dotnet/core/install/linux-debian (then re-run)" >&2
    exit 1
  fi
  if ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
    echo "cloister: the .NET 10 SDK is required (found: $(dotnet --list-sdks | tr '\n' ' '))" >&2
    exit 1
  fi
}

# cloister_apt PACKAGE COMMAND: installs PACKAGE with apt when COMMAND (a name or an absolute path)
# is missing and we are root.
cloister_apt() {
  local package="$1" command="$2"
  command -v "$command" >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "cloister: installing $package (apt)…" >&2
    if [[ -z "${CLOISTER_APT_UPDATED:-}" ]]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && export CLOISTER_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    echo "cloister: '$command' is missing: install it with 'sudo apt-get install $package'" >&2
    return 1
  fi
}

# What customer functions need: a sandbox (gVisor's runsc, else bubblewrap) and the runtimes, which
# must be Debian's (/usr/bin/python3, /usr/bin/node: the sandbox's read-only root is the host's /usr).
cloister_function_prereqs() {
  cloister_apt runsc runsc
  cloister_apt bubblewrap bwrap
  cloister_apt python3 /usr/bin/python3
  cloister_apt nodejs /usr/bin/node
}

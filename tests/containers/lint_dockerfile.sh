#!/bin/bash
# Keeps build args out of the Dockerfile's WORKDIR and COPY/ADD destinations.
#
# Usage: tests/containers/lint_dockerfile.sh [DOCKERFILE]   (default: containers/Dockerfile)
#
# buildah 1.28 (Debian 12) keys a cached WORKDIR or COPY/ADD layer by the instruction's unexpanded
# text: the history of such a layer reads "WORKDIR ${SRC_DIR}" or "COPY dir:<digest> in .", never
# the value. A layer built with one value of the arg is then reused for another, and the files land
# where the new value does not point (an image build failed so: "The source directory ... does not
# appear to contain CMakeLists.txt"). A RUN's cache key does hold the args' values, so a path that
# depends on an arg belongs in a RUN. Runs without buildah: it reads the file only.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
file=${1:-$here/../../containers/Dockerfile}
[[ -r $file ]] || { echo "lint_dockerfile: cannot read $file" >&2; exit 2; }

# Joins continued lines, then prints "LINE: INSTRUCTION" for each offending one.
problems=$(awk '
  function flush() {
    if (text == "") return
    n = split(text, w, /[[:space:]]+/)
    op = toupper(w[1])
    bad = ""
    if (op == "WORKDIR" && text ~ /\$/) bad = "WORKDIR path"
    if ((op == "COPY" || op == "ADD") && w[n] ~ /\$/) bad = op " destination"
    if (bad != "") printf "%s:%d: %s uses a build arg: %s\n", FILENAME, start, bad, text
    text = ""
  }
  /^[[:space:]]*#/ { next }
  {
    line = $0
    if (text == "") start = FNR
    cont = sub(/\\[[:space:]]*$/, "", line)
    text = text (text == "" ? "" : " ") line
    sub(/^[[:space:]]+/, "", text)
    if (!cont) flush()
  }
  END { flush() }' "$file")
if [[ -n $problems ]]; then
  echo "$problems"
  echo "lint_dockerfile: move arg-dependent paths into a RUN (buildah caches WORKDIR and COPY by unexpanded text)"
  exit 1
fi
echo "ok     $file: no build arg in a WORKDIR or COPY/ADD destination"

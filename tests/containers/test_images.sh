#!/bin/bash
# Checks the component images: each CLI runs, evaluate works on a small slice as the non-root user, no compilers inside.
#
# Usage: tests/containers/test_images.sh HOST_BIN_DIR
#   HOST_BIN_DIR  folder with the host's prepare-data and train (e.g. build/bin): they make the
#                 small dataset and model that the containerised evaluate reads.
# Uses the images <registry>/<component>:<tag> of containers/images.conf from buildah's storage.
# ADVKFP_CONTAINERS_BUILD: missing (default) builds the absent ones with containers/build, always
# runs containers/build first (cached layers make that quick when nothing changed), never skips
# the test when an image is absent.
# Exits 77 (skipped) when buildah or runc is missing or unusable here.
set -euo pipefail

SKIP=77
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
config=$root/containers/images.conf
components=(prepare-data import-model train evaluate fgsm-attack detect-degradation pgd-train report serve)
user_uid=10001

skip() { echo "SKIP: $*"; exit "$SKIP"; }
(($# == 1)) || { echo "usage: $0 HOST_BIN_DIR" >&2; exit 2; }
bin_dir=$(cd "$1" && pwd)

command -v buildah >/dev/null || skip "buildah is not installed (apt-get install buildah runc)"
command -v runc >/dev/null || skip "runc is not installed (apt-get install runc)"
buildah info >/dev/null 2>&1 || skip "buildah cannot open its storage here (run as root or in 'buildah unshare')"
for b in prepare-data train; do
  [[ -x $bin_dir/$b ]] || { echo "no $bin_dir/$b: build the project first" >&2; exit 1; }
done

conf_get() {
  awk -v k="$1" -F= '
    /^[[:space:]]*#/ || !/=/ { next }
    { key = $1; gsub(/^[[:space:]]+|[[:space:]]+$/, "", key)
      if (key == k) { v = substr($0, index($0, "=") + 1); gsub(/^[[:space:]]+|[[:space:]]+$/, "", v); val = v } }
    END { print val }' "$config"
}
registry=$(conf_get registry)
registry=${registry%/}
tag=$(conf_get tag)
image_of() { echo "$registry/$1:$tag"; }
have_image() { buildah inspect --type image "$(image_of "$1")" >/dev/null 2>&1; }

# The host build of this tree (scripts/build) went through ccache: hand its folder to the image
# build, whose compile stage then reuses those objects (containers/build --ccache).
if [[ -z ${ADVKFP_CCACHE_DIR:-} ]] && command -v ccache >/dev/null; then
  export ADVKFP_CCACHE_DIR=$(ccache --get-config cache_dir)
fi
build_policy=${ADVKFP_CONTAINERS_BUILD:-missing}
missing=()
for c in "${components[@]}"; do have_image "$c" || missing+=("$c"); done
case $build_policy in
  always) echo "building the images"; "$root/containers/build" ;;
  missing) if ((${#missing[@]})); then
             echo "building the missing images: ${missing[*]}"
             "$root/containers/build" "${missing[@]}"
           fi ;;
  never) ((${#missing[@]} == 0)) ||
           skip "images not built (${missing[*]}) and ADVKFP_CONTAINERS_BUILD=never" ;;
  *) echo "ADVKFP_CONTAINERS_BUILD must be missing, always or never" >&2; exit 2 ;;
esac

work=$(mktemp -d)
containers=()
cleanup() {
  local c
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0
pass() { echo "ok     $*"; passed=$((passed + 1)); }
fail() { echo "FAILED $*"; failed=$((failed + 1)); }
# expect DESCRIPTION VALUE PATTERN: passes when VALUE matches the glob PATTERN.
expect() {
  # shellcheck disable=SC2053  # PATTERN is a glob on purpose
  if [[ $2 == $3 ]]; then pass "$1"; else fail "$1"; fi
}

# new_container COMPONENT: a working container of the component's image (runc, with rlimits it
# accepts) in $ctr, removed at exit.
new_container() {
  ctr=$(buildah from --quiet --pull=never --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
        "$(image_of "$1")")
  containers+=("$ctr")
}
# run_in [OPTIONS] CONTAINER -- COMMAND...: runs a command in the container as the image's user.
run_in() { buildah run --runtime runc --isolation oci --network none "$@"; }

# Small dataset and model made on the host, mounted read-only.
data=$work/data out=$work/out
mkdir -p "$data" "$out"
echo "making a 500/200-image dataset and a 1-epoch model with $bin_dir"
"$bin_dir/prepare-data" --train-dataset "$data/train" --test-dataset "$data/test" \
  --train-limit 500 --test-limit 200 --log-every 0 >"$work/host.log" 2>&1 ||
  { cat "$work/host.log"; echo "host prepare-data failed" >&2; exit 1; }
"$bin_dir/train" --dataset "$data/train" --model "$data/model" --metrics "$data/train.json" \
  --epochs 1 --log-every 0 >>"$work/host.log" 2>&1 ||
  { cat "$work/host.log"; echo "host train failed" >&2; exit 1; }
chmod -R a+rX "$work"
chmod 0777 "$out"

for c in "${components[@]}"; do
  new_container "$c"
  if run_in "$ctr" -- "/usr/local/bin/$c" --help >"$work/$c.help" 2>&1; then
    pass "$c: $c --help"
  else
    fail "$c: $c --help"; cat "$work/$c.help"
  fi
  version=$(run_in "$ctr" -- "$c" --version 2>&1) || true
  expect "$c: on PATH, --version: $version" "$version" "*$c*"

  entry=$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$(image_of "$c")")
  expect "$c: entrypoint $entry" "$entry" "\\[/usr/local/bin/$c\\]"

  uid=$(run_in "$ctr" -- id -u 2>&1) || true
  expect "$c: runs as uid $uid (expected $user_uid)" "$uid" "$user_uid"

  # No compiler: neither in PATH nor in /usr/bin, nor gcc's internal cc1; no -dev package.
  # shellcheck disable=SC2016  # expanded by the container's shell
  compilers=$(run_in "$ctr" -- sh -c '
    for d in $(echo "$PATH" | tr : " ") /usr/bin; do
      for f in "$d"/gcc "$d"/gcc-* "$d"/g++ "$d"/g++-* "$d"/cc "$d"/c++ "$d"/clang "$d"/clang* \
               "$d"/*-linux-gnu-gcc* "$d"/*-linux-gnu-g++*; do
        [ -e "$f" ] && echo "$f"
      done
    done
    for f in /usr/lib/gcc/*/*/cc1 /usr/lib/gcc/*/*/cc1plus /usr/libexec/gcc/*/*/cc1*; do
      [ -e "$f" ] && echo "$f"
    done
    dpkg-query -W -f "\${Package}\n" | grep -E -- "-dev(:|\$)" || true' 2>&1 | sort -u) || true
  expect "$c: no compiler, no -dev package ${compilers//$'\n'/ }" "$compilers" ""

  blas=$(run_in "$ctr" -- readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>&1) || true
  expect "$c: libblas.so.3 is $blas" "$blas" "*/openblas-openmp/*"
done

# evaluate on the small slice, inside its image, as the non-root user.
new_container evaluate
if run_in -v "$data:/data:ro" -v "$out:/out" "$ctr" -- \
     evaluate --model /data/model --dataset /data/test --metrics /out/eval.json --limit 100 \
     --threads 2 --log-every 0 >"$work/evaluate.log" 2>&1 &&
   grep -q '"accuracy"' "$out/eval.json"; then
  owner=$(stat -c %u "$out/eval.json")
  expect "evaluate: metrics written by uid $owner" "$owner" "$user_uid"
  pass "evaluate: $(grep -o '"accuracy"[^,]*' "$out/eval.json" | head -1) on 100 test images"
else
  fail "evaluate on the mounted model and dataset"; cat "$work/evaluate.log"
fi

# prepare-data reads the dataset package that only its image carries.
new_container prepare-data
if run_in -v "$out:/out" "$ctr" -- prepare-data --train-dataset /out/ptrain --test-dataset /out/ptest \
     --train-limit 20 --test-limit 20 --log-every 0 >"$work/prepare.log" 2>&1; then
  pass "prepare-data: Fashion-MNIST from /usr/share/datasets/fashion-mnist"
else
  fail "prepare-data in its image"; cat "$work/prepare.log"
fi
new_container train
if run_in "$ctr" -- test ! -e /usr/share/datasets/fashion-mnist; then
  pass "train: no dataset package"
else
  fail "train: carries /usr/share/datasets/fashion-mnist"
fi

echo "image sizes:"
for c in "${components[@]}"; do
  buildah images --format '  {{.Name}}:{{.Tag}}  {{.Size}}' "$(image_of "$c")"
done
echo "$passed passed, $failed failed"
((failed == 0))

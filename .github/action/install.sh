#!/usr/bin/env bash
# Installs an espfctl release archive for this machine's OS and architecture,
# after checking it against the release's checksums.txt, and puts espfctl on
# the PATH of later GitHub Actions steps. action.yml runs it; it also runs
# outside Actions, with bash, curl (or wget), tar (unzip or tar on Windows)
# and sha256sum (or shasum, or openssl).
#
# Environment (all optional):
#   ESPFCTL_VERSION       the release, e.g. v1.2.3; v1 or v1.2 for the newest
#                         matching release; or "latest". Empty: the action's
#                         own ref when that is a version (uses:
#                         espfctl/espfctl@v1.2.3, @v1, @v1.2), else "latest".
#   ESPFCTL_ACTION_REF    the ref the action was used at (github.action_ref)
#   ESPFCTL_RELEASE_BASE  where the files are, as BASE/VERSION/FILE (default
#                         https://github.com/espfctl/espfctl/releases/download);
#                         a mirror, or file:///path/to/releases
#   ESPFCTL_RELEASE_API   for "latest", API/releases/latest is read for its
#                         tag_name; for v1 or v1.2, API/releases?per_page=100
#                         for theirs (default https://api.github.com/repos/espfctl/espfctl)
#   ESPFCTL_INSTALL_DIR   where the binary goes (default
#                         RUNNER_TOOL_CACHE/espfctl/VERSION/OS-ARCH)
#   GITHUB_TOKEN          sent to the default API only, against its rate limit
# Exit 0 installed, 1 anything failed (nothing is installed then).
set -euo pipefail

die() { echo "espfctl install: $*" >&2; exit 1; }

case "${RUNNER_OS:-$(uname -s)}" in
  Linux | linux) os=linux ;;
  macOS | Darwin) os=darwin ;;
  Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
  *) die "unsupported OS ${RUNNER_OS:-$(uname -s)}: releases exist for Linux, macOS and Windows" ;;
esac
case "${RUNNER_ARCH:-$(uname -m)}" in
  X64 | x86_64 | amd64) arch=amd64 ;;
  ARM64 | aarch64 | arm64) arch=arm64 ;;
  *) die "unsupported architecture ${RUNNER_ARCH:-$(uname -m)}: releases exist for amd64 (X64) and arm64" ;;
esac

# fetch URL FILE [-H HEADER]: download, following redirects; fails on an
# HTTP error.
fetch() {
  local url=$1 out=$2
  shift 2
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 --retry-delay 2 -o "$out" "$@" "$url"
  elif command -v wget >/dev/null 2>&1 && [ "${url#file://}" = "$url" ]; then
    local headers=()
    while [ $# -ge 2 ]; do headers+=(--header "$2"); shift 2; done
    wget -q --tries 3 -O "$out" ${headers[@]+"${headers[@]}"} "$url"
  else
    die "need curl (or wget) to download $url"
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | awk '{print $1}'
  else
    die "need sha256sum, shasum or openssl to verify the download"
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

version=${ESPFCTL_VERSION:-}
if [ -z "$version" ]; then
  case "${ESPFCTL_ACTION_REF:-}" in
    v[0-9]*) version=$ESPFCTL_ACTION_REF ;; # v1.2.3, or v1 / v1.2 (resolved below)
    *) version=latest ;;
  esac
fi
api=${ESPFCTL_RELEASE_API:-https://api.github.com/repos/espfctl/espfctl}
auth=()
if [ -z "${ESPFCTL_RELEASE_API:-}" ] && [ -n "${GITHUB_TOKEN:-}" ]; then
  auth=(-H "Authorization: Bearer $GITHUB_TOKEN")
fi
if [ "$version" = latest ]; then
  fetch "$api/releases/latest" "$tmp/latest.json" ${auth[@]+"${auth[@]}"} ||
    die "could not read the latest release from $api/releases/latest"
  version=$(tr -d '\n' <"$tmp/latest.json" | sed -n 's/.*"tag_name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
  [ -n "$version" ] || die "no tag_name in $api/releases/latest"
elif [[ $version =~ ^v[0-9]+(\.[0-9]+)?$ ]]; then
  # A major (v1) or minor (v1.2) tag, as actions are pinned: the newest
  # release vMAJOR.x.y (vMAJOR.MINOR.y), prereleases left out.
  prefix=$version
  fetch "$api/releases?per_page=100" "$tmp/releases.json" ${auth[@]+"${auth[@]}"} ||
    die "could not read the releases from $api/releases"
  version=$(grep -o '"tag_name"[[:space:]]*:[[:space:]]*"[^"]*"' "$tmp/releases.json" |
    sed 's/.*"\(v[^"]*\)"$/\1/' | grep -E "^${prefix//./\\.}\.[0-9]+(\.[0-9]+)?$" |
    sed 's/^v//' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1 | sed 's/^/v/') || true
  [ -n "$version" ] || die "no release matches $prefix (want $prefix.x.y) in $api/releases"
  echo "espfctl install: $prefix is $version, the newest matching release" >&2
fi
if ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  die "version \"$version\": want a release tag such as v1.2.3, v1.2 or v1 (the newest matching release), or latest"
fi

bin=espfctl
folder=espfctl_${version}_${os}_${arch} # the archive's one top-level directory
archive=$folder.tar.gz
if [ "$os" = windows ]; then
  bin=espfctl.exe
  archive=$folder.zip
fi
base=${ESPFCTL_RELEASE_BASE:-https://github.com/espfctl/espfctl/releases/download}
base=${base%/}

fetch "$base/$version/checksums.txt" "$tmp/checksums.txt" ||
  die "could not download $base/$version/checksums.txt: is $version a release?"
fetch "$base/$version/$archive" "$tmp/$archive" ||
  die "could not download $base/$version/$archive"
want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/checksums.txt")
[ -n "$want" ] || die "$archive is not listed in $base/$version/checksums.txt"
got=$(sha256 "$tmp/$archive")
if [ "$got" != "$want" ]; then
  die "checksum mismatch for $archive: its SHA-256 is $got, checksums.txt says $want; not installed"
fi

mkdir -p "$tmp/x"
if [ "$os" = windows ]; then
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$tmp/$archive" "$folder/$bin" -d "$tmp/x"
  else
    tar -xf "$tmp/$archive" -C "$tmp/x" "$folder/$bin" # bsdtar reads zip
  fi
else
  tar -xzf "$tmp/$archive" -C "$tmp/x" "$folder/$bin"
fi
mv "$tmp/x/$folder/$bin" "$tmp/x/$bin"
"$tmp/x/$bin" version >/dev/null || die "the downloaded $bin does not run on this machine"

dir=${ESPFCTL_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/espfctl/$version/$os-$arch}
mkdir -p "$dir"
mv -f "$tmp/x/$bin" "$dir/$bin"
chmod 755 "$dir/$bin"

pathdir=$dir
if [ "$os" = windows ] && command -v cygpath >/dev/null 2>&1; then
  pathdir=$(cygpath -w "$dir")
fi
if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$pathdir" >>"$GITHUB_PATH"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "version=$version"
    echo "path=$pathdir"
  } >>"$GITHUB_OUTPUT"
fi
echo "espfctl install: $archive (sha256 $got) verified, installed in $dir" >&2
"$dir/$bin" version

#!/usr/bin/env bash
# Installs Trainyard under a prefix (default /usr/local):
#   <prefix>/bin/trainyard
#   <prefix>/share/trainyard/{Templates,Public,Docs}
# The binary finds the assets through ../share/trainyard, so it runs from any directory.
#
#   bash scripts/install.sh [--prefix DIR] [--binary PATH]
#
# --binary installs an already built binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${PREFIX:-/usr/local}
binary=
while [[ $# -gt 0 ]]; do
  case $1 in
    --prefix) prefix=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) echo "usage: $0 [--prefix DIR] [--binary PATH]" >&2; exit 2 ;;
  esac
done

if [[ -z $binary ]]; then
  swift build -c release --product trainyard
  binary="$(swift build -c release --show-bin-path)/trainyard"
fi
[[ -x $binary ]] || { echo "no executable at $binary" >&2; exit 1; }

share="$prefix/share/trainyard"
install -d "$prefix/bin" "$share"
install -m 0755 "$binary" "$prefix/bin/trainyard"
for folder in Templates Public Docs; do
  # Replace, not merge: a file removed from the release must not linger in the install.
  rm -rf "${share:?}/$folder.new"
  cp -R "$folder" "$share/$folder.new"
  rm -rf "${share:?}/$folder"
  mv "$share/$folder.new" "$share/$folder"
done
echo "installed $prefix/bin/trainyard and $share"

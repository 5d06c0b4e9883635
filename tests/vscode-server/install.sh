#!/bin/sh
# Installs code-server (a real VS Code, served to a browser) into node_modules/ from the npm
# registry alone: its native modules build against Node's own headers, and ripgrep is Debian's.
set -eu
cd "$(dirname "$0")"
for tool in rg krb5-config; do
    command -v "$tool" > /dev/null || { echo "$0: needs $tool (apt-get install ripgrep libkrb5-dev)" >&2; exit 1; }
done

# @vscode/ripgrep's postinstall downloads rg from GitHub, which is unreachable here, unless its cache,
# $TMPDIR/vscode-ripgrep-cache-<its version>/ripgrep-<release>-<target>.tar.gz, has it already.
# The versions are those code-server 4.100.3 pins (lib/vscode/npm-shrinkwrap.json, lib/postinstall.js).
case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64) target=aarch64-unknown-linux-musl ;;
    *) echo "$0: no ripgrep target for $(uname -m)" >&2; exit 1 ;;
esac
TMPDIR="$(mktemp -d)"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
mkdir "$TMPDIR/vscode-ripgrep-cache-1.15.11"
tar -czf "$TMPDIR/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-$target.tar.gz" -C "$(dirname "$(command -v rg)")" rg

# As root, code-server's postinstall (an npm install of its VS Code) needs unsafe-perm.
npm_config_nodedir=/usr npm_config_unsafe_perm=true npm_config_yes=true \
    npm ci --no-audit --no-fund --loglevel=error
HOME="$TMPDIR" node_modules/.bin/code-server --config "$TMPDIR/config.yaml" --version

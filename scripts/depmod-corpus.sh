#!/bin/sh
# Every cached tree (all architectures, .ko and .ko.xz) through kmod 30's depmod
# and kmodkit depmod, every output file compared; CI runs a printed subset.
set -e
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
KMODKIT_DEPMOD_ALL=1 exec npx ava --verbose dist/test/corpus/depmod.test.js

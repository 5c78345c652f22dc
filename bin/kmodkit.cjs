#!/usr/bin/env node
// The `kmodkit` command (package.json "bin"): the bundled CLI that
// `npm run build` and `prepare` write (dist/bundle, scripts/bundle-cli.mjs:
// one CommonJS file per command, docs/speed.md#start-up), else, where no
// bundle was built, the compiled ES modules (dist/cli) — the same command,
// a slower start.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const bundle = join(__dirname, '../dist/bundle/kmodkit.cjs');
if (existsSync(bundle)) require(bundle);
else import(pathToFileURL(join(__dirname, '../dist/cli/index.js')).href);

#!/usr/bin/env node
// Tiny launcher for the compiled CLI (built by `npm ci` / `npm run build` into dist/).
import '../dist/main.js';

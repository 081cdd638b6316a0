#!/usr/bin/env node
// `npx parley <command>`: the operator CLI (start, migrate, replay, rebuild).
// Needs Node 24, which runs the TypeScript sources directly (type stripping).
import '../src/main.ts';

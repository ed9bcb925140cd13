#!/usr/bin/env node
// Rewrites the configuration table in README.md from the services' config schemas.
import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_END, CONFIG_START, configTable } from '../services/mesh/dist/src/config-table.js';

const readme = readFileSync('README.md', 'utf8');
const start = readme.indexOf(CONFIG_START);
const end = readme.indexOf(CONFIG_END);
if (start < 0 || end < 0) throw new Error('README.md lacks the config markers');
writeFileSync(
  'README.md',
  `${readme.slice(0, start + CONFIG_START.length)}\n${configTable()}\n${readme.slice(end)}`,
);
console.log('README.md configuration table updated');

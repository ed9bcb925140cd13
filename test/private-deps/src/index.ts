export {
  DEPENDENCY_NAMES,
  type Dependency,
  INSTALL_LINES,
  type MissingBinary,
  type PostgresBinaries,
  type ServerBinaries,
  embeddedPostgresBinaries,
  linkEmbeddedLibraries,
  locateBinaries,
} from './binaries.js';
export { PrivateDeps, type PrivateDepsOptions } from './private-deps.js';
export { alive, processesUsing } from './processes.js';

/** What the deployment's access files are made of (NATS users), for the tests that run them. */
export {
  type NatsUser,
  natsServerConfig,
  natsUserFor,
  natsUserName,
  natsUsers,
  passwordVariable,
  serviceUsages,
  setupUser,
} from './nats-users.js';
export { accessFiles, NATS_USERS_FILE, POSTGRES_ROLES_FILE } from './access-files.js';
export { type RolePlan, type ServiceTables, roleName, rolePlan, rolesSql } from './db-roles.js';
export { catalogue, type ServiceEntry } from './catalogue.js';

import t from 'tap';
import type { NegotiationSnapshot, PortalSettings } from '@hhb24/common';
import { settingsFor } from '../src/routing.js';

const settings: PortalSettings = {
  memberId: 'm1',
  responsibleUserId: 1,
  entityType: 'deal',
  categoryId: 0,
  sourceId: null,
  extendedSync: false,
  stageForResponse: 'NEW',
  stageForInvitation: 'PREPARATION',
  stageByState: {},
  twoWayStatus: false,
  twoWayDiscard: false,
  managerUsers: [
    { employerId: '10', managerId: '100', userId: 7 },
    { employerId: '10', managerId: '101', userId: null },
    { employerId: '20', managerId: '200', userId: 9 },
  ],
  updatedAt: '2026-12-07T00:00:00Z',
};
const snapshot = (vacancy: Partial<NegotiationSnapshot['vacancy']>) =>
  ({ vacancy: { id: '1', name: 'Вакансия', url: null, ...vacancy } }) as NegotiationSnapshot;

t.test('the responsible is the user of the vacancy’s hh.ru manager, else the default', async (t) => {
  t.equal(settingsFor(settings, snapshot({ employerId: '10', managerId: '100' })).responsibleUserId, 7);
  t.equal(
    settingsFor(settings, snapshot({ employerId: '10', managerId: '101' })).responsibleUserId,
    1,
    'a manager left to the default responsible',
  );
  t.equal(
    settingsFor(settings, snapshot({ employerId: '10', managerId: '102' })).responsibleUserId,
    1,
    'a manager nobody was chosen for',
  );
  t.equal(
    settingsFor(settings, snapshot({ employerId: '10', managerId: '200' })).responsibleUserId,
    1,
    'the same manager id of another employer is another manager',
  );
  t.equal(settingsFor(settings, snapshot({ managerId: null })).responsibleUserId, 1, 'manager not known');
  t.equal(
    settingsFor(settings, snapshot({})).responsibleUserId,
    1,
    'a snapshot made before managers were kept',
  );
  t.equal(settings.responsibleUserId, 1, 'the portal’s settings are not changed');
});

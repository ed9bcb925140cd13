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

t.test(
  'a vacancy’s rule overrides entity type, pipeline, stages and, when it names one, the responsible',
  async (t) => {
    const rule = (id: number, match: 'vacancy' | 'name' | 'area', value: string, more = {}) => ({
      id,
      match,
      value,
      label: value,
      entityType: 'deal' as const,
      categoryId: id,
      stageForResponse: `C${id}:NEW`,
      stageForInvitation: `C${id}:PREPARATION`,
      stageByState: {},
      responsibleUserId: null,
      ...more,
    });
    const ruled: PortalSettings = {
      ...settings,
      vacancyRules: [
        rule(3, 'area', '2'),
        rule(4, 'name', 'склад', { responsibleUserId: 11, entityType: 'lead' }),
        rule(5, 'vacancy', '77'),
      ],
    };
    const of = (v: Partial<NegotiationSnapshot['vacancy']>) => settingsFor(ruled, snapshot(v));
    t.match(
      of({ id: '77', name: 'Кладовщик на склад', area: { id: '2', name: 'СПб' } }),
      {
        categoryId: 5,
        stageForResponse: 'C5:NEW',
      },
      'a rule for the vacancy wins over the others',
    );
    t.match(
      of({ id: '8', name: 'Кладовщик', area: { id: '2', name: 'СПб' } }),
      { categoryId: 3 },
      'then the first added',
    );
    const lead = of({ id: '9', name: 'Работник СКЛАДА', employerId: '10', managerId: '100' });
    t.match(
      lead,
      { entityType: 'lead', categoryId: 0, responsibleUserId: 11 },
      'by words of the name, any case; its responsible over the manager’s user',
    );
    t.match(
      of({ id: '8', name: 'Кладовщик', area: { id: '2', name: 'СПб' }, employerId: '10', managerId: '100' }),
      { responsibleUserId: 7 },
      'a rule without a responsible keeps the manager’s user',
    );
    t.same(
      of({ id: '8', name: 'Кладовщик', area: { id: '2', name: 'СПб' } }).stageByState,
      {
        response: 'C3:NEW',
        consider: 'C3:PREPARATION',
        phone_interview: 'C3:PREPARATION',
        assessment: 'C3:PREPARATION',
        interview: 'C3:PREPARATION',
        offer: 'C3:PREPARATION',
        hired: 'C3:PREPARATION',
        discard: 'C3:PREPARATION',
      },
      'a rule saved in the simple mode gives each status its stage for responses or invitations',
    );
    t.match(
      of({ id: '1', name: 'Бухгалтер', area: { id: '1', name: 'Москва' } }),
      { categoryId: 0, entityType: 'deal' },
      'no rule: the defaults',
    );
  },
);

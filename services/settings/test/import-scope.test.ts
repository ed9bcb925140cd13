import t from 'tap';
import { parseImportScope } from '../src/ui/import-scope-form.js';

t.test('«Что импортировать» becomes an ImportScope checked by its schema', async (t) => {
  t.same(
    parseImportScope({}),
    { scope: { periodDays: null, discarded: true, vacancyIds: null } },
    'nothing chosen: everything',
  );
  t.same(
    parseImportScope({
      importPeriod: 'days',
      importDays: '14',
      importCollections: 'no_discards',
      importVacancies: 'chosen',
      vacancyIds: ['7', '9', '7'],
    }),
    { scope: { periodDays: 14, discarded: false, vacancyIds: ['7', '9'] } },
    'the last 14 days, no discards, two vacancies (each once)',
  );
  for (const days of ['0', '3651', '-2', '1.5', 'abc', ''])
    t.same(
      parseImportScope({ importPeriod: 'days', importDays: days }),
      { errors: { importDays: 'import.daysInvalid' } },
      `«${days}» days is refused`,
    );
  t.same(
    parseImportScope({ importVacancies: 'chosen' }),
    { errors: { vacancyIds: 'import.vacanciesRequired' } },
    '«Выбранные» without a vacancy is refused',
  );
  t.same(
    parseImportScope({ importVacancies: 'chosen', vacancyIds: 'bad id with spaces' }),
    { errors: { vacancyIds: 'import.vacanciesRequired' } },
    'a vacancy id that does not fit the schema is refused',
  );
});

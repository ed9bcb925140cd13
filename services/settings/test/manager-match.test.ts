import t from 'tap';
import { proposeUser } from '../src/manager-match.js';

const user = (id: number, firstName: string, lastName: string, email: string | null = null) => ({
  id,
  name: `${firstName} ${lastName}`,
  position: '',
  firstName,
  lastName,
  email,
});

t.test('a manager of hh.ru gets the portal user with the same e-mail, else the same name', async (t) => {
  const users = [
    user(1, 'Анна', 'Смирнова', 'anna@acme.example'),
    user(2, 'Пётр', 'Иванов'),
    user(3, 'Ольга', 'Петрова', 'OLGA@acme.example'),
    user(4, 'Ольга', 'Петрова'),
  ];
  t.same(
    proposeUser({ email: 'Anna@Acme.example ', firstName: 'Анна', lastName: 'Кузнецова' }, users),
    { userId: 1, by: 'email' },
    'the e-mail decides, whatever the case and the name',
  );
  t.same(
    proposeUser({ email: 'petr@other.example', firstName: 'Петр', lastName: 'Иванов' }, users),
    { userId: 2, by: 'name' },
    'no e-mail in common: the name, ё and е alike',
  );
  t.same(
    proposeUser({ email: null, firstName: 'Иванов', lastName: 'Пётр' }, users),
    { userId: 2, by: 'name' },
    'first and last name in either order',
  );
  t.same(
    proposeUser({ email: 'olga@acme.example', firstName: 'Ольга', lastName: 'Петрова' }, users),
    { userId: 3, by: 'email' },
    'two namesakes, one with the e-mail: that one',
  );
  t.equal(
    proposeUser({ email: null, firstName: 'Ольга', lastName: 'Петрова' }, users),
    null,
    'two namesakes and no e-mail: nobody (a wrong guess sends responses to the wrong person)',
  );
  t.equal(proposeUser({ email: null, firstName: 'Мария', lastName: 'Орлова' }, users), null, 'no match');
});

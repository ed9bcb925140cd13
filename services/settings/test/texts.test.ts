/**
 * The pages' texts agree with each other and with what the app writes into the portal: a hint that
 * names a button names it as the button says, the card's resume button reads as the activity's,
 * one word for failures, hh.ru's name of the refusal, «НН» in Cyrillic as the fields have it.
 */
import t from 'tap';
import { CRM_USER_FIELDS, HH_STATE_NAMES, portalText } from '@hhb24/common';
import { type Lang, text } from '../src/ui/texts.js';

const langs: Lang[] = ['ru', 'en'];

t.test('a hint names the button as the button says', async (t) => {
  for (const lang of langs) {
    const button = text(lang, 'new.check');
    for (const key of ['health.subscriptionWrong', 'health.subscriptionMissing', 'new.subscriptionMissing'])
      t.match(text(lang, key), button, `${lang} ${key} names «${button}»`);
  }
});

t.test('the card’s resume button reads as the activity’s', async (t) => {
  for (const lang of langs) t.equal(text(lang, 'card.resume'), portalText(lang, 'activity.resume'));
});

t.test('the settings say «Расширенная синхронизация» once: the switch says what it does', async (t) => {
  for (const lang of langs) t.not(text(lang, 'settings.extendedOn'), text(lang, 'settings.extended'));
});

t.test('the failure counts and the list of failures use one word', async (t) => {
  t.equal(text('ru', 'health.failed'), 'Ошибки');
  t.match(text('ru', 'health.failuresTitle', { n: 0 }), /ошибки: 0$/);
  t.match(text('en', 'health.failuresTitle', { n: 0 }), /failures: 0$/);
});

t.test('the refusal is named as hh.ru names the state; «НН» is Cyrillic as in the fields', async (t) => {
  t.equal(HH_STATE_NAMES.discard, 'Отказано');
  t.ok(CRM_USER_FIELDS.some((f) => f.label.ru.endsWith(' НН')));
  for (const s of [
    text('ru', 'install.robots'),
    portalText('ru', 'activity.status'),
    portalText('ru', 'robot.status'),
  ])
    t.notMatch(s, /\bHH\b/, `${s}: no Latin HH`);
});
